"""The year's validation report: Great Expectations suites, a Chinese review report, offline Data Docs.

:func:`write_validation_reports` looks at a report year as a whole (what each
suite checks and why is data: :mod:`nianbao.schemas.expectations`):

* **各单位数据** — every current submission that could be read, *accepted or
  rejected*: the form's columns, one row per agency, no negative number, every
  balance/total rule (勾稽关系).  Rejected reports are counted, so a reviewer sees
  how many agencies break each rule (the per-report gate already told each agency).
* **合理性** — what no single report shows (warnings): an agency far outside the
  range of the agencies of its level, tenfold jumps against its own last year
  (RX.2), a share of requests granted or withheld far from the county's.
* **全县汇总** — the rollup row: the same rules, and its change against last
  year's county totals.

Completeness is progress (报送进度 37/41 and who is missing), not a failed check.

Outputs in ``out_dir`` (``outbound/Y/reports/``): ``校验报告.html``, the review
report in Chinese rendered by ``templates/review_report.html.j2`` from GX's
validation results (each expectation's title and meaning, passed or not, counts,
the agencies concerned linked to their feedback workbooks); and GX's own Data Docs
(``index.html``, ``validations/``, ``expectations/``) as its technical appendix.
GX's pages load Bootstrap, jQuery, bootstrap-table and Font Awesome from CDNs:
:func:`make_offline` copies the vendored files (``assets/gx/``, see its README)
into ``static/vendor/`` and points every page at them, so the site works from disk
with no network.

Design, measured: GX pays a fixed cost per expectation (≈10 ms), whatever the data
size, so the frames are *long* (one row per agency and cell, or per agency and
rule equation) with one expectation per check and rule id (``row_condition``);
``unexpected_index_column_names`` names the agency of every failing row.  A GX
batch is one dataframe, so each logical suite is several GX suites ("parts"), one
per frame, each run by its own checkpoint.

``great_expectations`` is imported inside :func:`write_validation_reports` only:
the import alone takes several seconds.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import math
import os
import re
import shutil
import warnings
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from nianbao.flows.outputs.html import render
from nianbao.schemas.catalogue import ERROR, RULES_VERSION, WARNING
from nianbao.schemas.checks import residuals_frame
from nianbao.schemas.expectations import (
    ALL_PEERS,
    CHANGE_DOWN,
    CHANGE_UP,
    COUNTY_JUMP_FLOOR,
    COUNTY_JUMP_RATIO,
    COUNTY_LAST_YEAR_SKIPPED,
    HANDLED_CODE,
    LEVEL_PEERS,
    OUTLIER_CELLS,
    OUTLIER_FENCE,
    OUTLIER_MIN_PEERS,
    OUTLIER_SPREAD_FLOOR,
    PART_LAST_YEAR,
    PART_NOTES,
    PART_PEERS,
    PART_RULES,
    PART_SHARES,
    PART_TABLE,
    PART_VALUES,
    PROGRESS_MEANING,
    PROGRESS_TITLE,
    SHARE_GAP,
    SHARE_MIN_REQUESTS,
    SHARES,
    SKIPPED,
    SUITE_AGENCIES,
    SUITE_BY_KEY,
    SUITE_PLAUSIBILITY,
    SUITE_ROLLUP,
    SUITES,
    WHO,
    expectation,
    jump_ratio,
)
from nianbao.schemas.form import FORM, JUMP_FLOOR, JUMP_RATIO, TOLERANCE, Form
from nianbao.schemas.values import format_number

__all__ = ["SUITE_AGENCIES", "SUITE_PLAUSIBILITY", "SUITE_ROLLUP", "make_offline", "write_validation_reports"]

# Column names of the frames (what the Data Docs show)
NAME = "单位名称"
USCC = "统一社会信用代码"
STATUS = "状态"
LEVEL = "层级"
CODE = "代码"
LABEL = "栏目"
VALUE = "数值"
RULE = "规则"
SCOPE = "范围"
DIFF = "差额"
PEERS = "比较对象"
LOW = "通常下限"
HIGH = "通常上限"
DEVIATION = "偏离程度"
THIS = "本年"
LAST = "上年"
RATIO = "变化倍数"
RESULT = "办理结果"
HANDLED = "办理总数"
COUNT = "件数"
SHARE = "比例"
COUNTY_SHARE = "全县比例"
GAP = "偏差"

ACCEPTED_LABEL, REJECTED_LABEL = "已通过", "未通过"
ROLLUP_NAME = "全县汇总"
"""The 单位名称 of the rollup's single row."""

REVIEW_NAME = "校验报告.html"
REVIEW_TEMPLATE = "review_report.html.j2"
SITE_NAME = "nianbao_reports"
DATASOURCE = "nianbao"
DIFF_DECIMALS = round(-math.log10(TOLERANCE))  # residuals are rounded to the rules' tolerance
SHOWN = 5  # agencies named in a short failure line; the rest are counted
DETAILS_SHOWN = 6  # failing rows shown per agency in the review report; the rest are counted
GX_LOGGER = "great_expectations"
_GX_SEVERITY = {ERROR: "critical", WARNING: "warning"}


# --------------------------------------------------------------------------
# What the caller gets back
# --------------------------------------------------------------------------


@dataclass
class ExpectationReport:
    """One logical suite, summed up over its parts (what the office page lists)."""

    suite: str  # 各单位数据, 合理性 or 全县汇总
    success: bool  # no expectation of severity ERROR failed
    evaluated: int  # expectations run
    failed: int  # expectations not met (errors and warnings)
    failures: list[str] = field(default_factory=list)  # one short Chinese line per expectation not met
    warned: int = 0  # of ``failed``, warnings

    @property
    def title(self) -> str:
        return SUITE_BY_KEY[self.suite].title


@dataclass
class AgencyHit:
    """An agency (or the rollup) that an expectation found wanting, with what it found."""

    name: str
    status: str  # 已通过 / 未通过 ('' for the rollup)
    details: list[str]
    feedback: Path | None = None


@dataclass
class Outcome:
    """One expectation of one part, as the review report shows it."""

    suite: str
    part: str  # the GX suite name, e.g. 各单位数据·勾稽关系
    key: str
    title: str
    meaning: str
    severity: str
    status: str  # passed, failed, skipped, error
    checked: int  # agencies checked (rows of the rollup for 全县汇总)
    hits: list[AgencyHit] = field(default_factory=list)
    note: str = ""
    page: Path | None = None  # the part's GX validation page

    @property
    def rejected(self) -> int:
        """Agencies among the hits whose current report was rejected by the gate."""
        return sum(1 for h in self.hits if h.status == REJECTED_LABEL)


@dataclass
class Progress:
    """报送进度 of the roster's agencies: shown, not checked."""

    listed: int
    accepted: int
    rejected: int
    missing: list[str]
    unreadable: list[str] = field(default_factory=list)  # reported, but no number could be read
    unlisted: int = 0  # submitters not on the roster (not counted here)

    @property
    def reported(self) -> int:
        return self.accepted + self.rejected

    @property
    def percent(self) -> float:
        return 100.0 * self.reported / self.listed if self.listed else 100.0


@dataclass
class ValidationReports:
    index_html: Path  # the Data Docs index.html inside out_dir (the technical appendix)
    reports: list[ExpectationReport]
    pages: list[tuple[str, Path, bool]] = field(default_factory=list)
    """(GX suite name, its validation page, success) of every part run."""
    review_html: Path | None = None  # 校验报告.html, the report reviewers read
    outcomes: list[Outcome] = field(default_factory=list)
    progress: Progress | None = None


def progress_of(statuses: Sequence[Any]) -> Progress:
    """:class:`Progress` from the year's agency statuses (``nianbao.flows.outputs.rollup.AgencyStatus``)."""
    listed = [s for s in statuses if s.on_roster]
    return Progress(
        listed=len(listed),
        accepted=sum(1 for s in listed if s.status == "accepted"),
        rejected=sum(1 for s in listed if s.status == "rejected"),
        missing=[s.agency for s in listed if s.status == "missing"],
        unreadable=[s.agency for s in listed if s.current is not None and s.current.numbers is None],
        unlisted=sum(1 for s in statuses if not s.on_roster and s.current is not None),
    )


# --------------------------------------------------------------------------
# Frames
# --------------------------------------------------------------------------


def agency_columns(form: Form = FORM) -> list[str]:
    """The exact columns of the per-agency table as validated."""
    return [NAME, USCC, STATUS, *form.numeric_codes]


def cell_labels(form: Form = FORM) -> dict[str, str]:
    """code → what a reviewer reads, e.g. ``表三“一、本年新收政府信息公开申请数量／自然人”``.

    The row and column leaf labels, or the whole label path where the leaves
    repeat within a table (表四's 总计 appears under three groups).
    """
    short = {c.code: (c.table.number, c.description) for c in form.cells}
    seen = Counter(short.values())
    out = {}
    for c in form.cells:
        text = c.description if seen[short[c.code]] == 1 else "“" + "／".join(p for p in c.labels if p) + "”"
        out[c.code] = f"表{c.table.number}{text}"
    return out


def wide_frame(agencies: pd.DataFrame, form: Form = FORM) -> pd.DataFrame:
    """The per-agency table as given, sorted by name, numbers as plain float64, 状态 and 层级 filled.

    Nullable ``Int64``/``Float64`` become ``float64`` (GX misreads pandas' nullable dtypes);
    a frame without 状态 holds accepted reports.
    """
    codes = [c for c in form.numeric_codes if c in agencies.columns]
    numbers = pd.DataFrame({c: pd.to_numeric(agencies[c], errors="coerce").astype("float64") for c in codes},
                           index=agencies.index)
    status = agencies[STATUS] if STATUS in agencies.columns else pd.Series(ACCEPTED_LABEL, index=agencies.index)
    level = agencies[LEVEL] if LEVEL in agencies.columns else pd.Series("县", index=agencies.index)
    extra = pd.DataFrame({STATUS: status.astype(object).fillna(ACCEPTED_LABEL).astype(str),
                          LEVEL: level.astype(object).fillna("县").astype(str)}, index=agencies.index)
    first = [c for c in (NAME, USCC) if c in agencies.columns]
    rest = [c for c in agencies.columns if c not in {*first, *codes, STATUS, LEVEL}]
    frame = pd.concat([agencies[first], extra[[STATUS]], numbers, agencies[rest], extra[[LEVEL]]], axis=1)
    if NAME in frame.columns:
        keys = [NAME] + ([USCC] if USCC in frame.columns else [])
        frame = frame.sort_values(keys, kind="stable")
    return frame.reset_index(drop=True)


def _numbers(frame: pd.DataFrame, form: Form) -> pd.DataFrame:
    return frame.reindex(columns=list(form.numeric_codes)).astype("float64")


def _names(frame: pd.DataFrame) -> np.ndarray:
    if NAME not in frame.columns:
        return np.array([f"第{i + 1}行" for i in range(len(frame))], dtype=object)
    return frame[NAME].astype(object).where(frame[NAME].notna(), "（无名称）").astype(str).to_numpy(dtype=object)


def _repeat(items: Sequence[str], times: int) -> pd.Categorical:
    """Each item ``times`` times in a row, as a categorical (cheap at 10,000 × 200 rows)."""
    categories = pd.unique(np.asarray(items, dtype=object))
    codes = pd.Index(categories).get_indexer(np.asarray(items, dtype=object))
    return pd.Categorical.from_codes(np.repeat(codes, times), categories=categories)


def _tile(items: Sequence[str], times: int) -> pd.Categorical:
    """The whole sequence ``times`` times over, as a categorical."""
    categories = pd.unique(np.asarray(items, dtype=object))
    codes = pd.Index(categories).get_indexer(np.asarray(items, dtype=object))
    return pd.Categorical.from_codes(np.tile(codes, times), categories=categories)


def _with_status(frame: pd.DataFrame, statuses: np.ndarray | None, times: int) -> pd.DataFrame:
    if statuses is not None:
        frame.insert(1, STATUS, _repeat(list(statuses), times) if len(statuses) else pd.Categorical([]))
    return frame


def values_frame(names: np.ndarray, numbers: pd.DataFrame, form: Form = FORM,
                 statuses: np.ndarray | None = None) -> pd.DataFrame:
    """One row per (agency, cell): 单位名称, [状态], 代码, 栏目, 数值."""
    codes = list(form.numeric_codes)
    label_of = cell_labels(form)
    labels = [label_of[c] for c in codes]
    n, m = len(names), len(codes)
    frame = pd.DataFrame(
        {
            NAME: _repeat(names, m),
            CODE: _tile(codes, n),
            LABEL: _tile(labels, n),
            VALUE: numbers[codes].to_numpy(dtype="float64").reshape(-1),
        }
    )
    return _with_status(frame, statuses, m)


def rules_frame(names: np.ndarray, numbers: pd.DataFrame, form: Form = FORM,
                statuses: np.ndarray | None = None) -> pd.DataFrame:
    """One row per (agency, rule equation): 单位名称, [状态], 规则, 范围, 差额 (left − right, 0 when balanced)."""
    instances = form.rule_instances
    residuals = residuals_frame(numbers, form)[[i.key for i in instances]]
    n, m = len(names), len(instances)
    frame = pd.DataFrame(
        {
            NAME: _repeat(names, m),
            RULE: _tile([i.rule for i in instances], n),
            SCOPE: _tile([_scope_text(i, form) for i in instances], n),
            DIFF: residuals.to_numpy(dtype="float64").reshape(-1).round(DIFF_DECIMALS) + 0.0,
        }
    )
    return _with_status(frame, statuses, m)


def _scope_text(inst, form: Form) -> str:
    rule = next(r for r in form.linear_rules if r.id == inst.rule)
    table = form.table(rule.table)
    axis = {"columns": "列", "rows": "行", "groups": ""}[rule.over]
    return f"表{table.number}“{inst.scope}”{axis}"


def _typical(value: float) -> str:
    """A quartile on the log scale, back in the cell's units, as people read it."""
    return format_number(round(max(10 ** value - 1, 0.0), 1))


def peers_frame(wide: pd.DataFrame, form: Form = FORM) -> pd.DataFrame:
    """One row per (agency, headline cell): how far its value lies outside the range of its peers.

    Peers are the agencies of the same level (层级), or every agency when a level has fewer than
    :data:`OUTLIER_MIN_PEERS`.  On log10(1 + value): 偏离程度 is 0 inside [Q1, Q3], else the distance
    to the nearer quartile in interquartile ranges (at least :data:`OUTLIER_SPREAD_FLOOR`).
    """
    columns = [NAME, STATUS, CODE, LABEL, VALUE, PEERS, LOW, HIGH, DEVIATION]
    if len(wide) < OUTLIER_MIN_PEERS:
        return pd.DataFrame(columns=columns)
    label_of = cell_labels(form)
    cells = [c for c in OUTLIER_CELLS if c in wide.columns]
    values = wide[cells].astype("float64")
    logs = np.log10(1 + values.clip(lower=0))
    levels = wide[LEVEL]
    counts = levels.value_counts()
    out = []
    for level, group in wide.groupby(LEVEL, sort=False):
        own = counts[level] >= OUTLIER_MIN_PEERS
        peers = logs[levels == level] if own else logs
        who = LEVEL_PEERS.format(level=level, count=len(peers)) if own else ALL_PEERS.format(count=len(peers))
        q1, q3 = peers.quantile(0.25), peers.quantile(0.75)
        spread = (q3 - q1).clip(lower=OUTLIER_SPREAD_FLOOR)
        mine = logs.loc[group.index]
        above = ((mine - q3) / spread).clip(lower=0)
        below = ((mine - q1) / spread).clip(upper=0)
        deviation = (above + below).round(2)
        for code in cells:
            out.append(pd.DataFrame({
                NAME: group[NAME].astype(str).to_numpy(), STATUS: group[STATUS].to_numpy(),
                CODE: code, LABEL: label_of[code], VALUE: values.loc[group.index, code].to_numpy(),
                PEERS: who, LOW: _typical(q1[code]), HIGH: _typical(q3[code]),
                DEVIATION: deviation[code].to_numpy(dtype="float64"),
            }))
    return pd.concat(out, ignore_index=True)[columns] if out else pd.DataFrame(columns=columns)


def last_year_frame(wide: pd.DataFrame, previous: Mapping[str, Mapping[str, float]], form: Form = FORM) -> pd.DataFrame:
    """One row per (agency, cell) both of whose years reach the jump floor: 本年, 上年, 变化倍数 (larger ÷ smaller)."""
    columns = [NAME, STATUS, CODE, LABEL, THIS, LAST, RATIO]
    names = wide[NAME].astype(str) if NAME in wide.columns else pd.Series(dtype=object)
    rows = [i for i, name in enumerate(names) if previous.get(name)]
    codes = [c for c in form.numeric_codes if c in wide.columns]
    if not rows or not codes:
        return pd.DataFrame(columns=columns)
    this = wide.iloc[rows][codes].to_numpy(dtype="float64")
    last = pd.DataFrame([previous[names.iloc[i]] for i in rows]).reindex(columns=codes).to_numpy(dtype="float64")
    low, high = np.fmin(this, last), np.fmax(this, last)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = high / low
    compared = np.isfinite(this) & np.isfinite(last) & (low >= JUMP_FLOOR)
    r, c = np.nonzero(compared)
    label_of = cell_labels(form)
    return pd.DataFrame({
        NAME: wide[NAME].iloc[rows].to_numpy(dtype=object)[r],
        STATUS: wide[STATUS].iloc[rows].to_numpy(dtype=object)[r],
        CODE: np.asarray(codes, dtype=object)[c],
        LABEL: np.asarray([label_of[code] for code in codes], dtype=object)[c],
        THIS: this[r, c], LAST: last[r, c], RATIO: ratio[r, c].round(2),
    }, columns=columns)


def shares_frame(wide: pd.DataFrame, rollup: Mapping[str, float]) -> pd.DataFrame:
    """One row per (agency, result) for agencies that handled enough requests: 比例, 全县比例, 偏差."""
    columns = [NAME, STATUS, RESULT, HANDLED, COUNT, SHARE, COUNTY_SHARE, GAP]
    county_handled = float(rollup.get(HANDLED_CODE) or 0)
    if county_handled <= 0 or HANDLED_CODE not in wide.columns:
        return pd.DataFrame(columns=columns)
    chosen = wide[wide[HANDLED_CODE].astype("float64") >= SHARE_MIN_REQUESTS]
    handled = chosen[HANDLED_CODE].astype("float64").to_numpy()
    parts = []
    for label, codes in SHARES.values():
        county = sum(float(rollup.get(c) or 0) for c in codes) / county_handled
        count = chosen.reindex(columns=list(codes)).astype("float64").sum(axis=1, min_count=1).to_numpy()
        share = count / handled
        parts.append(pd.DataFrame({
            NAME: chosen[NAME].to_numpy(dtype=object), STATUS: chosen[STATUS].to_numpy(dtype=object), RESULT: label,
            HANDLED: handled, COUNT: count, SHARE: share.round(4), COUNTY_SHARE: round(county, 4),
            GAP: (share - county).round(4),
        }, columns=columns))
    return pd.concat(parts, ignore_index=True) if len(chosen) else pd.DataFrame(columns=columns)


def county_frame(rollup: Mapping[str, float], last_totals: Mapping[str, float], form: Form = FORM) -> pd.DataFrame:
    """One row per cell of the county total whose two years reach the floor: 本年, 上年, 变化倍数."""
    label_of = cell_labels(form)
    rows = []
    for code in form.numeric_codes:
        this, last = rollup.get(code), last_totals.get(code)
        if this is None or last is None:
            continue
        ratio = jump_ratio(float(this), float(last), COUNTY_JUMP_FLOOR)
        if ratio is not None:
            rows.append({NAME: ROLLUP_NAME, CODE: code, LABEL: label_of[code], THIS: float(this), LAST: float(last),
                         RATIO: round(ratio, 2)})
    return pd.DataFrame(rows, columns=[NAME, CODE, LABEL, THIS, LAST, RATIO])


# --------------------------------------------------------------------------
# Expectations, derived from the form and schemas.expectations
# --------------------------------------------------------------------------


@dataclass
class _Check:
    key: str  # schemas.expectations key
    gx: Any  # the GX expectation
    condition: tuple[str, str] | None = None  # (column, value): the rows it applies to


@dataclass
class _Part:
    """One GX suite over one frame, run by its own checkpoint."""

    suite: str  # the logical suite (ExpectationReport.suite)
    part: str  # 表格, 勾稽关系 …
    frame: pd.DataFrame
    checks: list[_Check]
    index_columns: tuple[str, ...]  # what names a failing row
    notes: str  # shown on the suite's Data Docs page
    skipped: str = ""  # why the part is not run ('' when it is)

    @property
    def name(self) -> str:
        """The GX suite / asset / checkpoint name."""
        return f"{self.suite}·{self.part}"

    @property
    def expectations(self) -> list[Any]:
        return [c.gx for c in self.checks]

    @property
    def result_format(self) -> dict:
        # GX 1.24 ignores an expectation's own ``result_format`` under a checkpoint:
        # the checkpoint's applies to every expectation of the run.
        columns = [c for c in self.index_columns if c in self.frame.columns]
        return {"result_format": "COMPLETE", "unexpected_index_column_names": columns}


def _esc(text: str) -> str:
    """GX renders a description as a string template: ``$`` starts a parameter."""
    return text.replace("$", "$$")


def _describe(key: str, extra: str = "") -> dict:
    text = expectation(key)
    return {"description": _esc(f"{text.title}：{text.meaning}{extra}"), "meta": {"nianbao": key},
            "severity": _GX_SEVERITY[text.severity]}


def _value_checks(gxe, form: Form) -> list[_Check]:
    count = f"（{len(form.numeric_codes)} 个数字栏目）"
    return [
        _Check("cell.empty", gxe.ExpectColumnValuesToNotBeNull(column=VALUE, **_describe("cell.empty", count))),
        _Check("cell.negative", gxe.ExpectColumnValuesToBeBetween(column=VALUE, min_value=0,
                                                                  **_describe("cell.negative", count))),
    ]


def _rule_checks(gxe, form: Form) -> list[_Check]:
    from great_expectations.expectations.row_conditions import Column

    out = []
    for rule in form.linear_rules:
        count = sum(1 for i in form.rule_instances if i.rule == rule.id)
        extra = f"（共 {count} 个等式，差额＝左边－右边，应为 0）"
        out.append(_Check(rule.id, gxe.ExpectColumnValuesToBeBetween(
            column=DIFF, min_value=0, max_value=0, row_condition=Column(RULE) == rule.id,
            **_describe(rule.id, extra)), (RULE, rule.id)))
    return out


def _table_checks(gxe, form: Form) -> list[_Check]:
    return [
        _Check("columns", gxe.ExpectTableColumnsToMatchSet(column_set=agency_columns(form), exact_match=True,
                                                           **_describe("columns"))),
        _Check("unique", gxe.ExpectColumnValuesToBeUnique(column=NAME, **_describe("unique"))),
    ]


def _plausibility_checks(gxe, part: str) -> list[_Check]:
    from great_expectations.expectations.row_conditions import Column

    if part == PART_PEERS:
        return [_Check("outlier", gxe.ExpectColumnValuesToBeBetween(
            column=DEVIATION, min_value=-OUTLIER_FENCE, max_value=OUTLIER_FENCE, **_describe("outlier")))]
    if part == PART_LAST_YEAR:
        return [_Check("jump", gxe.ExpectColumnValuesToBeBetween(
            column=RATIO, max_value=JUMP_RATIO, strict_max=True, **_describe("jump")))]
    return [
        _Check(key, gxe.ExpectColumnValuesToBeBetween(
            column=GAP, min_value=-SHARE_GAP, max_value=SHARE_GAP, row_condition=Column(RESULT) == label,
            **_describe(key)), (RESULT, label))
        for key, (label, _) in SHARES.items()
    ]


def _county_checks(gxe) -> list[_Check]:
    return [_Check("county.jump", gxe.ExpectColumnValuesToBeBetween(
        column=RATIO, max_value=COUNTY_JUMP_RATIO, strict_max=True, **_describe("county.jump")))]


_INDEX = {
    PART_TABLE: (NAME,),
    PART_VALUES: (NAME, STATUS, CODE, LABEL),
    PART_RULES: (NAME, STATUS, RULE, SCOPE),
    PART_PEERS: (NAME, STATUS, LABEL, VALUE, PEERS, LOW, HIGH),
    PART_LAST_YEAR: (NAME, STATUS, LABEL, THIS, LAST),
    PART_SHARES: (NAME, STATUS, RESULT, HANDLED, COUNT, SHARE, COUNTY_SHARE),
}


def build_parts(
    *,
    year: int,
    agencies: pd.DataFrame,
    rollup: Mapping[str, float],
    gxe,
    previous: Mapping[str, Mapping[str, float]] | None = None,
    last_totals: Mapping[str, float] | None = None,
    form: Form = FORM,
) -> list[_Part]:
    """The frames and expectations of the three suites (``gxe`` is ``great_expectations.expectations``)."""
    wide = wide_frame(agencies, form)
    names = _names(wide)
    statuses = wide[STATUS].to_numpy(dtype=object)
    numbers = _numbers(wide, form)
    table = wide.drop(columns=[LEVEL])
    total = pd.DataFrame([{code: rollup.get(code, np.nan) for code in form.numeric_codes}], dtype="float64")
    total_names = np.array([ROLLUP_NAME], dtype=object)

    def part(suite: str, name: str, frame: pd.DataFrame, checks: list[_Check], skipped: str = "") -> _Part:
        notes = PART_NOTES[name].format(year=year, who=WHO[suite], cells=len(form.numeric_codes))
        return _Part(suite, name, frame, checks, _INDEX[name], notes, skipped if frame.empty else "")

    peers = peers_frame(wide, form)
    jumps = last_year_frame(wide, previous or {}, form)
    shares = shares_frame(wide, rollup)
    county = county_frame(rollup, last_totals or {}, form)
    return [
        part(SUITE_AGENCIES, PART_TABLE, table, _table_checks(gxe, form)),
        part(SUITE_AGENCIES, PART_VALUES, values_frame(names, numbers, form, statuses), _value_checks(gxe, form)),
        part(SUITE_AGENCIES, PART_RULES, rules_frame(names, numbers, form, statuses), _rule_checks(gxe, form)),
        part(SUITE_PLAUSIBILITY, PART_PEERS, peers, _plausibility_checks(gxe, PART_PEERS), SKIPPED[PART_PEERS]),
        part(SUITE_PLAUSIBILITY, PART_LAST_YEAR, jumps, _plausibility_checks(gxe, PART_LAST_YEAR),
             SKIPPED[PART_LAST_YEAR]),
        part(SUITE_PLAUSIBILITY, PART_SHARES, shares, _plausibility_checks(gxe, PART_SHARES), SKIPPED[PART_SHARES]),
        part(SUITE_ROLLUP, PART_VALUES, values_frame(total_names, total, form), _value_checks(gxe, form)),
        part(SUITE_ROLLUP, PART_RULES, rules_frame(total_names, total, form), _rule_checks(gxe, form)),
        part(SUITE_ROLLUP, PART_LAST_YEAR, county, _county_checks(gxe), COUNTY_LAST_YEAR_SKIPPED),
    ]


# --------------------------------------------------------------------------
# From GX's results to what people read
# --------------------------------------------------------------------------


def _number(value) -> str:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    return format_number(v)


def _percent(value) -> str:
    try:
        return f"{float(value) * 100:.0f}%"
    except (TypeError, ValueError):
        return str(value)


def _ratio(x: float) -> str:
    return f"{x:.0f}" if x >= 100 else f"{x:.1f}".rstrip("0").rstrip(".")


def _change(this, last) -> str:
    try:
        this, last = float(this), float(last)
    except (TypeError, ValueError):
        return ""
    if this <= 0 or last <= 0:
        return ""
    return CHANGE_UP.format(ratio=_ratio(this / last)) if this >= last else CHANGE_DOWN.format(ratio=_ratio(last / this))


class _Fields(dict):
    def __missing__(self, key):  # a template names a field this row lacks: show nothing rather than fail
        return ""


def _row_fields(row: Mapping) -> _Fields:
    return _Fields(
        label=row.get(LABEL, ""), value=_number(row.get(VALUE)), scope=row.get(SCOPE, ""), diff=_number(row.get(DIFF)),
        peers=row.get(PEERS, ""), low=row.get(LOW, ""), high=row.get(HIGH, ""),
        this=_number(row.get(THIS)), last=_number(row.get(LAST)), change=_change(row.get(THIS), row.get(LAST)),
        handled=_number(row.get(HANDLED)), count=_number(row.get(COUNT)), share=_percent(row.get(SHARE)),
        county_share=_percent(row.get(COUNTY_SHARE)),
    )


def _unexpected(result: dict) -> list[dict]:
    rows = result.get("unexpected_index_list") or []
    return [r for r in rows if isinstance(r, dict)]


def _columns_detail(result: dict) -> str:
    mismatch = (result.get("details") or {}).get("mismatched") or {}
    parts = []
    if mismatch.get("missing"):
        parts.append("缺少列 " + _listing([str(c) for c in mismatch["missing"]], "列"))
    if mismatch.get("unexpected"):
        parts.append("多出列 " + _listing([str(c) for c in mismatch["unexpected"]], "列"))
    return "表格列与年报格式不符：" + ("；".join(parts) or "列不一致")


def _listing(items: Sequence[str], unit: str = "处") -> str:
    shown = "、".join(items[:SHOWN])
    return shown if len(items) <= SHOWN else f"{shown}等，共 {len(items)} {unit}"


def _hits(key: str, result: dict, feedback: Mapping[str, Path]) -> list[AgencyHit]:
    """The failing rows of an expectation, grouped by agency in the order GX gave them."""
    template = expectation(key).detail
    grouped: dict[str, AgencyHit] = {}
    for row in _unexpected(result):
        name = str(row.get(NAME, ""))
        hit = grouped.get(name)
        if hit is None:
            status = str(row.get(STATUS, "")) if row.get(STATUS) is not None else ""
            hit = grouped[name] = AgencyHit(name, status if name != ROLLUP_NAME else "", [], feedback.get(name))
        hit.details.append(template.format_map(_row_fields(row)))
    if key == "unique":
        for hit in grouped.values():
            hit.details = [f"{expectation(key).detail} {len(hit.details)} 次"]
    return list(grouped.values())


def _raised(info: dict | None) -> str | None:
    """The first line of the error that stopped an expectation, or None.

    ``exception_info`` is either one ``{"raised_exception": …}`` dict or a
    dict of them keyed by metric.
    """
    if not info:
        return None
    entries = [info] if "raised_exception" in info else [v for v in info.values() if isinstance(v, dict)]
    for entry in entries:
        if entry.get("raised_exception"):
            message = str(entry.get("exception_message") or "").strip()
            return message.splitlines()[0] if message else "未知错误"
    return None


def _checked(part: _Part, check: _Check) -> int:
    frame = part.frame
    if check.condition is not None and check.condition[0] in frame.columns:
        frame = frame[frame[check.condition[0]].astype(str) == check.condition[1]]
    if part.suite == SUITE_ROLLUP:
        return len(frame)
    return int(frame[NAME].nunique()) if NAME in frame.columns else len(frame)


def _outcome(part: _Part, check: _Check, evr, feedback: Mapping[str, Path], page: Path | None) -> Outcome:
    text = expectation(check.key)
    outcome = Outcome(part.suite, part.name, check.key, text.title, text.meaning, text.severity, "passed",
                      _checked(part, check), page=page)
    error = _raised(evr.exception_info)
    if error is not None:
        outcome.status, outcome.note = "error", f"未能检查：{error}"
    elif not evr.success:
        outcome.status = "failed"
        result = evr.result or {}
        if check.key == "columns":
            outcome.note = _columns_detail(result)
        else:
            outcome.hits = _hits(check.key, result, feedback)
    return outcome


def _skipped(part: _Part, check: _Check) -> Outcome:
    text = expectation(check.key)
    return Outcome(part.suite, part.name, check.key, text.title, text.meaning, text.severity, "skipped", 0,
                   note=part.skipped)


def _failure_line(o: Outcome) -> str:
    """One short line for the office page."""
    mark = "【提示】" if o.severity == WARNING else "【未满足】"
    if o.status == "error":
        return f"{mark}{o.title}：{o.note}"
    if not o.hits:
        return f"{mark}{o.title}——{o.note}"
    if o.suite == SUITE_ROLLUP:
        return f"{mark}{o.title}——" + _listing([d for h in o.hits for d in h.details])
    rejected = f"（其中 {o.rejected} 个的报告未通过）" if o.rejected else ""
    return f"{mark}{o.title}——{len(o.hits)} 个单位不满足{rejected}：{_listing([h.name for h in o.hits], '个单位')}"


def summarise(outcomes: Sequence[Outcome]) -> list[ExpectationReport]:
    """One :class:`ExpectationReport` per suite, in the order of :data:`SUITES`."""
    out = []
    for suite in SUITES:
        mine = [o for o in outcomes if o.suite == suite.key and o.status != "skipped"]
        bad = [o for o in mine if o.status in ("failed", "error")]
        out.append(ExpectationReport(
            suite=suite.key,
            success=not any(o.severity == ERROR for o in bad),
            evaluated=len(mine),
            failed=len(bad),
            failures=[_failure_line(o) for o in bad],
            warned=sum(1 for o in bad if o.severity == WARNING),
        ))
    return out


# --------------------------------------------------------------------------
# The review report (校验报告.html)
# --------------------------------------------------------------------------


def _href(target: Path, base: Path) -> str:
    return os.path.relpath(target, base).replace(os.sep, "/")


def render_review(*, county: str, year: int, outcomes: Sequence[Outcome], progress: Progress, out_dir: Path,
                  pages: Sequence[tuple[str, Path, bool]], run_time: dt.datetime, gx_version: str,
                  examined: pd.DataFrame) -> str:
    """The review report's HTML (``templates/review_report.html.j2``); links are relative to ``out_dir``.

    ``examined`` is the per-agency table as validated (its rows and their 状态).
    """
    return render(REVIEW_TEMPLATE, **_review_context(
        county=county, year=year, outcomes=outcomes, progress=progress, out_dir=out_dir, pages=pages,
        run_time=run_time, gx_version=gx_version, examined=examined))


def _review_context(*, county: str, year: int, outcomes: Sequence[Outcome], progress: Progress, out_dir: Path,
                    pages: Sequence[tuple[str, Path, bool]], run_time: dt.datetime, gx_version: str,
                    examined: pd.DataFrame) -> dict:
    suites = []
    for suite in SUITES:
        items = []
        for o in (o for o in outcomes if o.suite == suite.key):
            hits = [{
                "name": h.name,
                "status": h.status,
                "href": _href(h.feedback, out_dir) if h.feedback else "",
                "details": h.details[:DETAILS_SHOWN],
                "more": max(len(h.details) - DETAILS_SHOWN, 0),
            } for h in o.hits]
            items.append({
                "key": o.key, "title": o.title, "meaning": o.meaning, "status": o.status,
                "severity": o.severity, "checked": o.checked, "count": len(o.hits), "rejected": o.rejected,
                "rollup": o.suite == SUITE_ROLLUP, "note": o.note, "hits": hits,
                "page": _href(o.page, out_dir) if o.page else "",
            })
        failed = sum(1 for i in items if i["status"] in ("failed", "error") and i["severity"] == ERROR)
        warned = sum(1 for i in items if i["status"] in ("failed", "error") and i["severity"] == WARNING)
        suites.append({"key": suite.key, "title": suite.title, "meaning": suite.meaning, "items": items,
                       "failed": failed, "warned": warned, "anchor": f"suite-{len(suites) + 1}"})
    return {
        "county": county,
        "year": year,
        "run_time": run_time.astimezone().strftime("%Y-%m-%d %H:%M"),
        "gx_version": gx_version,
        "rules_version": RULES_VERSION,
        "progress": {
            "title": PROGRESS_TITLE, "meaning": PROGRESS_MEANING, "listed": progress.listed,
            "reported": progress.reported, "accepted": progress.accepted, "rejected": progress.rejected,
            "missing": list(progress.missing), "unreadable": list(progress.unreadable), "unlisted": progress.unlisted,
            "percent": round(progress.percent, 1),
        },
        "examined": len(examined),
        "examined_rejected": int((examined[STATUS] == REJECTED_LABEL).sum()) if STATUS in examined.columns else 0,
        "suites": suites,
        "appendix": {"index": "index.html",
                     "pages": [{"name": name, "href": _href(page, out_dir), "ok": ok} for name, page, ok in pages]},
    }


# --------------------------------------------------------------------------
# Offline Data Docs
# --------------------------------------------------------------------------

ASSETS = "assets/gx"
"""The vendored files, inside this package (see assets/gx/README.md)."""
VENDOR = "static/vendor"
"""Where :func:`make_offline` puts them inside a site."""

CDN: dict[str, str] = {
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": "bootstrap/css/bootstrap.min.css",
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": "bootstrap/js/bootstrap.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": "bootstrap-table/bootstrap-table.min.css",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": "bootstrap-table/bootstrap-table.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js":
        "bootstrap-table/extensions/filter-control/bootstrap-table-filter-control.min.js",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css":
        "bootstrap-table/extensions/filter-control/bootstrap-table-filter-control.min.css",
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css":
        "bootstrap-table/extensions/filter-control/bootstrap-table-filter-control.min.css",
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery/jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": "popper.js/umd/popper.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": "fontawesome-free/css/all.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css":
        "bootstrap-datepicker/css/bootstrap-datepicker.min.css",
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js":
        "bootstrap-datepicker/js/bootstrap-datepicker.min.js",
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css":
        "bootstrap-dark/css/bootstrap-prefers-dark.min.css",
}
"""GX 1.24's CDN addresses → the vendored file (under :data:`VENDOR`) that replaces it."""

_GX_LOGO = re.compile(r"https://great-expectations-web-assets\.s3[^\"'()\s]*?/(?:full_)?logo[\w-]*\.png(?:\?[^\"'()\s]*)?")
_FOOTER = re.compile(r"<footer>.*?</footer>", re.DOTALL)
_EXTERNAL_TAGS = (
    re.compile(r"<script\b[^>]*\bsrc=[\"']https?://[^>]*>\s*</script>\s*", re.IGNORECASE),  # vega & co.: charts never drawn
    re.compile(r"<link\b[^>]*\bhref=[\"']https?://[^>]*>\s*", re.IGNORECASE),
)
_EXTERNAL_LINK = re.compile(r"<a\b[^>]*\bhref=[\"']https?://[^>]*>(.*?)</a>", re.IGNORECASE | re.DOTALL)
_EXTERNAL_ATTR = re.compile(r"\s(?:src|href)=[\"']https?://[^\"']*[\"']", re.IGNORECASE)
_EXTERNAL_URL = re.compile(r"url\(\s*[\"']?https?://[^)]*\)", re.IGNORECASE)
_SRI = re.compile(r"\s(?:integrity|crossorigin)=\"[^\"]*\"")


def _assets() -> Path:
    return Path(str(resources.files("nianbao.flows.outputs").joinpath(ASSETS)))


def offline_html(text: str, up: str, back: str | None = None) -> str:
    """One Data Docs page with every outside address replaced by a file of the site.

    ``up`` leads from the page's folder to the site's root (``""``, ``"../../"`` …).  Known CDN
    files become vendored ones; GX's logo its own copy in ``static/images``; whatever else points
    outside (vega's scripts, links to GX's website and newsletter) is removed.  ``back`` (a
    file at the site's root) replaces GX's footer with a link back to the Chinese review report.
    """
    for url, path in CDN.items():
        text = text.replace(url, f"{up}{VENDOR}/{path}")
    text = _SRI.sub("", text)  # integrity checks need CORS, which pages opened from disk do not have
    text = _GX_LOGO.sub(f"{up}static/images/logo-long.png", text)
    if back is not None:
        footer = (f'<footer lang="zh-CN">技术附录（英文原始页面） '
                  f'<a href="{up}{back}" style="white-space:nowrap">返回中文校验报告</a></footer>')
        text, found = _FOOTER.subn(footer, text)
        if not found:
            text = text.replace("</body>", footer + "</body>", 1)
    else:
        text = _FOOTER.sub("", text)
    for pattern in _EXTERNAL_TAGS:
        text = pattern.sub("", text)
    text = _EXTERNAL_LINK.sub(r"\1", text)
    text = _EXTERNAL_ATTR.sub("", text)
    return _EXTERNAL_URL.sub("none", text)


def offline_css(text: str, up: str) -> str:
    """One of GX's own style sheets with its outside images (the logo for dark mode) made local or removed."""
    return _EXTERNAL_URL.sub("none", _GX_LOGO.sub(f"{up}static/images/logo-long.png", text))


def make_offline(site: Path, *, back: str | None = REVIEW_NAME) -> list[Path]:
    """Copy the vendored assets into ``site/static/vendor`` and rewrite the site's pages and GX's own
    style sheets; returns the files rewritten."""
    site = Path(site)
    vendor = site / VENDOR
    if vendor.exists():
        shutil.rmtree(vendor)
    shutil.copytree(_assets(), vendor)
    pages = [site / "index.html"] + sorted((site / "validations").rglob("*.html")) + sorted(
        (site / "expectations").rglob("*.html"))
    done = []
    for page in pages:
        if not page.is_file():
            continue
        up = "../" * (len(page.relative_to(site).parts) - 1)
        page.write_text(offline_html(page.read_text(encoding="utf-8"), up, back), encoding="utf-8")
        done.append(page)
    for sheet in sorted((site / "static").rglob("*.css")):
        if vendor in sheet.parents:
            continue
        up = "../" * (len(sheet.relative_to(site).parts) - 1)
        sheet.write_text(offline_css(sheet.read_text(encoding="utf-8"), up), encoding="utf-8")
        done.append(sheet)
    return done


# --------------------------------------------------------------------------
# GX plumbing
# --------------------------------------------------------------------------


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Import GX and keep its logging off the console for the duration of a run only.

    The parent ``great_expectations`` logger is raised to CRITICAL before the
    import (which logs while registering its API); some modules then set
    their own level (``data_context.types.base`` logs at INFO whatever its
    parent says), so every ``great_expectations.*`` logger is raised too.
    Levels are restored afterwards.  The import's own DeprecationWarnings
    (``sre_constants``) are ignored.
    """
    manager = logging.Logger.manager
    parent = logging.getLogger(GX_LOGGER)
    saved = [(parent, parent.level)]
    try:
        parent.setLevel(logging.CRITICAL)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import great_expectations  # noqa: F401
        for name in [n for n in list(manager.loggerDict) if n.startswith(GX_LOGGER + ".")]:
            logger = manager.loggerDict[name]
            if isinstance(logger, logging.Logger):
                saved.append((logger, logger.level))
                logger.setLevel(logging.CRITICAL)
        yield
    finally:
        for logger, level in saved:
            logger.setLevel(level)


SITE_ENTRIES = ("index.html", "validations", "expectations", "static", REVIEW_NAME)
"""What a run writes into its folder: GX's site and the review report."""


def _clear_site(out_dir: Path) -> None:
    """Remove an earlier run's site (only its own entries), so the index lists this run alone."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in SITE_ENTRIES:
        path = out_dir / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()


def _site_config(out_dir: Path) -> dict:
    return {
        "class_name": "SiteBuilder",
        "show_how_to_buttons": False,
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(out_dir)},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    }


def _context(gx, out_dir: Path):
    from great_expectations.data_context.types.base import ProgressBarsConfig

    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False)
    # Only our own site: the ephemeral default one writes into a fresh /tmp folder.
    ctx.variables.data_docs_sites = {}
    ctx.add_data_docs_site(site_name=SITE_NAME, site_config=_site_config(out_dir))
    return ctx


def _run_part(gx, ctx, datasource, part: _Part, run_id):
    asset = datasource.add_dataframe_asset(name=part.name)
    batch = asset.add_batch_definition_whole_dataframe(part.name)
    suite = ctx.suites.add(gx.ExpectationSuite(name=part.name, expectations=part.expectations, notes=part.notes))
    definition = ctx.validation_definitions.add(gx.ValidationDefinition(name=part.name, data=batch, suite=suite))
    checkpoint = ctx.checkpoints.add(
        gx.Checkpoint(
            name=part.name,
            validation_definitions=[definition],
            actions=[],  # the Data Docs are built once, after every part ran (see write_validation_reports)
            result_format=part.result_format,
        )
    )
    result = checkpoint.run(batch_parameters={"dataframe": part.frame}, run_id=run_id)
    return next(iter(result.run_results.values()))


def _page(out_dir: Path, part_name: str) -> Path | None:
    """The validation page of one part (the site holds only the latest run)."""
    found = sorted((out_dir / "validations" / part_name).rglob("*.html"))
    return found[-1] if found else None


def _default_progress(agencies: pd.DataFrame, roster: Sequence[str]) -> Progress:
    frame = wide_frame(agencies) if NAME in agencies.columns else pd.DataFrame(columns=[NAME, STATUS])
    listed = set(roster)
    status = dict(zip(frame[NAME].astype(str), frame[STATUS]))
    present = [n for n in status if n in listed]
    return Progress(
        listed=len(listed),
        accepted=sum(1 for n in present if status[n] == ACCEPTED_LABEL),
        rejected=sum(1 for n in present if status[n] != ACCEPTED_LABEL),
        missing=sorted(listed - set(present)),
        unlisted=sum(1 for n in status if n not in listed),
    )


# --------------------------------------------------------------------------
# The entry point
# --------------------------------------------------------------------------


def write_validation_reports(
    *,
    year: int,
    agencies: pd.DataFrame,
    rollup: dict[str, float],
    roster: list[str],
    out_dir: Path,
    previous: Mapping[str, Mapping[str, float]] | None = None,
    last_totals: Mapping[str, float] | None = None,
    feedback: Mapping[str, Path] | None = None,
    progress: Progress | None = None,
    county: str = "",
) -> ValidationReports:
    """Validate the year's current submissions and county rollup; write the review report and Data Docs.

    ``agencies``: one row per agency whose current submission could be read: 单位名称,
    统一社会信用代码, 状态 (已通过/未通过; 已通过 when absent), 层级 (optional) and the numbers.
    ``previous``: each agency's numbers of last year (its current accepted report), by name.
    ``last_totals``: last year's county totals.  ``feedback``: each agency's feedback workbook.
    ``progress``: 报送进度 (from the roster and the frame when not given).
    """
    out_dir = Path(out_dir).resolve()
    _clear_site(out_dir)
    feedback = dict(feedback or {})

    with _quiet():
        import great_expectations as gx
        from great_expectations.core.run_identifier import RunIdentifier

        ctx = _context(gx, out_dir)
        datasource = ctx.data_sources.add_pandas(DATASOURCE)
        parts = build_parts(year=year, agencies=agencies, rollup=rollup, gxe=gx.expectations, previous=previous,
                            last_totals=last_totals)
        run_time = dt.datetime.now(dt.UTC)
        run_id = RunIdentifier(run_name=f"{year}年度", run_time=run_time)
        results = [(part, _run_part(gx, ctx, datasource, part, run_id) if not part.skipped else None)
                   for part in parts]
        # One build of the whole site: an UpdateDataDocsAction per checkpoint rebuilt the index once per part.
        ctx.build_data_docs(site_names=[SITE_NAME])
        gx_version = gx.__version__

    outcomes: list[Outcome] = []
    pages: list[tuple[str, Path, bool]] = []
    for part, result in results:
        if result is None:
            outcomes += [_skipped(part, check) for check in part.checks]
            continue
        page = _page(out_dir, part.name)
        if page is not None:
            pages.append((part.name, page, bool(result.success)))
        by_key = {(evr.expectation_config.meta or {}).get("nianbao"): evr for evr in result.results}
        outcomes += [_outcome(part, check, by_key[check.key], feedback, page) for check in part.checks]

    make_offline(out_dir)
    progress = progress or _default_progress(agencies, roster)
    review = out_dir / REVIEW_NAME
    review.write_text(render_review(
        county=county, year=year, outcomes=outcomes, progress=progress, out_dir=out_dir, pages=pages,
        run_time=run_time, gx_version=gx_version, examined=parts[0].frame), encoding="utf-8")
    return ValidationReports(index_html=out_dir / "index.html", reports=summarise(outcomes), pages=pages,
                             review_html=review, outcomes=outcomes, progress=progress)
