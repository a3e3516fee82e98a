"""The county rollup of a report year, and every output the office and reviewers read.

For a year: each agency's *current* submission is its latest accepted one
(else its latest rejected one); the county total of each of the 200 cells is
the sum over the current accepted reports of the agencies in scope (the
roster's, or every submitter's when there is no roster).  The rollup is
written in the template's own layout and checked again with the same rules.

Outputs of year Y under the outbound folder: ``Y/rollup.xlsx``,
``Y/status.csv``, ``Y/findings.csv``, ``Y/feedback/``, ``Y/reports/`` (Data
Docs) and ``Y/index.html``.  They are rebuilt only when what they depend on
changed (a fingerprint of the submissions, the roster and the settings).
"""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from nianbao.schemas.findings import Finding, findings_digest
from nianbao.schemas.catalogue import RULES_VERSION
from nianbao.schemas.form import FORM, TEMPLATE_VERSION

from nianbao.flows.store.files import atomic_path, csv_cell
from nianbao.flows.store.ledger import Submission
from nianbao.flows.store.roster import Roster, name_key
from nianbao.flows.settings import Settings

ACCEPTED, REJECTED, MISSING = "accepted", "rejected", "missing"
STATUS_LABELS = {ACCEPTED: "已通过", REJECTED: "未通过", MISSING: "未报送"}
NOT_LISTED = "（不在名单中）"
STATUS_COLUMNS = ("agency", "uscc", "status", "file", "sha256", "received_at", "errors", "warnings")
FINDING_COLUMNS = ("file", "agency", "sheet", "cell", "code", "rule", "severity", "message")
FINGERPRINT_FILE = ".fingerprint"
TOTALS_FILE = ".totals.json"  # the county totals behind the fingerprint: a run with nothing new reads them back
AGENCIES_CSV = "agencies.csv"
PER_AGENCY_SHEET_MAX = 250  # more agencies: their numbers are in agencies.csv only, not in rollup.xlsx


@dataclass
class AgencyStatus:
    agency: str
    uscc: str
    status: str
    on_roster: bool
    current: Submission | None = None
    history: list[Submission] = field(default_factory=list)
    other_years: list[int] = field(default_factory=list)  # missing, but reports of these years came (see mark_other_years)

    @property
    def in_rollup(self) -> bool:
        return self.status == ACCEPTED and self.on_roster

    @property
    def newer_rejected(self) -> Submission | None:
        """The agency's newest submission when it was rejected after the accepted one the rollup uses."""
        latest = self.history[-1] if self.history else None
        if latest is None or self.current is None or latest is self.current or latest.accepted:
            return None
        return latest

    def note(self, time_zone: str) -> str:
        """What the agency's row must also say: 最新报送未通过，汇总仍采用 11月30日 通过的版本, or 收到 2023 年度报告."""
        if self.other_years:
            return "收到 " + "、".join(str(y) for y in self.other_years) + " 年度报告（封面年度不是本年度）"
        if self.newer_rejected is None:
            return ""
        when = self.current.received_in(time_zone)
        return f"最新报送（{self.newer_rejected.file_name}）未通过，汇总仍采用 {when[5:7].lstrip('0')}月{when[8:10].lstrip('0')}日 通过的版本"

    @property
    def label(self) -> str:
        """The status as people read it: 已通过, 未通过 or 未报送, marked when the agency is not on the roster."""
        return STATUS_LABELS[self.status] + ("" if self.on_roster else NOT_LISTED)


@dataclass
class YearResult:
    year: int
    statuses: list[AgencyStatus]
    totals: dict[str, float]
    rollup_findings: list[Finding]
    outdir: Path
    rebuilt: bool
    reports_index: Path | None = None
    expectation_failures: list[str] = field(default_factory=list)
    report_pages: list[tuple[str, Path, bool]] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(1 for s in self.statuses if s.status == status and s.on_roster)


def agency_statuses(submissions: list[Submission], roster: Roster) -> list[AgencyStatus]:
    """Every roster agency (accepted, rejected or missing), then submitters not on the roster."""
    groups: dict[str, list[Submission]] = {}
    listed: dict[str, tuple[str, str, bool]] = {e.name: (e.name, e.uscc, True) for e in roster.entries}
    for sub in submissions:
        entry = roster.resolve(sub.agency, sub.uscc) or (roster.find_in(sub.file_name) if not sub.agency else None)
        if entry is not None:
            key = entry.name
        else:
            key = "unlisted:" + (name_key(sub.agency) if sub.agency else "file:" + sub.file_name)
            listed.setdefault(key, (sub.agency or f"（无法识别单位：{sub.file_name}）", sub.uscc, not roster.entries))
        groups.setdefault(key, []).append(sub)
    out = []
    for key, (name, uscc, on_roster) in listed.items():
        history = sorted(groups.get(key, []), key=lambda s: s.id)  # the ledger's sequence, not clock times
        accepted = [s for s in history if s.accepted]
        current = accepted[-1] if accepted else (history[-1] if history else None)
        status = MISSING if current is None else (ACCEPTED if current.accepted else REJECTED)
        out.append(AgencyStatus(name, uscc or (current.uscc if current else ""), status, on_roster, current, history))
    return out


def mark_other_years(statuses: list[AgencyStatus], elsewhere: list[Submission], roster: Roster, year: int) -> None:
    """For each missing agency of the roster, the other years of the reports it did send (``elsewhere``:
    submissions of any year), so that the year being collected says 收到 2023 年度报告 on its row."""
    missing = {s.agency: s for s in statuses if s.on_roster and s.status == MISSING}
    for sub in elsewhere:
        entry = roster.resolve(sub.agency, sub.uscc) if sub.agency or sub.uscc else roster.find_in(sub.file_name)
        s = missing.get(entry.name) if entry is not None else None
        if s is not None and sub.year not in (None, year) and sub.year not in s.other_years:
            s.other_years.append(sub.year)


def sum_matrix(matrix) -> dict[str, float]:
    """County totals of a numbers matrix (one row per report, one column per cell of the form)."""
    column = matrix.sum(axis=0) if len(matrix) else [0.0] * len(FORM.cells)
    return {cell.code: round(float(value), 6) if cell.kind == "decimal" else float(round(float(value)))
            for cell, value in zip(FORM.cells, column)}


def fingerprint(statuses: list[AgencyStatus], roster: Roster, settings: Settings, year: int) -> str:
    data = {
        "year": year,
        "version": TEMPLATE_VERSION,
        "rules": RULES_VERSION,
        "county": [settings.county, settings.county_uscc],
        "roster": [[e.name, e.uscc, e.level, e.outbound, e.page(year) is not None] for e in roster.entries],
        "level": settings.level,
        "agencies": [[s.agency, s.status, s.on_roster, s.other_years,
                      [[h.sha256, h.outcome, findings_digest(h.findings)] for h in s.history]] for s in statuses],
    }
    return hashlib.sha256(json.dumps(data, ensure_ascii=False, sort_keys=True).encode()).hexdigest()


def status_rows(statuses: list[AgencyStatus]) -> list[list[object]]:
    rows = []
    for s in statuses:
        if not s.on_roster:
            continue
        c = s.current
        rows.append([s.agency, s.uscc, s.status, c.file_name if c else "", c.sha256 if c else "",
                     c.received_at if c else "", c.errors if c else "", c.warnings if c else ""])
    return rows


def finding_rows(statuses: list[AgencyStatus]) -> list[list[object]]:
    """Every finding of each agency's current submission, and of a newer one that was rejected."""
    rows = []
    for s in statuses:
        for sub in (s.current, s.newer_rejected):
            if sub is not None:
                rows += _rows_of(s, sub)
    return rows


def _rows_of(s: AgencyStatus, sub: Submission) -> list[list[object]]:
    return [[sub.file_name, s.agency, f.sheet, f.cell, f.code, f.rule, f.severity, f.message] for f in sub.findings]


def per_agency_sheet(included: list[AgencyStatus], totals: dict[str, float], matrix=None):
    """The 各单位数据 sheet: code, table, label, county total, then one column per agency.

    Above :data:`PER_AGENCY_SHEET_MAX` agencies the agencies' columns are left out (a sheet
    200 rows by thousands of columns helps nobody, and Excel stops at 16,384 columns): the
    last header then points to :data:`AGENCIES_CSV`, which always holds every agency's numbers.
    """
    if matrix is None:
        matrix = _matrix_of(included)
    wide = len(included) <= PER_AGENCY_SHEET_MAX
    header = ["代码", "表", "栏目", "全县合计"]
    header += [s.agency for s in included] if wide else [f"各单位数据见 {AGENCIES_CSV}（共 {len(included)} 个单位，每个单位一行）"]
    rows = []
    columns = matrix.T.tolist() if wide else None
    for j, cell in enumerate(FORM.cells):
        label = "／".join(p for p in (cell.row.label, cell.column.label) if p)
        rows.append([cell.code, f"表{cell.table.number}", label, totals[cell.code]] + (columns[j] if wide else []))
    return ("各单位数据", header, rows)


def _matrix_of(included: list[AgencyStatus]):
    """The numbers of the included agencies' current submissions, from the submissions themselves."""
    import numpy as np

    codes = [cell.code for cell in FORM.cells]
    return np.array([[float(s.current.numbers.get(code) or 0) for code in codes] for s in included],
                    dtype="float64").reshape(len(included), len(codes))


def write_agencies_csv(path: Path, included: list[AgencyStatus], matrix) -> None:
    """``agencies.csv``: one row per agency in the rollup: 单位名称, 统一社会信用代码, then one column per cell code.

    UTF-8 with a BOM, like the other CSVs; written row by row (10,000 agencies are 2 million numbers).
    """
    codes = [cell.code for cell in FORM.cells]
    integer = [cell.kind != "decimal" for cell in FORM.cells]
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(["单位名称", "统一社会信用代码", *codes])
        for s, values in zip(included, matrix):
            writer.writerow([csv_cell(s.agency), csv_cell(s.uscc)]
                            + [int(v) if whole and v.is_integer() else v for v, whole in zip(values.tolist(), integer)])


def status_sheet(statuses: list[AgencyStatus], time_zone: str):
    header = ["单位名称", "统一社会信用代码", "状态", "是否计入汇总", "文件", "收到时间", "错误数", "警告数"]
    rows = []
    for s in statuses:
        c = s.current
        rows.append([s.agency, s.uscc, s.label, "是" if s.in_rollup else "否", c.file_name if c else "",
                     c.received_in(time_zone) if c else "", c.errors if c else "", c.warnings if c else ""])
    return ("报送情况", header, rows)


def agencies_frame(included: list[AgencyStatus], matrix=None):
    """One row per agency in the rollup: 单位名称, 统一社会信用代码 and the 200 numbers."""
    import pandas as pd

    if matrix is None:
        matrix = _matrix_of(included)
    frame = pd.DataFrame(matrix, columns=list(FORM.numeric_codes))
    frame.insert(0, "统一社会信用代码", [s.uscc for s in included])
    frame.insert(0, "单位名称", [s.agency for s in included])
    return frame


def saved_totals(outdir: Path, stamp: str) -> dict[str, float] | None:
    try:
        saved = json.loads((outdir / TOTALS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(saved, dict) or saved.get("fingerprint") != stamp or not isinstance(saved.get("totals"), dict):
        return None
    return {code: float(v) for code, v in saved["totals"].items()}
