"""The year's outputs: feedback workbooks, the rollup, the CSVs, the validation reports and the office page.

:func:`write_year_outputs` is what the flow's second task calls; it is a no-op
when nothing it depends on changed (the fingerprint of the ledger's verdicts,
the roster and the settings).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from nianbao.schemas.checks import check_report
from nianbao.schemas.form import FIRST_YEAR, FORM

from nianbao.flows.excel.reader import read_report
from nianbao.flows.excel.tables import write_rollup
from nianbao.flows.outputs.pages import index_html
from nianbao.flows.outputs.rollup import (
    AGENCIES_CSV, FINDING_COLUMNS, FINGERPRINT_FILE, STATUS_COLUMNS, TOTALS_FILE, AgencyStatus, YearResult,
    agencies_frame, finding_rows, per_agency_sheet, saved_totals, status_rows, status_sheet, agency_statuses,
    fingerprint, sum_matrix, write_agencies_csv,
)
from nianbao.flows.settings import Settings
from nianbao.flows.steps.intake import safe_name
from nianbao.flows.steps.parallel import feedback_job, run_jobs
from nianbao.flows.store.files import atomic_path, csv_bytes, write_atomic
from nianbao.flows.store.ledger import Ledger
from nianbao.flows.store.roster import Roster


def feedback_name(status: AgencyStatus) -> str:
    return f"{safe_name(status.agency, 40)}-{status.current.sha256[:8]}.xlsx"


def _write_feedback(outdir: Path, statuses: list[AgencyStatus], progress=None) -> dict[str, Path]:
    """Each agency's feedback workbook (kept when it exists: its name carries the file's hash); many in parallel."""
    written, jobs = {}, []
    for s in statuses:
        c = s.current
        if c is None or (c.accepted and not c.findings):
            continue
        target = outdir / "feedback" / feedback_name(s)
        written[s.agency] = target
        if target.exists():
            continue
        title = f"{c.file_name} 校验结果：{c.errors} 个错误，{c.warnings} 个警告"
        jobs.append((str(target), c.archived_path, c.numbers is not None, list(c.findings), title))
    run_jobs(feedback_job, jobs, progress=progress)
    return written


def write_year_outputs(
    settings: Settings,
    year: int,
    roster: Roster,
    *,
    force: bool = False,
    with_reports: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> YearResult:
    """Build every output of ``year``; a no-op when nothing it depends on changed.

    ``progress(done, total)`` is told how many feedback workbooks are written (the long part of a big year).
    """
    codes = [cell.code for cell in FORM.cells]
    outdir = settings.outbound / str(year)
    with Ledger(settings.ledger) as ledger:
        submissions = ledger.submissions(year, numbers=False)  # numbers are read below, and only if needed
        statuses = agency_statuses(submissions, roster)
        included = [s for s in statuses if s.in_rollup]
        stamp = fingerprint(statuses, roster, settings, year)
        stamp_file = outdir / FINGERPRINT_FILE
        unchanged = not force and stamp_file.exists() and stamp_file.read_text() == stamp
        totals = saved_totals(outdir, stamp) if unchanged else None
        matrix = None
        if totals is None:
            matrix = ledger.numbers_matrix([s.current.id for s in included], codes)
            totals = sum_matrix(matrix)
    result = YearResult(year, statuses, totals, [], outdir, rebuilt=False)
    if unchanged:
        return result

    fields = {
        "meta.agency": settings.county,
        "meta.uscc": settings.county_uscc,
        "meta.year": year,
        "text.overview": f"{settings.county}{year}年度政府信息公开工作年度报告汇总数据。汇总范围：{len(included)}个单位"
                         f"（名单共{sum(1 for s in statuses if s.on_roster)}个单位，详见“报送情况”工作表）。",
        "text.problems": "（由县政府办公室根据各单位报告填写）",
    }
    rollup_path = outdir / "rollup.xlsx"
    with atomic_path(rollup_path) as tmp:
        write_rollup(tmp, values={**totals, **fields},
                     extra_sheets=[per_agency_sheet(included, totals, matrix), status_sheet(statuses)])
        # the rollup must pass the very rules its parts passed; a failure here is a bug
        # (errors only: a county's sums may well trip a warning meant for one agency, e.g. fee.unit)
        result.rollup_findings = [f for f in check_report(read_report(tmp, name="rollup.xlsx"),
                                                          last_year=max(year, FIRST_YEAR)) if f.is_error]
    write_agencies_csv(outdir / AGENCIES_CSV, included, matrix)
    write_atomic(outdir / "status.csv", csv_bytes(STATUS_COLUMNS, status_rows(statuses)))
    write_atomic(outdir / "findings.csv", csv_bytes(FINDING_COLUMNS, finding_rows(statuses)))
    feedback = _write_feedback(outdir, statuses, progress)
    if with_reports:
        from nianbao.flows.outputs.validation import write_validation_reports  # GX: imported only when used

        reports = write_validation_reports(year=year, agencies=agencies_frame(included, matrix), rollup=totals,
                                  roster=[s.agency for s in statuses if s.on_roster], out_dir=outdir / "reports")
        result.reports_index = reports.index_html
        result.expectation_failures = [f"{r.suite}：{x}" for r in reports.reports for x in r.failures]
        result.report_pages = reports.pages
    write_atomic(outdir / "index.html", index_html(result, settings, feedback).encode("utf-8"))
    write_atomic(outdir / TOTALS_FILE, json.dumps({"fingerprint": stamp, "totals": totals}).encode())
    write_atomic(stamp_file, stamp.encode())
    result.rebuilt = True
    return result

