"""The docs say what the code does: generated pages current, every command and setting documented,
a short README whose first screen sets the machine up, a site that builds offline."""

import re
from pathlib import Path

import pytest
import yaml

from nianbao.flows import docs
from nianbao.flows.cli import COMMANDS, build_parser

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
README = (ROOT / "README.md").read_text(encoding="utf-8")


def site_text() -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(DOCS.rglob("*.md")))


# --------------------------------------------------------------------------
# generated pages
# --------------------------------------------------------------------------

@pytest.mark.parametrize("page", sorted(docs.PAGES))
def test_generated_page_is_current(page):
    path = DOCS / page
    assert path.exists(), f"docs/{page} is missing: run `python -m nianbao.flows.docs`"
    assert path.read_text(encoding="utf-8") == docs.PAGES[page](), \
        f"docs/{page} is stale: run `python -m nianbao.flows.docs`"


def test_check_mode_reports_a_stale_page(tmp_path, monkeypatch):
    monkeypatch.setattr(docs, "DOCS", tmp_path)
    monkeypatch.setattr(docs, "ROOT", tmp_path)
    assert docs.main(["--check"]) == 1  # nothing written yet
    assert not list(tmp_path.rglob("*.md"))
    assert docs.main([]) == 0
    assert {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.md")} == set(docs.PAGES)
    assert docs.main(["--check"]) == 0
    (tmp_path / "reference" / "rules.md").write_text("old", encoding="utf-8")
    assert docs.main(["--check"]) == 1


def test_every_command_of_the_parser_is_in_the_reference():
    reference = (DOCS / "reference" / "commands.md").read_text(encoding="utf-8")
    documented = re.findall(r"^## nianbao (\S+)$", reference, re.M)
    parsed = [name for name, _, _ in docs.subcommands(build_parser())]
    assert parsed, "no subcommands found in the parser"
    assert documented == parsed, "docs/reference/commands.md: run `python -m nianbao.flows.docs`"
    assert set(COMMANDS) == set(parsed)


def test_the_command_reference_shows_usage_and_every_option():
    reference = (DOCS / "reference" / "commands.md").read_text(encoding="utf-8")
    for name, sub, _ in docs.subcommands(build_parser()):
        section = reference.split(f"\n## nianbao {name}\n", 1)[1].split("\n## ", 1)[0]
        assert f"```text\nnianbao {name} " in section, name
        for action in sub._actions:
            for option in action.option_strings:
                if option not in ("-h", "--help"):
                    assert f"`{option}`" in section, (name, option)
            if action.help and action.option_strings != ["-h", "--help"]:
                assert docs._cell(action.help) in section, (name, action.help)


def test_the_rules_page_lists_the_catalogue():
    from nianbao.schemas.catalogue import CATALOGUE

    rules = (DOCS / "reference" / "rules.md").read_text(encoding="utf-8")
    for rule in CATALOGUE.values():
        assert f"| `{rule.id}` |" in rules, rule.id


def test_settings_are_documented():
    from nianbao.flows import settings

    text = site_text()
    for var in re.findall(r"NIANBAO_[A-Z_]+", Path(settings.__file__).read_text(encoding="utf-8")):
        assert f"`{var}`" in text, var


# --------------------------------------------------------------------------
# the README
# --------------------------------------------------------------------------

def test_readme_is_short():
    assert len(README) <= 15000, f"README.md has {len(README)} characters: move detail into docs/"


def test_the_two_setup_commands_are_on_the_first_screen():
    first_screen = "\n".join(README.splitlines()[:20])
    assert "make demo" in first_screen and "make test" in first_screen
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^demo:", makefile, re.M) and re.search(r"^test:", makefile, re.M)
    assert re.search(r"^demo:.*\n\t\$\(BIN\)/nianbao demo$", makefile, re.M)
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_readme_links_resolve():
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README):
        if not re.match(r"[a-z]+:", target):
            assert (ROOT / target).exists(), target


# --------------------------------------------------------------------------
# the site
# --------------------------------------------------------------------------

def mkdocs_config() -> dict:
    return yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))


def nav_files(nav) -> list[str]:
    out = []
    for item in nav:
        value = next(iter(item.values())) if isinstance(item, dict) else item
        out += nav_files(value) if isinstance(value, list) else [value]
    return out


def test_every_page_is_in_the_nav_and_every_nav_entry_exists():
    listed = nav_files(mkdocs_config()["nav"])
    present = sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md"))
    assert sorted(listed) == present
    assert set(docs.PAGES) <= set(listed)


def test_the_site_works_offline():
    config = mkdocs_config()
    theme = config["theme"]
    assert theme["name"] == "material" and theme["language"] == "zh"
    assert theme["font"] is False  # no Google Fonts
    assert not config.get("extra_javascript") and not config.get("extra_css")
    assert config.get("use_directory_urls") is False  # page links that work from file://
    # Material's offline plugin adds a script from unpkg.com, its search needs a worker that file:// refuses
    assert not {p if isinstance(p, str) else next(iter(p)) for p in config["plugins"]} & {"offline", "search"}
    assert not config.get("extra", {}).get("polyfills")
    for page in DOCS.rglob("*.md"):
        text = page.read_text(encoding="utf-8")
        assert not re.search(r"<(script|link|img|iframe)\b[^>]*\b(src|href)=[\"']?https?:", text, re.I), page
        assert not re.search(r"!\[[^\]]*\]\(https?:", text), page
        assert "```mermaid" not in text, page  # mermaid would load its script from a CDN


def test_the_docs_tools_are_installed_and_pinned():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert "-e '.[test,docs]'" in makefile
    assert re.search(r"^test:.*\n(\t.*\n)*\t[^\n]*\$\(BIN\)/mkdocs build --strict\b", makefile, re.M)
    pins = {line.split("==")[0].lower() for line in (ROOT / "constraints.txt").read_text().splitlines() if "==" in line}
    assert {"mkdocs", "mkdocs-material"} <= pins
