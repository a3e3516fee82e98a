"""Settings: read once from the environment into one object.  Defaults are named constants.

| variable | default | meaning |
|---|---|---|
| NIANBAO_INBOUND | ./inbound | where agencies drop their workbooks |
| NIANBAO_OUTBOUND | ./outbound | rollups, status, feedback and reports |
| NIANBAO_STATE | ./var | ledger, archive of originals, Prefect's home |
| NIANBAO_ROSTER | ./roster.csv | the county's list of reporting agencies |
| NIANBAO_COUNTY | 巫山县 | the county's name, on the rollup's cover |
| NIANBAO_COUNTY_USCC | (empty) | the county government's USCC, on the rollup's cover |
| NIANBAO_MAX_FILE_MB | 20 | larger submissions are refused unread |
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

DEFAULT_INBOUND = "inbound"
DEFAULT_OUTBOUND = "outbound"
DEFAULT_STATE = "var"
DEFAULT_ROSTER = "roster.csv"
DEFAULT_COUNTY = "巫山县"
DEFAULT_MAX_FILE_MB = 20


@dataclass(frozen=True)
class Settings:
    inbound: Path = Path(DEFAULT_INBOUND)
    outbound: Path = Path(DEFAULT_OUTBOUND)
    state: Path = Path(DEFAULT_STATE)
    roster: Path = Path(DEFAULT_ROSTER)
    county: str = DEFAULT_COUNTY
    county_uscc: str = ""
    max_file_mb: int = DEFAULT_MAX_FILE_MB

    @property
    def archive(self) -> Path:
        return self.state / "archive"

    @property
    def ledger(self) -> Path:
        return self.state / "ledger.sqlite3"

    @property
    def prefect_home(self) -> Path:
        return self.state / "prefect"

    def with_overrides(self, **kw) -> "Settings":
        """A copy with the given (non-None) values replaced, e.g. from command-line options."""
        return replace(self, **{k: (Path(v) if isinstance(getattr(self, k), Path) else v)
                                for k, v in kw.items() if v is not None})


def load(environ: dict[str, str] | None = None) -> Settings:
    env = os.environ if environ is None else environ
    return Settings(
        inbound=Path(env.get("NIANBAO_INBOUND", DEFAULT_INBOUND)),
        outbound=Path(env.get("NIANBAO_OUTBOUND", DEFAULT_OUTBOUND)),
        state=Path(env.get("NIANBAO_STATE", DEFAULT_STATE)),
        roster=Path(env.get("NIANBAO_ROSTER", DEFAULT_ROSTER)),
        county=env.get("NIANBAO_COUNTY", DEFAULT_COUNTY),
        county_uscc=env.get("NIANBAO_COUNTY_USCC", ""),
        max_file_mb=int(env.get("NIANBAO_MAX_FILE_MB", DEFAULT_MAX_FILE_MB)),
    )


def configure_prefect(settings: Settings) -> None:
    """Quiet, local, dependable defaults; anything already set in the environment wins."""
    env = os.environ
    env.setdefault("PREFECT_HOME", str(settings.prefect_home.resolve()))
    env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")  # else: "database is locked" tracebacks
    env.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    env.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "WARNING")
    env.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
    settings.prefect_home.mkdir(parents=True, exist_ok=True)
