"""Tiny fixtures: reports are built through the template writer and filled by name."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

# Prefect reads its settings at import: a private home, no telemetry, quiet logs.
_PREFECT_HOME = Path(__file__).resolve().parents[1] / "var" / "test-prefect"
_PREFECT_HOME.mkdir(parents=True, exist_ok=True)
os.environ["PREFECT_HOME"] = str(_PREFECT_HOME)
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["PREFECT_LOGGING_LEVEL"] = "WARNING"
os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "90"
os.environ.pop("PREFECT_API_URL", None)

from nianbao.schemas.form import FORM
from nianbao.schemas.uscc import complete

SEED_AGENCY = "巫山工业园区管委会"
SEED_YEAR = 2024
SEED_USCC = complete("11500237MB1234567")  # a made-up code with a correct check character
SEED_TEXT = {
    # says nothing about the number of requests: tests fill the tables freely, and the narrative
    # checks (schemas.narrative) would rightly warn about a text saying 未收到政府信息公开申请
    "text.overview": "2024年，巫山工业园区管委会高度重视政府信息公开工作，严格落实信息公开制度……",
    "text.problems": "政务新媒体的运营和管理水平有待提高。",
    "text.other": "无。",
}


def require_tool(*names: str, package: str) -> str:
    """The path of the first of ``names`` on PATH.  Missing: a skip on a developer's machine,
    a failure under CI=true (``make test`` installs ``package``; a skip there would hide it)."""
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    if os.environ.get("CI"):
        pytest.fail(f"{names[0]} is required in CI: make test installs the Debian package {package}")
    pytest.skip(f"{names[0]} is not installed (apt-get install {package})")


def sum_reports(reports: list[dict[str, float]]) -> dict[str, float]:
    """County totals computed plainly, cell by cell: the tests' oracle for the rollup's sums."""
    totals = {}
    for cell in FORM.cells:
        value = sum(float(r.get(cell.code) or 0) for r in reports)
        totals[cell.code] = round(value, 6) if cell.kind == "decimal" else float(round(value))
    return totals


def zeros() -> dict[str, float]:
    return {code: 0 for code in FORM.numeric_codes}


@pytest.fixture
def build(tmp_path):
    """``build(name, **overrides)`` → path of a filled report (the seed's, all zero, by default).

    ``overrides`` maps codes to values; ``None`` leaves a cell empty.  Keyword
    ``skip_totals=True`` leaves the template's total formulas in place.
    """
    from nianbao.flows.excel.template import write_template

    def _build(name: str = "report.xlsx", values: dict | None = None, *, skip_totals: bool = False,
               agency: str = SEED_AGENCY, year: int | None = SEED_YEAR, uscc: str = SEED_USCC, **fields):
        filled = zeros()
        if skip_totals:
            for code in FORM.sums:
                filled.pop(code)
        filled.update(SEED_TEXT)
        filled.update(values or {})
        filled.update(fields)
        filled = {k: v for k, v in filled.items() if v is not None}
        path = tmp_path / name
        write_template(path, year=year, agency=agency, uscc=uscc, values=filled)
        return path

    return _build


@pytest.fixture(scope="session")
def prefect_harness():
    """A temporary Prefect API for the end-to-end flow tests (about 15 s, once)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        yield


def make_workspace(settings) -> None:
    """A nianbao.toml beside the fixture's folders (the default layout): the command finds them from there."""
    from nianbao.flows.settings import CONFIG_NAME, config_text

    (settings.state.parent / CONFIG_NAME).write_text(config_text(county=settings.county), encoding="utf-8")


@pytest.fixture
def settings(tmp_path):
    """A county's folders under tmp_path, with an empty inbound folder."""
    from nianbao.flows.settings import Settings

    s = Settings(inbound=tmp_path / "inbound", outbound=tmp_path / "outbound", state=tmp_path / "var",
                 roster=tmp_path / "roster.csv")
    s.inbound.mkdir()
    return s
