"""Great Expectations reports of a year's accepted reports, published as Data Docs.

:func:`write_validation_reports` validates two things and writes a static HTML site
(GX *Data Docs*) that reviewers open in a browser:

* **各单位数据** — the per-agency table: one row per agency on the roster,
  exactly the form's columns, every number filled and ≥ 0, and every
  balance/total rule (勾稽关系) of every agency;
* **全县汇总** — the county totals: the same ranges and rules over the one
  rollup row.

Everything is derived from :data:`schemas.form.FORM` and
:data:`schemas.catalogue.CATALOGUE`: the columns, the cells, the rules and
the Chinese descriptions shown in the Data Docs.

Design, measured: GX pays a fixed cost per expectation (≈10 ms: it
re-serialises each configuration many times), whatever the data size.  The
*wide* layout — per code a range and a not-null expectation, per rule
equation a residual column, 446 expectations — took 4.1 s for 60 agencies and
5.3 s for 10,000.  The *long* layout used here validates one row per (agency,
cell) and one per (agency, rule equation), with one expectation per check and
per rule id (``row_condition`` on 规则); ``unexpected_index_column_names`` makes
the Data Docs name the agency and the cell of every failure.  It takes ≈1.3 s
for 60 agencies and ≈2 s for 10,000 (≈5 s when every agency fails).  The
table-level checks (columns, one row per agency, row count) run on the wide
table as given; the roster is compared on a small frame (单位名称, 在名单上,
已计入汇总), because ``ExpectColumnValuesToBeInSet`` with a 10,000-name
``value_set`` costs a second per expectation and would not name the missing
agencies.

A GX batch is one dataframe, so each logical suite is several GX suites,
one per frame and each run by its own checkpoint: ``各单位数据·表格``,
``各单位数据·应报送名单``, ``各单位数据·栏目数值``, ``各单位数据·勾稽关系``,
``全县汇总·栏目数值``, ``全县汇总·勾稽关系``.  An :class:`ExpectationReport`
sums up the parts of one logical suite.  The site in ``out_dir`` shows the
latest run only (GX's own entries there are replaced).

``great_expectations`` is imported inside :func:`write_validation_reports` only: the
import alone takes several seconds.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import math
import shutil
import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from nianbao.schemas.catalogue import CATALOGUE
from nianbao.schemas.checks import residuals_frame
from nianbao.schemas.form import FORM, TOLERANCE, Form
from nianbao.schemas.values import format_number

SUITE_AGENCIES = "各单位数据"
SUITE_ROLLUP = "全县汇总"

NAME = "单位名称"
USCC = "统一社会信用代码"
CODE = "代码"
LABEL = "栏目"
VALUE = "数值"
RULE = "规则"
SCOPE = "范围"
DIFF = "差额"
ON_ROSTER = "在名单上"
REPORTED = "已计入汇总"
YES, NO = "是", "否"

ROLLUP_NAME = "全县汇总"
"""The 单位名称 of the rollup's single row."""

SITE_NAME = "nianbao_reports"
DATASOURCE = "nianbao"
DIFF_DECIMALS = round(-math.log10(TOLERANCE))  # residuals are rounded to the rules' tolerance
SHOWN = 5  # failures listed by name in a short description; the rest are counted

# GX parts of each logical suite: part name → what it checks
PART_TABLE = "表格"
PART_ROSTER = "应报送名单"
PART_VALUES = "栏目数值"
PART_RULES = "勾稽关系"

_INDEX_COLUMNS = {  # what names a failing row in the Data Docs, per part
    PART_TABLE: (NAME,),
    PART_ROSTER: (NAME,),
    PART_VALUES: (NAME, CODE, LABEL),
    PART_RULES: (NAME, RULE, SCOPE),
}

GX_LOGGER = "great_expectations"


@dataclass
class ExpectationReport:
    suite: str  # e.g. "各单位数据" or "全县汇总"
    success: bool
    evaluated: int  # number of expectations run
    failed: int
    failures: list[str] = field(default_factory=list)  # short Chinese descriptions of failed expectations


@dataclass
class ValidationReports:
    index_html: Path  # the Data Docs index.html inside out_dir
    reports: list[ExpectationReport]
    pages: list[tuple[str, Path, bool]] = field(default_factory=list)
    """(part name, its validation page, success): direct links that work offline, where the
    Data Docs index (whose lists are filled by scripts from a CDN) may show nothing."""


# --------------------------------------------------------------------------
# Frames
# --------------------------------------------------------------------------


def agency_columns(form: Form = FORM) -> list[str]:
    """The exact columns of the per-agency table."""
    return [NAME, USCC, *form.numeric_codes]


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
    """The per-agency table as validated: sorted by name, numbers as plain float64.

    Columns are kept as given (missing or extra ones are the column check's
    business); nullable ``Int64``/``Float64`` become ``float64`` (GX misreads
    pandas' nullable dtypes).
    """
    frame = agencies.copy()
    for code in form.numeric_codes:
        if code in frame.columns:
            frame[code] = pd.to_numeric(frame[code], errors="coerce").astype("float64")
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


def roster_frame(names: Sequence[str], roster: Sequence[str]) -> pd.DataFrame:
    """One row per agency on the roster or in the table: 单位名称, 在名单上, 已报送 (是/否)."""
    listed, present = set(roster), set(names)
    everyone = sorted(listed | present)
    return pd.DataFrame(
        {
            NAME: np.array(everyone, dtype=object),
            ON_ROSTER: np.array([YES if n in listed else NO for n in everyone], dtype=object),
            REPORTED: np.array([YES if n in present else NO for n in everyone], dtype=object),
        }
    )


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


def values_frame(names: np.ndarray, numbers: pd.DataFrame, form: Form = FORM) -> pd.DataFrame:
    """One row per (agency, cell): 单位名称, 代码, 栏目, 数值."""
    codes = list(form.numeric_codes)
    label_of = cell_labels(form)
    labels = [label_of[c] for c in codes]
    n, m = len(names), len(codes)
    return pd.DataFrame(
        {
            NAME: _repeat(names, m),
            CODE: _tile(codes, n),
            LABEL: _tile(labels, n),
            VALUE: numbers[codes].to_numpy(dtype="float64").reshape(-1),
        }
    )


def rules_frame(names: np.ndarray, numbers: pd.DataFrame, form: Form = FORM) -> pd.DataFrame:
    """One row per (agency, rule equation): 单位名称, 规则, 范围, 差额 (left − right, 0 when balanced)."""
    instances = form.rule_instances
    residuals = residuals_frame(numbers, form)[[i.key for i in instances]]
    n, m = len(names), len(instances)
    return pd.DataFrame(
        {
            NAME: _repeat(names, m),
            RULE: _tile([i.rule for i in instances], n),
            SCOPE: _tile([_scope_text(i, form) for i in instances], n),
            DIFF: residuals.to_numpy(dtype="float64").reshape(-1).round(DIFF_DECIMALS) + 0.0,
        }
    )


def _scope_text(inst, form: Form) -> str:
    rule = next(r for r in form.linear_rules if r.id == inst.rule)
    table = form.table(rule.table)
    axis = {"columns": "列", "rows": "行", "groups": ""}[rule.over]
    return f"表{table.number}“{inst.scope}”{axis}"


# --------------------------------------------------------------------------
# Expectations, derived from the form
# --------------------------------------------------------------------------


@dataclass
class _Part:
    """One GX suite over one frame, run by its own checkpoint."""

    suite: str  # the logical suite (ExpectationReport.suite)
    name: str  # the GX suite / asset / checkpoint name
    frame: pd.DataFrame
    expectations: list[Any]
    index_columns: tuple[str, ...]  # what names a failing row in the Data Docs
    notes: str  # shown on the suite's Data Docs page

    @property
    def result_format(self) -> dict:
        # GX 1.24 ignores an expectation's own ``result_format`` under a checkpoint:
        # the checkpoint's applies to every expectation of the run.
        return {"result_format": "COMPLETE", "unexpected_index_column_names": list(self.index_columns)}


def _esc(text: str) -> str:
    """GX renders a description as a string template: ``$`` starts a parameter."""
    return text.replace("$", "$$")


def _rule_description(rule_id: str, form: Form) -> str:
    rule = CATALOGUE[rule_id]
    count = sum(1 for i in form.rule_instances if i.rule == rule_id)
    return _esc(f"{rule.id} {rule.title}：{rule.description}（共 {count} 个等式，差额＝左边－右边，应为 0）")


def _value_expectations(gxe, form: Form) -> list:
    empty, negative = CATALOGUE["cell.empty"], CATALOGUE["cell.negative"]
    count = len(form.numeric_codes)
    return [
        gxe.ExpectColumnValuesToNotBeNull(
            column=VALUE,
            description=_esc(f"{empty.title}：{empty.description}（{count} 个数字栏目）"),
            meta={"nianbao": "cell.empty"},
        ),
        gxe.ExpectColumnValuesToBeBetween(
            column=VALUE,
            min_value=0,
            description=_esc(f"{negative.title}：{negative.description}（{count} 个数字栏目）"),
            meta={"nianbao": "cell.negative"},
        ),
    ]


def _rule_expectations(gxe, form: Form) -> list:
    from great_expectations.expectations.row_conditions import Column

    return [
        gxe.ExpectColumnValuesToBeBetween(
            column=DIFF,
            min_value=0,
            max_value=0,
            row_condition=Column(RULE) == rule.id,
            description=_rule_description(rule.id, form),
            meta={"nianbao": rule.id},
        )
        for rule in form.linear_rules
    ]


def _table_expectations(gxe, roster: Sequence[str], form: Form) -> list:
    """Over the per-agency table as given."""
    size = len(set(roster))
    return [
        gxe.ExpectTableColumnsToMatchSet(
            column_set=agency_columns(form),
            exact_match=True,
            description=_esc(
                f"表格列：恰好为“{NAME}”“{USCC}”和年报格式的 {len(form.numeric_codes)} 个数字栏目（以代码为列名）"
            ),
            meta={"nianbao": "columns"},
        ),
        gxe.ExpectColumnValuesToBeUnique(
            column=NAME, description=_esc("每个单位只有一行（单位名称不重复）"), meta={"nianbao": "unique"}
        ),
        gxe.ExpectTableRowCountToEqual(
            value=size,
            description=_esc(f"行数等于应报送单位名单上的单位数 {size}（少于此数即有单位未报送或报告未通过）"),
            meta={"nianbao": "row_count"},
        ),
    ]


def _roster_expectations(gxe) -> list:
    """Over :func:`roster_frame`: names the agencies off the roster and the missing ones."""
    return [
        gxe.ExpectColumnValuesToBeInSet(
            column=ON_ROSTER,
            value_set=[YES],
            description=_esc("每个报送单位都在应报送单位名单上"),
            meta={"nianbao": "roster"},
        ),
        gxe.ExpectColumnValuesToBeInSet(
            column=REPORTED,
            value_set=[YES],
            description=_esc("名单上的每个单位都已计入汇总（已报送且报告通过，表格中有该单位的一行）"),
            meta={"nianbao": "reported"},
        ),
    ]


# --------------------------------------------------------------------------
# Summaries of failed expectations
# --------------------------------------------------------------------------


def _listing(items: Sequence[str], unit: str = "处") -> str:
    shown = "、".join(items[:SHOWN])
    return shown if len(items) <= SHOWN else f"{shown}等，共 {len(items)} {unit}"


def _unexpected(result: dict) -> list[dict]:
    rows = result.get("unexpected_index_list") or []
    return [r for r in rows if isinstance(r, dict)]


def _summary(check: str, result: dict, *, roster: Sequence[str], present: Sequence[str]) -> str:
    if check == "columns":
        mismatch = (result.get("details") or {}).get("mismatched") or {}
        parts = []
        if mismatch.get("missing"):
            parts.append("缺少列 " + _listing([str(c) for c in mismatch["missing"]], "列"))
        if mismatch.get("unexpected"):
            parts.append("多出列 " + _listing([str(c) for c in mismatch["unexpected"]], "列"))
        return "表格列与年报格式不符：" + ("；".join(parts) or "列不一致")
    if check == "unique":
        names = sorted({str(r.get(NAME)) for r in _unexpected(result)})
        return "单位名称重复：" + _listing(names, "个单位")
    if check == "roster":
        names = [str(r.get(NAME)) for r in _unexpected(result)]
        return "不在应报送单位名单上：" + _listing(names, "个单位")
    if check == "row_count":
        missing = sorted(set(roster) - set(present))
        text = f"行数不符：名单上有 {len(set(roster))} 个单位，表格有 {result.get('observed_value')} 行"
        return text + (f"（{len(missing)} 个单位未计入：未报送或报告未通过）" if missing else "")
    if check == "reported":
        names = [str(r.get(NAME)) for r in _unexpected(result)]
        return "未计入汇总（未报送或报告未通过）：" + _listing(names, "个单位")
    rows = _unexpected(result)
    if check in ("cell.empty", "cell.negative"):
        rule = CATALOGUE[check]
        items = [
            f"{r.get(NAME)} {r.get(LABEL)}" + ("" if check == "cell.empty" else f"为 {_number(r.get(VALUE))}")
            for r in rows
        ]
        return f"{rule.title}：" + _listing(items)
    if check in CATALOGUE:  # a linear rule
        rule = CATALOGUE[check]
        items = [f"{r.get(NAME)} {r.get(SCOPE)}差额 {_number(r.get(DIFF))}" for r in rows]
        return f"{rule.id} {rule.title}：" + _listing(items)
    return check  # pragma: no cover - every expectation carries one of the keys above


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


def _number(value) -> str:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    return format_number(v)


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


SITE_ENTRIES = ("index.html", "validations", "expectations", "static")
"""What a GX Data Docs site writes into its folder."""


def _clear_site(out_dir: Path) -> None:
    """Remove an earlier run's site (only GX's own entries), so the index lists this run alone."""
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


# --------------------------------------------------------------------------
# The entry point
# --------------------------------------------------------------------------


def build_parts(
    *,
    year: int,
    agencies: pd.DataFrame,
    rollup: dict[str, float],
    roster: Sequence[str],
    gxe,
    form: Form = FORM,
) -> list[_Part]:
    """The frames and expectations of both suites (``gxe`` is ``great_expectations.expectations``)."""
    wide = wide_frame(agencies, form)
    names = _names(wide)
    numbers = _numbers(wide, form)
    total = pd.DataFrame([{code: rollup.get(code, np.nan) for code in form.numeric_codes}], dtype="float64")
    total_names = np.array([ROLLUP_NAME], dtype=object)
    cells = len(form.numeric_codes)
    notes = {
        PART_TABLE: f"{year} 年度各单位年报（已接受的当前版本），每个单位一行：{NAME}、{USCC}和 {cells} 个数字栏目。",
        PART_ROSTER: f"应报送单位名单与 {year} 年度已计入汇总单位的对照，每个单位一行；“{ON_ROSTER}”“{REPORTED}”为是或否。",
        PART_VALUES: f"{year} 年度{{who}}的数字，每个（单位，栏目）一行：{NAME}、{CODE}、{LABEL}、{VALUE}。",
        PART_RULES: f"{year} 年度{{who}}的勾稽关系，每个（单位，等式）一行：{DIFF}＝左边之和－右边之和，平衡时为 0。",
    }

    def part(suite: str, name: str, frame: pd.DataFrame, expectations: list) -> _Part:
        who = "各单位年报" if suite == SUITE_AGENCIES else "全县汇总"
        note = notes[name].format(who=who)
        return _Part(suite, f"{suite}·{name}", frame, expectations, _INDEX_COLUMNS[name], note)

    return [
        part(SUITE_AGENCIES, PART_TABLE, wide, _table_expectations(gxe, roster, form)),
        part(SUITE_AGENCIES, PART_ROSTER, roster_frame(names.tolist(), roster), _roster_expectations(gxe)),
        part(SUITE_AGENCIES, PART_VALUES, values_frame(names, numbers, form), _value_expectations(gxe, form)),
        part(SUITE_AGENCIES, PART_RULES, rules_frame(names, numbers, form), _rule_expectations(gxe, form)),
        part(SUITE_ROLLUP, PART_VALUES, values_frame(total_names, total, form), _value_expectations(gxe, form)),
        part(SUITE_ROLLUP, PART_RULES, rules_frame(total_names, total, form), _rule_expectations(gxe, form)),
    ]


def write_validation_reports(
    *, year: int, agencies: pd.DataFrame, rollup: dict[str, float], roster: list[str], out_dir: Path
) -> ValidationReports:
    """Validate the year's per-agency table and county rollup; write Data Docs into ``out_dir``."""
    out_dir = Path(out_dir).resolve()
    _clear_site(out_dir)
    present = set(agencies[NAME].dropna().astype(str)) if NAME in agencies.columns else set()

    with _quiet():
        import great_expectations as gx
        from great_expectations.core.run_identifier import RunIdentifier

        ctx = _context(gx, out_dir)
        datasource = ctx.data_sources.add_pandas(DATASOURCE)
        parts = build_parts(year=year, agencies=agencies, rollup=rollup, roster=roster, gxe=gx.expectations)
        run_id = RunIdentifier(run_name=f"{year}年度", run_time=dt.datetime.now(dt.timezone.utc))
        results = [(part, _run_part(gx, ctx, datasource, part, run_id)) for part in parts]
        # One build of the whole site: an UpdateDataDocsAction per checkpoint rebuilt the index six times.
        ctx.build_data_docs(site_names=[SITE_NAME])

    reports: dict[str, ExpectationReport] = {}
    for part, result in results:
        report = reports.setdefault(part.suite, ExpectationReport(part.suite, True, 0, 0, []))
        for evr in result.results:
            report.evaluated += 1
            if evr.success:
                continue
            report.success = False
            report.failed += 1
            config = evr.expectation_config
            check = (config.meta or {}).get("nianbao", config.type)
            error = _raised(evr.exception_info)
            if error is not None:
                what = config.description or config.type
                report.failures.append(f"{part.name}：“{what}”未能检查（{error}）")
            else:
                report.failures.append(_summary(check, evr.result or {}, roster=roster, present=present))
    pages = [(part.name, _page(out_dir, part.name), bool(result.success)) for part, result in results]
    return ValidationReports(index_html=out_dir / "index.html", reports=list(reports.values()),
                             pages=[p for p in pages if p[1] is not None])


def _page(out_dir: Path, part_name: str) -> Path | None:
    """The validation page of one part (the site holds only the latest run)."""
    found = sorted((out_dir / "validations" / part_name).rglob("*.html"))
    return found[-1] if found else None
