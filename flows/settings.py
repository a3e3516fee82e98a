"""Settings: read once into one object, from the workspace's ``nianbao.toml``, then the environment.

A county office's workspace is a folder with a ``nianbao.toml`` (written by
``nianbao init``); every command finds it by walking up from the working
folder, as git finds ``.git``.  Its paths are relative to its own folder.
The environment variables below, then command-line options, override it.

| variable | default | meaning |
|---|---|---|
| NIANBAO_INBOUND | ./inbound | where agencies drop their workbooks |
| NIANBAO_OUTBOUND | ./outbound | rollups, status, feedback and reports |
| NIANBAO_STATE | ./var | ledger, archive of originals, Prefect's home |
| NIANBAO_ROSTER | ./roster.csv | the county's list of reporting agencies |
| NIANBAO_COUNTY | 巫山县 | the county's name, on the rollup's cover |
| NIANBAO_COUNTY_USCC | (empty) | the county government's USCC, on the rollup's cover |
| NIANBAO_MAX_FILE_MB | 20 | larger submissions are refused unread |
| NIANBAO_YEAR | (none) | the report year being collected |
| NIANBAO_TIME_ZONE | Asia/Shanghai | the office's time zone, for the times people read |
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from nianbao.flows.errors import CommandLineError, InputError
from nianbao.schemas.form import DEFAULT_LEVEL, FIRST_YEAR, LEVELS

DEFAULT_INBOUND = "inbound"
DEFAULT_OUTBOUND = "outbound"
DEFAULT_STATE = "var"
DEFAULT_ROSTER = "roster.csv"
DEFAULT_COUNTY = "巫山县"
DEFAULT_MAX_FILE_MB = 20
DEFAULT_TIME_ZONE = "Asia/Shanghai"
CONFIG_NAME = "nianbao.toml"
FOLDERS = {"inbound": DEFAULT_INBOUND, "outbound": DEFAULT_OUTBOUND, "state": DEFAULT_STATE, "roster": DEFAULT_ROSTER}


@dataclass(frozen=True)
class Settings:
    inbound: Path = Path(DEFAULT_INBOUND)
    outbound: Path = Path(DEFAULT_OUTBOUND)
    state: Path = Path(DEFAULT_STATE)
    roster: Path = Path(DEFAULT_ROSTER)
    county: str = DEFAULT_COUNTY
    county_uscc: str = ""
    max_file_mb: int = DEFAULT_MAX_FILE_MB
    year: int | None = None  # the report year being collected
    time_zone: str = DEFAULT_TIME_ZONE
    level: str = DEFAULT_LEVEL  # the office's own government level (县; a city's office 市)
    config: Path | None = None  # the nianbao.toml these settings were read from

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


class NoWorkspace(CommandLineError):
    """No nianbao.toml here or above, for a command that works on a workspace."""


def find_config(start: Path | None = None) -> Path | None:
    """The ``nianbao.toml`` in ``start`` (the working folder) or the nearest folder above it."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / CONFIG_NAME
        if candidate.is_file():
            return candidate
    return None


def _read_config(path: Path) -> dict:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"工作区设置文件 {path} 无法读取：{exc}") from None
    office, folders = data.get("office", {}), data.get("folders", {})
    if not isinstance(office, dict) or not isinstance(folders, dict):
        raise InputError(f"工作区设置文件 {path} 的格式不对：应有 [office] 和 [folders] 两节")
    return {**office, **{k: folders[k] for k in FOLDERS if k in folders}}


def load(environ: dict[str, str] | None = None, cwd: Path | None = None) -> Settings:
    """The settings of the workspace around ``cwd``, with ``NIANBAO_*`` variables over them."""
    env = os.environ if environ is None else environ
    config = find_config(cwd)
    base = config.parent if config else (cwd or Path.cwd())
    values = _read_config(config) if config else {}
    for key in FOLDERS:
        if key in values:
            values[key] = str(values[key])
    merged = {**FOLDERS, "county": DEFAULT_COUNTY, "county_uscc": "", "max_file_mb": DEFAULT_MAX_FILE_MB,
              "year": None, "time_zone": DEFAULT_TIME_ZONE, "level": DEFAULT_LEVEL, **values}
    for key in (*FOLDERS, "county", "county_uscc", "max_file_mb", "year", "time_zone"):
        if f"NIANBAO_{key.upper()}" in env:
            merged[key] = env[f"NIANBAO_{key.upper()}"]
    where = f"（{config}）" if config else ""
    try:
        max_file_mb = int(merged["max_file_mb"])
        year = int(merged["year"]) if merged["year"] not in (None, "") else None
    except (TypeError, ValueError):
        raise InputError(f"设置有误{where}：max_file_mb 和 year 应为整数") from None
    if str(merged["level"]) not in LEVELS:
        raise InputError(f"设置有误{where}：level 应为{'、'.join(LEVELS)}之一，实为“{merged['level']}”")
    check_time_zone(str(merged["time_zone"]), where)
    return Settings(
        inbound=base / merged["inbound"], outbound=base / merged["outbound"], state=base / merged["state"],
        roster=base / merged["roster"], county=str(merged["county"]), county_uscc=str(merged["county_uscc"]),
        max_file_mb=max_file_mb, year=year, time_zone=str(merged["time_zone"]), level=str(merged["level"]),
        config=config,
    )


def check_time_zone(name: str, where: str = "") -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(f"设置有误{where}：time_zone“{name}”不是有效的时区名称（如 Asia/Shanghai）") from None


def require_workspace(settings: Settings, environ: dict[str, str] | None = None) -> None:
    """A command that keeps state needs a workspace: a nianbao.toml, or NIANBAO_STATE set explicitly."""
    env = os.environ if environ is None else environ
    if settings.config is None and "NIANBAO_STATE" not in env:
        raise NoWorkspace(
            f"当前文件夹 {Path.cwd()} 及其上级文件夹中没有工作区设置文件 {CONFIG_NAME}。"
            f"请先创建工作区，例如：nianbao init 年报工作区 --county 奉节县 --year 2024，"
            f"然后进入该文件夹再运行本命令。"
        )


def config_text(*, county: str, county_uscc: str = "", year: int | None = None, level: str = DEFAULT_LEVEL,
                time_zone: str = DEFAULT_TIME_ZONE) -> str:
    """The ``nianbao.toml`` of a new workspace (TOML strings written as JSON strings, which TOML reads)."""
    def s(value: str) -> str:
        return json.dumps(value, ensure_ascii=False)

    lines = [
        "# nianbao 工作区设置（由 nianbao init 生成，可以直接修改）。路径相对于本文件所在的文件夹。",
        "",
        "[office]",
        f"county = {s(county)}  # 本级政府名称：写在汇总表封面和年度报告上",
        f"county_uscc = {s(county_uscc)}  # 本级政府的统一社会信用代码（可不填）",
        f"level = {s(level)}  # 本级层级：县、市或省",
        (f"year = {year}  # 正在收集的报告年度" if year is not None else "# year = 2024  # 正在收集的报告年度"),
        f"time_zone = {s(time_zone)}  # 显示时间所用的时区",
        "",
        "[folders]",
        *(f"{key} = {s(default)}" for key, default in FOLDERS.items()),
        "",
    ]
    return "\n".join(lines)


def init_workspace(folder: Path, *, county: str, county_uscc: str = "", year: int | None = None,
                   level: str = DEFAULT_LEVEL, time_zone: str = DEFAULT_TIME_ZONE, force: bool = False) -> Settings:
    """Write ``folder/nianbao.toml`` and create the workspace's folders; the roster gets its header row."""
    if not county.strip():
        raise CommandLineError("--county 不能为空：请写本级政府的名称，如 奉节县")
    if year is not None and year < FIRST_YEAR:
        raise CommandLineError(f"--year 应为 {FIRST_YEAR} 年以后的四位年份：{year}")
    check_time_zone(time_zone)
    folder = Path(folder)
    config = folder / CONFIG_NAME
    if config.exists() and not force:
        raise CommandLineError(f"{config} 已存在：这里已经是一个工作区（如需重新生成请加 --force）")
    folder.mkdir(parents=True, exist_ok=True)
    config.write_text(config_text(county=county.strip(), county_uscc=county_uscc.strip(), year=year, level=level,
                                  time_zone=time_zone), encoding="utf-8")
    settings = load(environ={}, cwd=folder)
    for path in (settings.inbound, settings.outbound, settings.state):
        path.mkdir(parents=True, exist_ok=True)
    if not settings.roster.exists():
        settings.roster.write_text("\ufeff单位名称,统一社会信用代码,层级\r\n", encoding="utf-8")
    return settings


def configure_prefect(settings: Settings) -> None:
    """Quiet, local, dependable defaults; anything already set in the environment wins."""
    env = os.environ
    env.setdefault("PREFECT_HOME", str(settings.prefect_home.resolve()))
    env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")  # else: "database is locked" tracebacks
    env.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    env.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "WARNING")
    env.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
    settings.prefect_home.mkdir(parents=True, exist_ok=True)
