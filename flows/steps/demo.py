"""``nianbao demo``: a sample county's roster and reports, ready for the pipeline."""

from __future__ import annotations

from pathlib import Path

from nianbao.flows.errors import InputError

from nianbao.flows.store.files import write_atomic
from nianbao.flows.store.roster import Entry, load_roster, write_roster_csv
from nianbao.flows.steps.sample import COUNTY, roster, sample_reports
from nianbao.flows.settings import CONFIG_NAME, Settings, init_workspace, load
from nianbao.flows.excel.template import write_template


class DemoError(InputError):
    """The demo would overwrite the county's own files; the message says so in Chinese."""


def write_sample(inbound: Path, year: int = 2024, seed: int = 2024) -> list[Path]:
    """Write the sample county's filled templates into ``inbound``; returns their paths."""
    inbound.mkdir(parents=True, exist_ok=True)
    paths = []
    for report in sample_reports(year, seed=seed):
        path = inbound / f"{report.agency.name}-{year}年报.xlsx"
        write_template(path, values=report.values)
        paths.append(path)
    return paths


def demo_workspace(folder: Path, year: int = 2024) -> Settings:
    """The sample county's own workspace in ``folder`` (made when missing): the demo never touches an office's."""
    config = folder / CONFIG_NAME
    if config.exists():
        settings = load(environ={}, cwd=folder)
        if settings.county != COUNTY or settings.config != config.resolve():
            raise DemoError(f"{config} 是{settings.county}的工作区，不是演示工作区。请换一个文件夹运行演示，如 nianbao demo {folder}-演示")
        return settings
    return init_workspace(folder, county=COUNTY, year=year)


def prepare_demo(settings: Settings, year: int = 2024) -> str:
    """Roster, blank template and the sample reports; returns what was written, in Chinese."""
    roster_bytes = write_roster_csv([Entry(a.name, a.uscc) for a in roster()])
    if settings.roster.exists() and load_roster(settings.roster).entries and settings.roster.read_bytes() != roster_bytes:
        raise DemoError(f"名单文件 {settings.roster} 已存在且不是示例名单，演示不会覆盖它。请在另一个文件夹中运行演示，或用 --roster 指定别的路径。")
    write_atomic(settings.roster, roster_bytes)
    template = settings.outbound / f"年报模板-{year}.xlsx"
    template.parent.mkdir(parents=True, exist_ok=True)
    write_template(template, year=year)
    paths = write_sample(settings.inbound, year)
    return (f"{COUNTY}示例：名单 {len(roster())} 个单位（{settings.roster}），"
            f"{len(paths)} 份年报已放入 {settings.inbound}/，空白模板：{template}")
