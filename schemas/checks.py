"""The rules as pandera schemas, built from the form definition.

All reports of a batch are checked in one vectorised ``validate(lazy=True)``
call over a frame with one row per report: the 200 numbers (types, ranges,
warnings on single cells), one *residual* column per equation of the linear
rules (``left − right``, which must be 0), and the metadata fields.  Every
failure case is then turned into a :class:`~nianbao.schemas.findings.Finding` that
names the exact cell.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaErrors

from .catalogue import CATALOGUE
from .findings import Finding
from .form import CELL_RULES, DEFAULT_LEVEL, EXACT_VALUE, FIRST_YEAR, FORM, LARGE_VALUE, LEVELS, TOLERANCE, Form
from .layout import LAYOUT, parse_a1
from .locate import locate
from .narrative import narrative_findings
from .report import Report
from .uscc import problem as uscc_problem
from .values import coerce_text, coerce_year, format_number, is_placeholder, shown

_OPERATORS = {"==": lambda s, bound: s == bound, "<=": lambda s, bound: s <= bound}


def _year_ok(last_year: int):
    def check(value) -> bool:
        year = coerce_year(value)
        return year is not None and FIRST_YEAR <= year <= last_year

    return check


def _uscc_ok(value) -> bool:
    text = coerce_text(value)
    return not text or uscc_problem(text) is None


def _text_present(value) -> bool:
    text = coerce_text(value)
    return bool(text) and not is_placeholder(text)


@lru_cache(maxsize=16)
def report_schema(last_year: int, level: str = DEFAULT_LEVEL, form: Form = FORM) -> pa.DataFrameSchema:
    """The schema of a frame of reports of agencies of one government ``level`` (see :func:`report_frame`)."""
    columns: dict[str, pa.Column] = {}
    cell_rules: dict[str, list] = {}
    for r in CELL_RULES:
        if level in r.levels:
            for code in r.codes:
                cell_rules.setdefault(code, []).append(r)
    for cell in form.cells:
        exact, large = EXACT_VALUE[cell.kind], LARGE_VALUE[cell.kind]
        checks = [
            pa.Check(lambda s: s >= 0, name="cell.negative"),
            pa.Check(lambda s, limit=exact: s <= limit, name="cell.too_large"),
            pa.Check(lambda s, limit=large: (s <= limit) | (s > exact), name="cell.large"),
        ]
        if cell.kind == "integer":
            checks.append(pa.Check(lambda s: s % 1 == 0, name="cell.integer"))
        for r in cell_rules.get(cell.code, ()):
            checks.append(pa.Check(lambda s, op=_OPERATORS[r.op], bound=r.bound: op(s, bound), name=r.rule))
        columns[cell.code] = pa.Column(float, checks=checks, nullable=True)
    for inst in form.rule_instances:
        columns[inst.key] = pa.Column(
            float, pa.Check(lambda s: s.abs() <= TOLERANCE, name=inst.rule), nullable=True
        )
    def field(fn, rule_id):  # empty fields are the checks' business, not pandera's null check
        return pa.Column(object, pa.Check(fn, element_wise=True, ignore_na=False, name=rule_id), nullable=True)

    columns["meta.agency"] = field(_text_present, "meta.agency")
    columns["meta.year"] = field(_year_ok(last_year), "meta.year")
    columns["meta.uscc"] = field(_uscc_ok, "meta.uscc")
    for f in form.fields:
        if f.kind == "longtext" and f.required:
            columns[f.code] = field(_text_present, "text.empty")
    return pa.DataFrameSchema(columns, strict=False, coerce=False)


def numbers_frame(reports: Sequence[Report], form: Form = FORM) -> pd.DataFrame:
    """One row per report, one float column per numeric code (NaN where unreadable)."""
    data = np.array(
        [[np.nan if (v := n.get(code)) is None else v for code in form.numeric_codes]
         for n in (r.dependable_numbers for r in reports)],
        dtype=float,
    ).reshape(len(reports), len(form.numeric_codes))
    return pd.DataFrame(data, columns=list(form.numeric_codes))


def residuals_frame(numbers: pd.DataFrame, form: Form = FORM) -> pd.DataFrame:
    """``sum(left) − sum(right)`` of every rule equation; NaN where a cell is unreadable."""
    cols = {}
    for inst in form.rule_instances:
        left = numbers[list(inst.left)].sum(axis=1, min_count=len(inst.left))
        right = numbers[list(inst.right)].sum(axis=1, min_count=len(inst.right))
        cols[inst.key] = left - right
    return pd.DataFrame(cols, index=numbers.index)


def report_frame(reports: Sequence[Report], form: Form = FORM) -> pd.DataFrame:
    numbers = numbers_frame(reports, form)
    meta = pd.DataFrame(
        {f.code: pd.Series([r.fields.get(f.code) for r in reports], dtype=object) for f in form.fields},
        index=numbers.index,
    )
    return pd.concat([numbers, residuals_frame(numbers, form), meta], axis=1)


def check_reports(
    reports: Sequence[Report], *, last_year: int | None = None, levels: Sequence[str] | None = None,
    form: Form = FORM,
) -> list[list[Finding]]:
    """Check a batch of reports; returns each report's findings (its own plus the rules').

    ``levels`` gives each report's government level (省/市/县/乡; :data:`DEFAULT_LEVEL` when not given):
    the rules that depend on level follow it.
    """
    out = [list(r.findings) for r in reports]
    readable = [i for i, r in enumerate(reports) if r.readable]
    if not readable:
        return out
    last_year = last_year or dt.date.today().year
    levels = list(levels) if levels is not None else [DEFAULT_LEVEL] * len(reports)
    unknown = set(levels) - set(LEVELS)
    if unknown:
        raise ValueError(f"unknown government level {sorted(unknown)!r}")
    for level in dict.fromkeys(levels[i] for i in readable):
        group = [i for i in readable if levels[i] == level]
        _check_group([reports[i] for i in group], group, out, last_year, level, form)
    for i in readable:  # broken equations: on the cell most likely wrong, saying what to fix
        out[i] = locate(reports[i], out[i], form)
    for i in readable:  # the narrative against the tables: warnings every check gets
        out[i].extend(narrative_findings(reports[i], last_year=last_year))
    return [sorted(f, key=_order) for f in out]


def _check_group(batch, positions, out, last_year: int, level: str, form: Form) -> None:
    """The schema of ``level`` over ``batch``; each failure becomes a finding of its report at ``positions``."""
    frame = report_frame(batch, form)
    try:
        report_schema(last_year, level, form).validate(frame, lazy=True)
    except SchemaErrors as exc:
        cases = exc.failure_cases
        cases = cases[cases["index"].notna()].drop_duplicates(["column", "check", "index"])
        instances = {i.key: i for i in form.rule_instances}
        for column, check, index, value in cases[["column", "check", "index", "failure_case"]].itertuples(
            index=False
        ):
            report = batch[int(index)]
            out[positions[int(index)]].append(
                _finding(report, column, check, value, instances, frame.loc[int(index)], last_year, form)
            )


def check_report(report: Report, **kw) -> list[Finding]:
    return check_reports([report], **kw)[0]


def _finding(report, column, check, value, instances, row, last_year, form) -> Finding:
    rule_id = str(check)
    if rule_id not in CATALOGUE:  # a dtype or schema failure: a bug in the frame, not the report
        raise RuntimeError(f"unexpected schema failure {check!r} on {column!r}")
    if column in instances:
        inst = instances[column]
        lv = float(row[list(inst.left)].sum())
        rv = float(row[list(inst.right)].sum())
        return report.finding(
            rule_id,
            inst.anchor,
            scope=inst.scope,
            left_cells=report.cells_text(inst.left),
            right_cells=report.cells_text(inst.right),
            left_value=format_number(lv),
            right_value=format_number(rv),
            diff=format_number(abs(lv - rv)),
            key=inst.key,
            hint="",  # filled in by locate(): what to fix
        )
    label = report.label(column, form)
    if rule_id == "meta.year":
        return report.finding(
            rule_id, column, shown=shown(value) if value not in (None, "") else "空白", first=FIRST_YEAR, last=last_year
        )
    if rule_id == "meta.uscc":
        text = coerce_text(value)
        return report.finding(rule_id, column, value=text, reason=uscc_problem(text))
    if rule_id == "text.empty":
        return report.finding(rule_id, column, label=form.field_by_code[column].label)
    if rule_id == "meta.agency":
        return report.finding(rule_id, column)
    if rule_id in ("cell.too_large", "cell.large"):
        limit = (EXACT_VALUE if rule_id == "cell.too_large" else LARGE_VALUE)[form.cell_by_code[column].kind]
        return report.finding(rule_id, column, label=label, value=format_number(float(value)), limit=f"{limit:,}")
    return report.finding(rule_id, column, label=label, value=format_number(float(value)))


_SHEET_ORDER = {s.name: i for i, s in enumerate(LAYOUT.sheets)}


def _order(f: Finding):
    try:
        row, col = parse_a1(f.cell) if f.cell else (0, 0)
    except ValueError:
        row, col = 0, 0
    return (_SHEET_ORDER.get(f.sheet, -1), row, col, f.rule)
