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
from nianbao.schemas.findings import findings_digest
from nianbao.schemas.form import FIRST_YEAR, FORM
from nianbao.schemas.report import Report

from nianbao.flows.excel.reader import read_report
from nianbao.flows.excel.tables import write_rollup
from nianbao.flows.outputs.pages import index_html
from nianbao.flows.outputs.rollup import (
    AGENCIES_CSV, FINDING_COLUMNS, FINGERPRINT_FILE, STATUS_COLUMNS, STATUS_LABELS, TOTALS_FILE, AgencyStatus,
    YearResult, agencies_frame, finding_rows, per_agency_sheet, saved_totals, status_rows, status_sheet,
    agency_statuses, fingerprint, mark_other_years, sum_matrix, write_agencies_csv,
)
from nianbao.flows.settings import Settings
from nianbao.flows.steps.history import History
from nianbao.flows.steps.intake import safe_name
from nianbao.flows.steps.parallel import feedback_job, run_jobs
from nianbao.flows.store.files import atomic_path, csv_bytes, write_atomic
from nianbao.flows.store.ledger import Ledger, Submission
from nianbao.flows.store.roster import Roster


def feedback_name(status: AgencyStatus, c: Submission) -> str:
    """``<agency>-<file's hash>-<findings' digest>.xlsx``: a new name when the file or its findings change."""
    return f"{safe_name(status.agency, 40)}-{c.sha256[:8]}-{findings_digest(c.findings)[:6]}.xlsx"


def _write_feedback(outdir: Path, statuses: list[AgencyStatus], progress=None) -> dict[str, Path]:
    """Each agency's feedback workbook, many in parallel.  One that exists is kept (its name carries the
    file's hash and its findings' digest); any other workbook in ``feedback/`` is removed: an agency that
    has since passed, or findings that have changed, leave no stale feedback behind."""
    written, jobs = {}, []
    for s in statuses:
        c = s.newer_rejected or s.current  # what the agency must act on: its newest file when that failed
        if c is None or (c.accepted and not c.findings):
            continue
        target = outdir / "feedback" / feedback_name(s, c)
        written[s.agency] = target
        if target.exists():
            continue
        title = f"{c.file_name} 校验结果：{c.errors} 个错误，{c.warnings} 个警告"
        jobs.append((str(target), c.archived_path, c.numbers is not None, list(c.findings), title))
    run_jobs(feedback_job, jobs, progress=progress)
    current = set(written.values())
    for stale in (outdir / "feedback").glob("*.xlsx") if (outdir / "feedback").is_dir() else ():
        if stale not in current:
            stale.unlink()
    return written


def _last_year(ledger: Ledger, roster: Roster, readable: list[AgencyStatus], year: int, *, totals: bool):
    """Each agency's numbers of last year (its current accepted report, as the cross-year checks take it)
    and, when ``totals``, last year's county totals summed from the ledger (None when last year has no
    accepted report)."""
    history = History(ledger, roster)
    previous = {}
    for s in readable:
        probe = Report.from_numbers({}, {"meta.year": year, "meta.agency": s.agency, "meta.uscc": s.uscc})
        before = history.previous(probe)
        if before is not None:
            previous[s.agency] = {code: float(v) for code, v in before.numbers.items() if v is not None}
    if not totals:
        return previous, None
    last = [s for s in agency_statuses(ledger.submissions(year - 1, numbers=False), roster) if s.in_rollup]
    matrix = ledger.numbers_matrix([s.current.id for s in last], list(FORM.numeric_codes))
    return previous, (sum_matrix(matrix) if last else None)


def _numbers_with_gaps(ledger: Ledger, year: int, readable: list[AgencyStatus]):
    """The current submissions' numbers, a cell that could not be read left empty (NaN).

    Not :meth:`Ledger.numbers_matrix`, which reads such a cell as 0: the rules would then see an
    imbalance that is only the unreadable cell (already reported as such) over again.
    """
    import pandas as pd

    codes = list(FORM.numeric_codes)
    wanted = {s.current.id for s in readable}
    numbers = {sub.id: sub.numbers or {} for sub in ledger.submissions(year) if sub.id in wanted}
    frame = pd.DataFrame.from_records([numbers[s.current.id] for s in readable], columns=codes)
    return frame.apply(pd.to_numeric, errors="coerce").to_numpy(dtype="float64").reshape(len(readable), len(codes))


def _saved_last_totals(outbound: Path, year: int) -> dict[str, float] | None:
    """Last year's county totals as its run saved them (``outbound/Y-1/.totals.json``), or None."""
    try:
        saved = json.loads((outbound / str(year - 1) / TOTALS_FILE).read_text(encoding="utf-8"))
        return {code: float(v) for code, v in saved["totals"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _write_reports(settings: Settings, year: int, roster: Roster, statuses: list[AgencyStatus],
                   totals: dict[str, float], feedback: dict[str, Path], result: YearResult) -> None:
    """The validation report of every current submission that could be read, accepted or rejected."""
    from nianbao.flows.outputs.validation import progress_of, write_validation_reports  # GX: imported only when used

    readable = [s for s in statuses if s.on_roster and s.current is not None and s.current.numbers is not None]
    saved = _saved_last_totals(settings.outbound, year)
    with Ledger(settings.ledger) as ledger:
        matrix = _numbers_with_gaps(ledger, year, readable)
        previous, last_totals = _last_year(ledger, roster, readable, year, totals=saved is None)
    frame = agencies_frame(readable, matrix).assign(
        状态=[STATUS_LABELS[s.status] for s in readable],  # the validation's column names
        层级=[roster.level_of(s.agency, s.uscc) for s in readable],
    )
    reports = write_validation_reports(
        year=year, agencies=frame, rollup=totals, roster=[s.agency for s in statuses if s.on_roster],
        out_dir=settings.outbound / str(year) / "reports", previous=previous,
        last_totals=saved if saved is not None else last_totals, feedback=feedback, progress=progress_of(statuses),
        county=settings.county,
    )
    result.reports_index = reports.index_html
    result.expectation_failures = [x for r in reports.reports for x in r.failures]
    result.report_pages = reports.pages


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
        if settings.year == year:  # the year being collected: say which agencies sent another year's report
            mark_other_years(statuses, ledger.submissions(numbers=False), roster, year)
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

    fields = {  # the county's cover and text: what is known, nothing left to fill in (no 填报人 or phone: left out)
        "meta.agency": settings.county,
        **({"meta.uscc": settings.county_uscc} if settings.county_uscc else {}),
        "meta.year": year,
        "text.overview": f"本表汇总{settings.county}{len(included)}个单位{year}年度政府信息公开工作年度报告的数据"
                         f"（名单共{sum(1 for s in statuses if s.on_roster)}个单位，详见“报送情况”工作表）。",
        "text.problems": "本表为各单位年度报告的数据汇总；各单位存在的主要问题及改进情况，见其年度报告。",
        "text.other": "各单位报送情况详见“报送情况”工作表：名单中{}个单位的年报已通过，计入汇总；"
                      "{}个未通过、{}个未报送，未计入汇总。".format(len(included),
                                          sum(1 for s in statuses if s.on_roster and s.current and not s.in_rollup),
                                          sum(1 for s in statuses if s.on_roster and s.current is None)),
    }
    rollup_path = outdir / "rollup.xlsx"
    with atomic_path(rollup_path) as tmp:
        write_rollup(tmp, values={**totals, **fields},
                     extra_sheets=[per_agency_sheet(included, totals, matrix), status_sheet(statuses, settings.time_zone)])
        # the rollup must pass the very rules its parts passed; a failure here is a bug
        # (errors only: a county's sums may well trip a warning meant for one agency, e.g. fee.unit)
        # at the office's own level (nianbao.toml): a city's total may hold its own departments' 规章
        result.rollup_findings = [f for f in check_report(read_report(tmp, name="rollup.xlsx"),
                                                          last_year=max(year, FIRST_YEAR), levels=[settings.level])
                                  if f.is_error]
    write_agencies_csv(outdir / AGENCIES_CSV, included, matrix)
    write_atomic(outdir / "status.csv", csv_bytes(STATUS_COLUMNS, status_rows(statuses)))
    write_atomic(outdir / "findings.csv", csv_bytes(FINDING_COLUMNS, finding_rows(statuses)))
    feedback = _write_feedback(outdir, statuses, progress)
    if with_reports:
        _write_reports(settings, year, roster, statuses, totals, feedback, result)
    write_atomic(outdir / "index.html", index_html(result, settings, feedback, roster=roster).encode("utf-8"))
    write_atomic(outdir / TOTALS_FILE, json.dumps({"fingerprint": stamp, "totals": totals}).encode())
    write_atomic(stamp_file, stamp.encode())
    result.rebuilt = True
    return result

