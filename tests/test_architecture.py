"""The house: one import name, rooms that say what they hold, layers that point one way."""

import ast
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"flows": "nianbao.flows", "schemas": "nianbao.schemas"}

# Lower layers never import higher ones.  A module of flows/ is in the layer of its
# subpackage, or its own if it stands at the top of flows/.
LAYERS = [
    {"nianbao.flows.cli", "nianbao.flows.docs"},  # the command (and its generated docs)
    {"nianbao.flows.bench"},  # measures the flow and its parts
    {"nianbao.flows.serve"},
    {"nianbao.flows.pipeline"},  # the Prefect flow
    {"nianbao.flows.steps"},  # what the flow's tasks call: intake, year outputs, import, recovery
    {"nianbao.flows.outputs", "nianbao.flows.documents"},  # rollup, pages, validation reports; reading published reports
    {"nianbao.flows.store"},  # ledger, archive moves, locks, atomic files, the roster
    {"nianbao.flows.excel"},  # workbooks: the only openpyxl
    {"nianbao.flows.settings", "nianbao.flows.errors", "nianbao.flows.progress", "nianbao.flows.interrupt"},  # base
    {"nianbao.schemas"},  # what a valid report is
]


def _modules() -> dict[str, Path]:
    out = {}
    for folder, package in FOLDERS.items():
        for path in (ROOT / folder).rglob("*.py"):
            parts = [p for p in path.relative_to(ROOT / folder).with_suffix("").parts if p != "__init__"]
            out[".".join([package, *parts])] = path
    return out


MODULES = _modules()


def _imported(name: str, path: Path) -> set[str]:
    """Every module named by an import statement of ``path`` (at any depth, lazy ones included)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
                base = package[: len(package) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            out.add(module)
            out.update(f"{module}.{a.name}" for a in node.names)
    return out


def _top(names: set[str]) -> set[str]:
    return {n.split(".")[0] for n in names}


def _layer(module: str) -> int:
    for i, layer in enumerate(LAYERS):
        if any(module == m or module.startswith(m + ".") for m in layer):
            return i
    raise AssertionError(f"{module} is in no layer: add it to LAYERS")


def test_packaging_lists_every_package():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    listed = set(config["tool"]["setuptools"]["packages"])
    present = {"nianbao"} | {
        ".".join([FOLDERS[folder], *p.parent.relative_to(ROOT / folder).parts])
        for folder in FOLDERS for p in (ROOT / folder).rglob("__init__.py")
    }
    assert listed == present
    assert config["project"]["scripts"]["nianbao"] == "nianbao.flows.cli:main"


def test_one_top_level_name(tmp_path):
    """From a folder outside the checkout: nianbao.* imports, the bare folder names do not."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}

    def run(*args):
        return subprocess.run([sys.executable, *args], cwd=tmp_path, env=env, capture_output=True, text=True)

    assert run("-c", "import nianbao.schemas, nianbao.flows.cli").returncode == 0
    for bare in ("schemas", "flows"):
        done = run("-c", f"import {bare}")
        assert done.returncode != 0 and "ModuleNotFoundError" in done.stderr, bare
    done = run("-m", "nianbao", "--help")
    assert done.returncode == 0 and "nianbao" in done.stdout


def test_code_imports_the_package_not_the_folders():
    for name, path in MODULES.items():
        assert not _top(_imported(name, path)) & {"schemas", "flows"}, path
    for path in (ROOT / "tests").glob("*.py"):
        assert not _top(_imported("tests." + path.stem, path)) & {"schemas", "flows"}, path


def test_schemas_import_no_engines_and_do_no_io():
    for name, path in MODULES.items():
        if not name.startswith("nianbao.schemas"):
            continue
        found = _top(_imported(name, path)) | {m for m in _imported(name, path) if m.startswith("nianbao.flows")}
        assert not found & {"prefect", "openpyxl", "great_expectations", "os", "pathlib", "jinja2", "docx",
                                 "pdfplumber"}, path
        assert not any(m.startswith("nianbao.flows") for m in found), path
        assert "open(" not in path.read_text(encoding="utf-8"), path.name


@pytest.mark.parametrize("engine, owners", [
    # flows/bench.py measures openpyxl itself, as one of the baselines of the pipeline
    ("openpyxl", {"nianbao.flows.excel", "nianbao.flows.bench"}),
    ("great_expectations", {"nianbao.flows.outputs.validation", "nianbao.flows.bench"}),
    ("prefect", {"nianbao.flows.pipeline", "nianbao.flows.serve", "nianbao.flows.settings", "nianbao.flows.bench"}),
    ("docx", {"nianbao.flows.outputs.annual_report", "nianbao.flows.documents.word"}),
    ("pdfplumber", {"nianbao.flows.documents.pdf"}),
    ("jinja2", {"nianbao.flows.outputs.html"}),
])
def test_engines_stay_in_their_rooms(engine, owners):
    users = {name for name, path in MODULES.items() if engine in _top(_imported(name, path))}
    strays = {u for u in users if not any(u == o or u.startswith(o + ".") for o in owners)}
    assert not strays


def test_openpyxl_private_attributes_in_one_module():
    private = re.compile(r"\.(_cells|_sheets|_fonts|_borders|_alignments|_style)\b")
    for name, path in MODULES.items():
        if name != "nianbao.flows.excel.internals":
            assert not private.search(path.read_text(encoding="utf-8")), path


def test_no_import_cycle():
    graph = {name: {m for m in _imported(name, path) if m in MODULES and m != name} for name, path in MODULES.items()}
    state: dict[str, int] = {}

    def visit(node, trail):
        state[node] = 1
        for dep in graph[node]:
            assert state.get(dep) != 1, "import cycle: " + " → ".join(trail[trail.index(dep):] + [dep])
            if dep not in state:
                visit(dep, trail + [dep])
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node, [node])


def test_layers_point_one_way():
    for name, path in MODULES.items():
        if name in FOLDERS.values():
            continue  # the empty package modules themselves
        mine = _layer(name)
        for dep in _imported(name, path):
            if dep in MODULES and dep not in FOLDERS.values() and not dep.startswith(name):
                assert _layer(dep) >= mine, f"{name} (layer {mine}) imports {dep} (layer {_layer(dep)})"
