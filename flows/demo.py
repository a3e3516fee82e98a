"""``nianbao demo``: a sample county's reports dropped in the inbound folder, then checked."""

from __future__ import annotations

from pathlib import Path

from .checking import check_files
from .sample import COUNTY, sample_reports
from .xlsx import write_template


def write_sample(inbound: Path, year: int = 2024, seed: int = 2024) -> list[Path]:
    """Write the sample county's filled templates into ``inbound``; returns their paths."""
    inbound.mkdir(parents=True, exist_ok=True)
    paths = []
    for report in sample_reports(year, seed=seed):
        path = inbound / f"{report.agency.name}-{year}年报.xlsx"
        write_template(path, values=report.values)
        paths.append(path)
    return paths


def run_demo(inbound: Path, outbound: Path, year: int = 2024) -> str:
    """Write a blank template and the sample reports, check them; returns a summary."""
    outbound.mkdir(parents=True, exist_ok=True)
    template = outbound / f"年报模板-{year}.xlsx"
    write_template(template, year=year)
    paths = write_sample(inbound, year)
    results = check_files([str(p) for p in paths])
    rejected = [r for r in results if r.rejected]
    lines = [f"{COUNTY}示例：{len(paths)} 份年报已放入 {inbound}/，空白模板：{template}", ""]
    for r in rejected:
        lines.append(f"未通过：{Path(r.file).name}")
        lines.extend(f"  {f.where} [{f.rule}] {f.message}" for f in r.findings if f.is_error)
    lines.append("")
    lines.append(f"校验完成：{len(results) - len(rejected)} 份通过，{len(rejected)} 份未通过。")
    return "\n".join(lines)
