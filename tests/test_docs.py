"""The README says what the code does: generated sections current, every command documented."""

import re
from pathlib import Path

from nianbao.flows import docs
from nianbao.flows.cli import COMMANDS

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_generated_sections_are_current():
    assert docs.render(README) == README, "README is stale: run `python -m nianbao.flows.docs`"


def test_every_command_is_documented():
    for name in COMMANDS:
        assert f"`nianbao {name}" in README, name


def test_the_two_setup_commands_exist():
    quick_start = README.split("## What nianbao is")[0]
    assert "make demo" in quick_start and "make test" in quick_start
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"^demo:", makefile, re.M) and re.search(r"^test:", makefile, re.M)
    assert "make test" in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def test_settings_are_documented():
    from nianbao.flows import settings

    for var in re.findall(r"NIANBAO_[A-Z_]+", Path(settings.__file__).read_text(encoding="utf-8")):
        assert f"`{var}`" in README, var
