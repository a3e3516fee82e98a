"""Checks across years: this year's report against the same agency's accepted report of last year.

* **RX.1**: for each column of 表三, this year's ``carried_in`` equals last
  year's ``carried_out`` (the requests handed over from one year to the next).
* **R2.2**: for 规章 and 行政规范性文件, ``in_force(t) ≈ in_force(t-1) +
  issued(t) − repealed(t)``; documents also lapse, so it only warns.
* **RX.2**: a cell that grows or shrinks tenfold or more against last year,
  when both years are at least a small floor (0 → 3 is no jump): a column
  mixed up, or yuan typed where 万元 belongs.

All findings are warnings and name this year's cell.  Which report is "last
year's" is the caller's business (:func:`nianbao.flows.steps.history.previous_reports`).
Pure: no file I/O.
"""

from __future__ import annotations

from .findings import Finding
from .form import FORM, Form, JUMP_FLOOR, JUMP_RATIO, REQUEST_COLUMNS, TOLERANCE
from .report import Report
from .values import coerce_year, format_number

R22_ROWS = ("rules", "normative")


def _value(report: Report, code: str) -> float | None:
    value = report.dependable_numbers.get(code)
    return None if value is None else float(value)


def _differ(a: float, b: float) -> bool:
    return abs(a - b) > TOLERANCE


def _previous_year(report: Report, previous: Report) -> int | None:
    year = coerce_year(previous.fields.get("meta.year"))
    if year is not None:
        return year
    this = coerce_year(report.fields.get("meta.year"))
    return this - 1 if this is not None else None


def cross_year_findings(report: Report, previous: Report | None, form: Form = FORM) -> list[Finding]:
    """Warnings of ``report`` against ``previous``, last year's accepted report of the same agency."""
    if previous is None or not report.readable or not previous.numbers:
        return []
    this_year = coerce_year(report.fields.get("meta.year"))
    last_year = coerce_year(previous.fields.get("meta.year"))
    if this_year is not None and last_year is not None and last_year != this_year - 1:
        return []  # not last year's report: nothing to carry over
    prev_year = _previous_year(report, previous)
    shown_year = str(prev_year) if prev_year is not None else "上一"
    out: list[Finding] = []

    # RX.1: carried in = last year's carried out, column by column
    for column in REQUEST_COLUMNS:
        code = f"requests.carried_in.{column.code}"
        value = _value(report, code)
        before = _value(previous, f"requests.carried_out.{column.code}")
        if value is None or before is None or not _differ(value, before):
            continue
        out.append(report.finding(
            "RX.1", code, label=report.label(code, form), value=format_number(value), previous_year=shown_year,
            previous=format_number(before), diff=format_number(abs(value - before)),
        ))

    # R2.2: documents in force follow from last year's
    for row in R22_ROWS:
        code = f"active.{row}.in_force"
        value = _value(report, code)
        before = _value(previous, code)
        issued = _value(report, f"active.{row}.issued")
        repealed = _value(report, f"active.{row}.repealed")
        if None in (value, before, issued, repealed):
            continue
        expected = before + issued - repealed
        if not _differ(value, expected):
            continue
        out.append(report.finding(
            "R2.2", code, label=report.label(code, form), value=format_number(value),
            expected=format_number(expected), previous_year=shown_year, previous=format_number(before),
            issued=format_number(issued), repealed=format_number(repealed), diff=format_number(abs(value - expected)),
        ))

    # RX.2: tenfold jumps
    for cell in form.cells:
        value = _value(report, cell.code)
        before = _value(previous, cell.code)
        if value is None or before is None or min(value, before) < JUMP_FLOOR:
            continue
        if max(value, before) < JUMP_RATIO * min(value, before):
            continue
        change = (f"是上年的 {_ratio(value / before)} 倍" if value > before
                  else f"只有上年的 1/{_ratio(before / value)}")
        out.append(report.finding(
            "RX.2", cell.code, label=report.label(cell.code, form), value=format_number(value),
            previous_year=shown_year, previous=format_number(before), change=change,
        ))
    return out


def _ratio(x: float) -> str:
    return f"{x:.0f}" if x >= 100 else f"{x:.1f}".rstrip("0").rstrip(".")
