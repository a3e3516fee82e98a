"""Recovery tools: ``nianbao status`` and ``nianbao reprocess``."""

from __future__ import annotations

import io
import re
from pathlib import Path

from nianbao.schemas.checks import check_reports
from nianbao.schemas.crossyear import cross_year_findings
from nianbao.schemas.findings import is_rejected

from nianbao.flows.errors import InputError
from nianbao.flows.steps.history import History
from nianbao.flows.steps.intake import guess_year, submission_from
from nianbao.flows.store.ledger import Ledger, Submission
from nianbao.flows.store.locking import run_lock
from nianbao.flows.excel.reader import Limits, read_report
from nianbao.flows.outputs.rollup import STATUS_LABELS, agency_statuses, mark_other_years
from nianbao.flows.steps.year import write_year_outputs
from nianbao.flows.store.roster import load_roster
from nianbao.flows.settings import Settings

RECENT = 10


def status_text(settings: Settings, year: int | None = None) -> str:
    if not settings.ledger.exists():
        return f"还没有收到任何年报（台账 {settings.ledger} 不存在）。请把年报放入 {settings.inbound}/ 后运行 nianbao run。"
    roster = load_roster(settings.roster)
    with Ledger(settings.ledger) as ledger:
        years = ledger.years()
        year = year or (years[-1] if years else None)
        subs = ledger.submissions(year) if year else []
        elsewhere = ledger.submissions(numbers=False) if year and year == settings.year else []
        recent = ledger.submissions()[-RECENT:]
        duplicates = len(ledger.duplicates())
        pending = ledger.moving()
    lines = []
    if year is None:
        lines.append("台账中还没有可归入年度的年报。")
    else:
        statuses = agency_statuses(subs, roster)
        mark_other_years(statuses, elsewhere, roster, year)
        listed = [s for s in statuses if s.on_roster]
        counts = {k: sum(1 for s in listed if s.status == k) for k in STATUS_LABELS}
        lines.append(f"{year} 年度（共 {len(listed)} 个单位）："
                     + "，".join(f"{STATUS_LABELS[k]} {v}" for k, v in counts.items()))
        for s in statuses:
            c = s.current
            detail = f"{c.file_name}  {c.received_in(settings.time_zone)}  错误 {c.errors} 警告 {c.warnings}" if c else ""
            lines.append(f"  {s.label}  {s.agency}  {detail}".rstrip())
            if note := s.note(settings.time_zone):
                lines.append(f"    {note}")
    lines.append("")
    lines.append(f"最近收到的 {len(recent)} 份文件（共 {duplicates} 份重复文件未计数）：")
    for sub in reversed(recent):
        verdict = "通过" if sub.accepted else "未通过"
        lines.append(f"  {sub.received_in(settings.time_zone)}  {verdict}  {sub.year or '年度不明'}  "
                     f"{sub.agency or '（无法识别单位）'}  {sub.file_name}  sha256:{sub.sha256[:12]}")
    if pending:
        lines.append(f"注意：有 {len(pending)} 个文件的归档未完成（上次运行被中断），下次运行会自动补完。")
    return "\n".join(lines)


_SHA = re.compile(r"^[0-9a-fA-F]{8,64}$")


def find_submission(ledger: Ledger, target: str) -> Submission:
    """A submission by sha256 (prefix of at least 8), archived path, or file name."""
    subs = ledger.submissions()
    if _SHA.match(target):
        found = [s for s in subs if s.sha256.startswith(target.lower())]
    else:
        path = Path(target)
        found = [s for s in subs if path.exists() and Path(s.archived_path).resolve() == path.resolve()]
        found = found or [s for s in subs if target in (s.file_name, Path(s.archived_path).name)]
    if not found:
        raise InputError(f"台账中没有与“{target}”对应的归档文件（可给出归档文件路径、原文件名或 sha256 前 8 位以上）")
    if len(found) > 1:
        listing = "；".join(f"{s.file_name}（sha256:{s.sha256[:12]}，{s.received_at[:19]}）" for s in found[:5])
        raise InputError(f"“{target}”对应多份归档文件，请改用 sha256 指定：{listing}")
    return found[0]


def reprocess(settings: Settings, target: str) -> str:
    """Check an archived original again with today's rules; update the ledger and the year's outputs."""
    roster = load_roster(settings.roster)
    with run_lock(settings.state), Ledger(settings.ledger) as ledger:
        old = find_submission(ledger, target)
        try:
            data = Path(old.archived_path).read_bytes()
        except OSError as exc:
            raise InputError(f"归档文件无法读取：{old.archived_path}（{exc.strerror}）") from None
        limits = Limits(max_file_bytes=settings.max_file_mb * 1024 * 1024)
        report = read_report(io.BytesIO(data), name=old.file_name, limits=limits)
        (findings,) = check_reports([report], levels=[roster.level_of_report(report)])
        findings.extend(cross_year_findings(report, History(ledger, roster).previous(report)))
        year = guess_year(report, old.file_name, old.year)
        new = submission_from(report, findings, sha=old.sha256, file_name=old.file_name,
                              received_at=old.received_at, archived=Path(old.archived_path), year=year)
        with ledger.transaction():
            ledger.update_findings(old.id, new.outcome, new.errors, new.warnings, new.findings, new.numbers,
                                   new.fields, new.agency, new.uscc, new.year)
        years = sorted({y for y in (old.year, new.year) if y})
        for y in years:
            write_year_outputs(settings, y, roster)
    verdict = "未通过" if is_rejected(report.readable, findings) else "通过"
    before = "通过" if old.accepted else "未通过"
    return (f"已重新校验 {old.file_name}（sha256:{old.sha256[:12]}）：原结论 {before}，现结论 {verdict}"
            f"（错误 {new.errors}，警告 {new.warnings}）。已更新 {'、'.join(map(str, years))} 年度的汇总。")
