"""The Prefect flow: each task calls one plain function; the flow only puts them in order.

Call :func:`nianbao.flows.settings.configure_prefect` before importing this module:
Prefect reads its settings from the environment once, at import.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from nianbao.flows.steps.intake import intake
from nianbao.flows.store.ledger import Ledger
from nianbao.flows.store.locking import run_lock
from nianbao.flows.progress import Progress
from nianbao.flows.steps.year import write_year_outputs
from nianbao.flows.store.roster import load_roster
from nianbao.flows.settings import DEFAULT_TIME_ZONE, Settings

FLOW_NAME = "nianbao-run"
PASSES_LOG = "passes.log"  # one line a pass of nianbao serve, under the state folder
DEPLOYMENT_NAME = "inbound-poll"


@dataclass
class RunSummary:
    new: int = 0
    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0
    resumed: int = 0
    waiting: list[str] = field(default_factory=list)
    years: list[dict] = field(default_factory=list)  # per year: counts and where the outputs are


def settings_from(inbound: str, outbound: str, state: str, roster: str, county: str, county_uscc: str,
                  max_file_mb: int, time_zone: str = DEFAULT_TIME_ZONE, collecting: int | None = None) -> Settings:
    return Settings(Path(inbound), Path(outbound), Path(state), Path(roster), county, county_uscc, max_file_mb,
                    year=collecting, time_zone=time_zone)


def _summarise_intake(result) -> RunSummary:
    return RunSummary(
        new=result.count("accepted") + result.count("rejected"),
        accepted=result.count("accepted"),
        rejected=result.count("rejected"),
        duplicates=result.count("duplicate"),
        resumed=result.count("resumed"),
        waiting=result.waiting,
    )


def _summarise_year(y) -> dict:
    return {
        "year": y.year,
        "rebuilt": y.rebuilt,
        "accepted": y.count("accepted"),
        "rejected": y.count("rejected"),
        "missing": y.count("missing"),
        "unlisted": sum(1 for s in y.statuses if not s.on_roster),
        "index": str(y.outdir / "index.html"),
        "rollup_findings": len(y.rollup_findings),
    }


@task(name="intake", cache_policy=NO_CACHE)
def intake_task(settings: Settings, settle_seconds: float, default_year: int | None, progress: bool = True):
    bar = Progress("收件") if progress else None  # on stderr, and only for a run longer than a moment
    try:
        return intake(settings, settle_seconds=settle_seconds, default_year=default_year, progress=bar)
    finally:
        if bar:
            bar.close()


@task(name="years", cache_policy=NO_CACHE)
def years_task(settings: Settings, year: int | None) -> list[int]:
    if year is not None:
        return [year]
    with Ledger(settings.ledger) as ledger:
        return ledger.years()


@task(name="publish-year", cache_policy=NO_CACHE)
def publish_task(settings: Settings, year: int, with_reports: bool, progress: bool = True) -> dict:
    bar = Progress(f"{year} 年度反馈表") if progress else None
    try:
        with run_lock(settings.state):
            return _summarise_year(write_year_outputs(settings, year, load_roster(settings.roster), with_reports=with_reports,
                                                progress=bar))
    finally:
        if bar:
            bar.close()


@flow(name=FLOW_NAME, log_prints=False)
def nianbao_run(
    inbound: str = "inbound",
    outbound: str = "outbound",
    state: str = "var",
    roster: str = "roster.csv",
    county: str = "巫山县",
    county_uscc: str = "",
    max_file_mb: int = 20,
    time_zone: str = DEFAULT_TIME_ZONE,
    collecting: int | None = None,
    year: int | None = None,
    settle_seconds: float = 5.0,
    with_reports: bool = True,
    progress: bool = True,
    announce: bool = False,
) -> dict:
    """One intake pass over the inbound folder, then the outputs of every year touched (or of ``year``).

    ``progress``: long runs show counts and the time left on stderr (see :mod:`nianbao.flows.progress`).
    ``collecting``: the report year the office is collecting (nianbao.toml); ``year``: summarise only that year.
    ``announce``: add one line for the pass to ``state/passes.log`` (``nianbao serve`` prints them).
    """
    settings = settings_from(inbound, outbound, state, roster, county, county_uscc, max_file_mb, time_zone, collecting)
    summary = _summarise_intake(intake_task(settings, settle_seconds, year, progress))
    for y in years_task(settings, year):
        summary.years.append(publish_task(settings, y, with_reports, progress))
    if announce:
        with open(Path(state) / PASSES_LOG, "a", encoding="utf-8") as log:
            log.write(pass_line(summary) + "\n")
    return summary.__dict__


def pass_line(summary: RunSummary, now: dt.datetime | None = None) -> str:
    """``2026-11-30 22:10:05 新收 3 份：通过 2，未通过 1；重复 0 份``: one line per pass of ``nianbao serve``."""
    stamp = (now or dt.datetime.now()).strftime("%Y-%m-%d %H:%M:%S")
    line = f"{stamp} 新收 {summary.new} 份：通过 {summary.accepted}，未通过 {summary.rejected}；重复 {summary.duplicates} 份"
    return line + (f"；仍在写入 {len(summary.waiting)} 份" if summary.waiting else "")


def flow_parameters(settings: Settings, **extra) -> dict:
    return {
        "inbound": str(settings.inbound.resolve()),
        "outbound": str(settings.outbound.resolve()),
        "state": str(settings.state.resolve()),
        "roster": str(settings.roster.resolve()),
        "county": settings.county,
        "county_uscc": settings.county_uscc,
        "max_file_mb": settings.max_file_mb,
        "time_zone": settings.time_zone,
        "collecting": settings.year,
        **extra,
    }


def temporary_server(settings: Settings):
    """Prefect's temporary API server, started here with its output in ``var/prefect-temp-server.log``
    (a Ctrl-C reaches it too, and it would print English); the flow then uses it."""
    from prefect.server.api.server import SubprocessASGIServer

    settings.state.mkdir(parents=True, exist_ok=True)
    saved = os.dup(2)
    try:
        with open(settings.state / "prefect-temp-server.log", "ab") as log:
            os.dup2(log.fileno(), 2)
            server = SubprocessASGIServer()
            server.start(timeout=int(os.environ.get("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")))
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    return server
