"""The 2021 national format (国办公开办函〔2021〕30号), written once, as data.

Everything else derives from this module: the template writer and the reader
(through :mod:`nianbao.schemas.layout`), the pandera schemas (:mod:`nianbao.schemas.checks`),
the Great Expectations suites, the instructions sheet and the docs.

A table is a list of *blocks*; a block is a grid whose rows and columns are
:class:`Axis` values.  An axis has a code (part of the cell code) and a label
*path*: the headers from the outermost group down to the leaf, exactly as the
official form prints them.  Merged header cells in the template are derived
from shared path prefixes, so the official layout follows from these paths.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

TEMPLATE_VERSION = "nianbao-2021.1"
"""Written into every template by the generator (``meta.template_version``)."""

KNOWN_TEMPLATE_VERSIONS = (TEMPLATE_VERSION,)

FORMAT_TITLE = "政府信息公开工作年度报告"
FORMAT_SOURCE = "国办公开办函〔2021〕30号"

# -- the form's constants: every module takes them from here -----------------

FIRST_YEAR = 2021
"""The 2021 format applies to reports from this year on."""
LAST_YEAR = 2100
"""The latest report year a template accepts as typed (the checks stop at the current year)."""
TOLERANCE = 1e-6
"""Decimals (万元) are summed in floating point: an equation holds within this."""
LARGE_COUNT = 10_000_000
"""A count above this is worth confirming (a warning: a city's 行政许可 can exceed it)."""
LARGE_AMOUNT_WAN = 100_000_000
"""行政事业性收费 above this many 万元 is worth confirming (a warning)."""
LARGE_VALUE = {"integer": LARGE_COUNT, "decimal": LARGE_AMOUNT_WAN}
EXACT_VALUE = {"integer": 10**15, "decimal": 10**9}
"""Beyond these a number cannot be computed exactly (counts, and 万元 to six decimals, in floating point): an error."""
LEVELS = ("省", "市", "县", "乡")
"""Government levels (the roster's column 层级); the rules that depend on level follow it."""
DEFAULT_LEVEL = "县"
FEE_WARNING_WAN = {"乡": 10_000, "县": 10_000, "市": 100_000, "省": 1_000_000}
"""行政事业性收费 above this many 万元, by level, looks like an amount in yuan (rule fee.unit)."""
JUMP_RATIO = 10
"""RX.2: a cell that grows or shrinks this many times against last year …"""
JUMP_FLOOR = 5
"""… when both years' values are at least this (so 0 → 3 is no jump)."""


@dataclass(frozen=True)
class Axis:
    """A row or a column of a block: its code and its official label path."""

    code: str
    path: tuple[str, ...]
    kind: str | None = None  # overrides the cell kind along this axis ("decimal")
    unit: str | None = None

    @property
    def label(self) -> str:
        return self.path[-1] if self.path else ""


@dataclass(frozen=True)
class Block:
    """A rectangular part of a table with its own header rows."""

    rows: tuple[Axis, ...]
    columns: tuple[Axis, ...]
    corner: str = ""  # the text of the top-left header cell
    title: str | None = None  # a sub-table title row (表二's 第二十条第（一）项)


@dataclass(frozen=True)
class Table:
    prefix: str  # first part of every cell code: active / requests / appeals
    number: str  # 二 / 三 / 四
    title: str  # the official section title
    sheet: str  # the template's sheet name
    blocks: tuple[Block, ...]


@dataclass(frozen=True)
class Cell:
    """One of the 200 numeric cells."""

    code: str
    table: Table
    block: Block
    row: Axis
    column: Axis
    kind: str  # "integer" or "decimal"
    unit: str

    @property
    def labels(self) -> tuple[str, ...]:
        """Row path then column path: what a reader must see to know the cell."""
        return self.row.path + self.column.path

    @property
    def description(self) -> str:
        """“一、本年新收政府信息公开申请数量／自然人”; 表四's unlabelled row gives its whole column path."""
        parts = [self.row.label, self.column.label] if self.row.label else list(self.column.path)
        return "“" + "／".join(p for p in parts if p) + "”"


@dataclass(frozen=True)
class Field:
    """A metadata or narrative field (an input on the cover or the text sheet)."""

    code: str
    label: str
    kind: str  # "text", "year", "uscc", "longtext"
    required: bool = False
    hint: str = ""
    locked: bool = False  # written by the generator, not by the agency


@dataclass(frozen=True)
class CellRule:
    """A rule on single cells: each of ``codes`` must hold ``op bound`` (``op`` is ``==`` or ``<=``)."""

    rule: str  # catalogue id
    codes: tuple[str, ...]
    op: str
    bound: float
    levels: tuple[str, ...] = LEVELS  # the government levels it applies to


@dataclass(frozen=True)
class LinearRule:
    """A blocking arithmetic rule: ``sum(left) == sum(right)`` for each instance.

    ``over`` names the axis the rule is repeated along ("columns", "rows" or
    "groups"); ``left``/``right`` hold the codes of the other axis.
    """

    id: str
    table: str
    over: str
    left: tuple[str, ...]
    right: tuple[str, ...]
    anchor: str  # the code (of left or right) whose cell a finding points at


@dataclass(frozen=True)
class RuleInstance:
    """One concrete equation of a :class:`LinearRule`, e.g. R3.1 for 自然人."""

    rule: str
    key: str  # stable instance id, e.g. "R3.1:natural"
    left: tuple[str, ...]
    right: tuple[str, ...]
    scope: str  # the row or column label the instance is about
    anchor: str  # the cell a finding points at


# --------------------------------------------------------------------------
# 表二 主动公开政府信息情况
# --------------------------------------------------------------------------

_DOCS_COLUMNS = (
    Axis("issued", ("本年制发件数",)),
    Axis("repealed", ("本年废止件数",)),
    Axis("in_force", ("现行有效件数",)),
)
_DECISIONS = (Axis("decisions", ("本年处理决定数量",)),)

ACTIVE = Table(
    prefix="active",
    number="二",
    title="二、主动公开政府信息情况",
    sheet="表二",
    blocks=(
        Block(
            title="第二十条第（一）项",
            corner="信息内容",
            rows=(Axis("rules", ("规章",)), Axis("normative", ("行政规范性文件",))),
            columns=_DOCS_COLUMNS,
        ),
        Block(
            title="第二十条第（五）项",
            corner="信息内容",
            rows=(Axis("licensing", ("行政许可",)),),
            columns=_DECISIONS,
        ),
        Block(
            title="第二十条第（六）项",
            corner="信息内容",
            rows=(Axis("penalty", ("行政处罚",)), Axis("coercion", ("行政强制",))),
            columns=_DECISIONS,
        ),
        Block(
            title="第二十条第（八）项",
            corner="信息内容",
            rows=(Axis("fees", ("行政事业性收费",), kind="decimal", unit="万元"),),
            columns=(Axis("amount", ("本年收费金额（单位：万元）",)),),
        ),
    ),
)

# --------------------------------------------------------------------------
# 表三 收到和处理政府信息公开申请情况
# --------------------------------------------------------------------------

_APPLICANTS = "申请人情况"
_ORGS = "法人或其他组织"
REQUEST_COLUMNS = (
    Axis("natural", (_APPLICANTS, "自然人")),
    Axis("business", (_APPLICANTS, _ORGS, "商业企业")),
    Axis("research", (_APPLICANTS, _ORGS, "科研机构")),
    Axis("nonprofit", (_APPLICANTS, _ORGS, "社会公益组织")),
    Axis("legal", (_APPLICANTS, _ORGS, "法律服务机构")),
    Axis("other_org", (_APPLICANTS, _ORGS, "其他")),
    Axis("total", (_APPLICANTS, "总计")),
)

_RESULTS = "三、本年度办理结果"
_WITHHELD = "（三）不予公开"
_UNAVAILABLE = "（四）无法提供"
_REFUSED = "（五）不予处理"
_OTHER = "（六）其他处理"
REQUEST_ROWS = (
    Axis("new", ("一、本年新收政府信息公开申请数量",)),
    Axis("carried_in", ("二、上年结转政府信息公开申请数量",)),
    Axis("granted", (_RESULTS, "（一）予以公开")),
    Axis("partial", (_RESULTS, "（二）部分公开（区分处理的，只计这一情形，不计其他情形）")),
    Axis("withheld_secret", (_RESULTS, _WITHHELD, "1.属于国家秘密")),
    Axis("withheld_law", (_RESULTS, _WITHHELD, "2.其他法律行政法规禁止公开")),
    Axis("withheld_safety", (_RESULTS, _WITHHELD, "3.危及“三安全一稳定”")),
    Axis("withheld_third_party", (_RESULTS, _WITHHELD, "4.保护第三方合法权益")),
    Axis("withheld_internal", (_RESULTS, _WITHHELD, "5.属于三类内部事务信息")),
    Axis("withheld_process", (_RESULTS, _WITHHELD, "6.属于四类过程性信息")),
    Axis("withheld_enforcement", (_RESULTS, _WITHHELD, "7.属于行政执法案卷")),
    Axis("withheld_query", (_RESULTS, _WITHHELD, "8.属于行政查询事项")),
    Axis("unavailable_not_held", (_RESULTS, _UNAVAILABLE, "1.本机关不掌握相关政府信息")),
    Axis("unavailable_needs_creation", (_RESULTS, _UNAVAILABLE, "2.没有现成信息需要另行制作")),
    Axis("unavailable_unclear", (_RESULTS, _UNAVAILABLE, "3.补正后申请内容仍不明确")),
    Axis("refused_petition", (_RESULTS, _REFUSED, "1.信访举报投诉类申请")),
    Axis("refused_duplicate", (_RESULTS, _REFUSED, "2.重复申请")),
    Axis("refused_publication", (_RESULTS, _REFUSED, "3.要求提供公开出版物")),
    Axis("refused_excessive", (_RESULTS, _REFUSED, "4.无正当理由大量反复申请")),
    Axis("refused_confirmation", (_RESULTS, _REFUSED, "5.要求行政机关确认或重新出具已获取信息")),
    Axis(
        "other_no_correction",
        (_RESULTS, _OTHER, "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请"),
    ),
    Axis(
        "other_no_fee",
        (_RESULTS, _OTHER, "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请"),
    ),
    Axis("other_other", (_RESULTS, _OTHER, "3.其他")),
    Axis("total", (_RESULTS, "（七）总计")),
    Axis("carried_out", ("四、结转下年度继续办理",)),
)
RESULT_ROWS = tuple(a.code for a in REQUEST_ROWS if a.path[0] == _RESULTS and a.code != "total")
"""The result rows of 表三, （一）予以公开 … （六）其他处理 3.其他: what （七）总计 adds up."""


def _result_groups() -> tuple[tuple[str, tuple[str, ...]], ...]:
    groups: dict[str, list[str]] = {}
    for a in REQUEST_ROWS:
        if a.code in RESULT_ROWS:
            groups.setdefault(a.path[1], []).append(a.code)
    return tuple((label, tuple(rows)) for label, rows in groups.items())


RESULT_GROUPS = _result_groups()
"""表三's result groups with their rows: (（一）予以公开, (granted,)), … (（六）其他处理, (other_no_correction, …))."""

REQUESTS = Table(
    prefix="requests",
    number="三",
    title="三、收到和处理政府信息公开申请情况",
    sheet="表三",
    blocks=(
        Block(
            corner="（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）",
            rows=REQUEST_ROWS,
            columns=REQUEST_COLUMNS,
        ),
    ),
)

# --------------------------------------------------------------------------
# 表四 政府信息公开行政复议、行政诉讼情况
# --------------------------------------------------------------------------

_OUTCOMES = (
    ("upheld", "结果维持"),
    ("corrected", "结果纠正"),
    ("other", "其他结果"),
    ("pending", "尚未审结"),
    ("total", "总计"),
)
APPEAL_GROUPS = (
    ("review", ("行政复议",)),
    ("suit_direct", ("行政诉讼", "未经复议直接起诉")),
    ("suit_after_review", ("行政诉讼", "复议后起诉")),
)
APPEALS = Table(
    prefix="appeals",
    number="四",
    title="四、政府信息公开行政复议、行政诉讼情况",
    sheet="表四",
    blocks=(
        Block(
            rows=(Axis("", ()),),
            columns=tuple(
                Axis(f"{group}.{outcome}", path + (label,))
                for group, path in APPEAL_GROUPS
                for outcome, label in _OUTCOMES
            ),
        ),
    ),
)

TABLES = (ACTIVE, REQUESTS, APPEALS)

# --------------------------------------------------------------------------
# Metadata and narrative
# --------------------------------------------------------------------------

COVER_SHEET = "封面"
TEXT_SHEET = "文字部分"
INSTRUCTIONS_SHEET = "填报说明"

META_FIELDS = (
    Field("meta.agency", "单位名称", "text", required=True, hint="填写单位全称，与公章一致"),
    Field("meta.uscc", "统一社会信用代码", "uscc", hint="18位，含校验码；无则留空"),
    Field("meta.year", "报告年度", "year", required=True, hint="四位数字，如 2024"),
    Field("meta.preparer", "填报人", "text"),
    Field("meta.phone", "联系电话", "text"),
    Field("meta.template_version", "模板版本", "text", locked=True, hint="由系统生成，请勿修改"),
)
TEXT_FIELDS = (
    Field("text.overview", "一、总体情况", "longtext", required=True),
    Field("text.problems", "五、存在的主要问题及改进情况", "longtext", required=True),
    Field("text.other", "六、其他需要报告的事项", "longtext"),
)
FIELDS = META_FIELDS + TEXT_FIELDS

SECTIONS = (
    TEXT_FIELDS[0].label,
    ACTIVE.title,
    REQUESTS.title,
    APPEALS.title,
    TEXT_FIELDS[1].label,
    TEXT_FIELDS[2].label,
)
"""The six sections of the published report, in the official order."""

# --------------------------------------------------------------------------
# Rules between cells (勾稽关系)
# --------------------------------------------------------------------------

_REQ_PARTS = tuple(a.code for a in REQUEST_COLUMNS[:-1])
_APPEAL_PARTS = ("upheld", "corrected", "other", "pending")

LINEAR_RULES = (
    LinearRule(
        "R3.1", "requests", "columns", ("new", "carried_in"), ("total", "carried_out"), "carried_out"
    ),
    LinearRule("R3.2", "requests", "rows", ("total",), _REQ_PARTS, "total"),
    LinearRule("R3.3", "requests", "columns", ("total",), RESULT_ROWS, "total"),
    LinearRule("R4.1", "appeals", "groups", ("total",), _APPEAL_PARTS, "total"),
)

OLD_2019_MARKERS = (
    "本年新制作数量",
    "本年新公开数量",
    "对外公开总数量",
    "上一年项目数量",
    "本年增/减",
    "其他对外管理服务事项",
    "政府集中采购",
)
"""Labels that only the 2019 layout carries."""


@dataclass(frozen=True)
class Form:
    """The whole form, with indexes derived from the declarations above."""

    tables: tuple[Table, ...] = TABLES
    fields: tuple[Field, ...] = FIELDS
    linear_rules: tuple[LinearRule, ...] = LINEAR_RULES
    version: str = TEMPLATE_VERSION

    @cached_property
    def cells(self) -> tuple[Cell, ...]:
        out = []
        for table in self.tables:
            for block in table.blocks:
                for row in block.rows:
                    for col in block.columns:
                        code = ".".join(p for p in (table.prefix, row.code, col.code) if p)
                        kind = row.kind or col.kind or "integer"
                        unit = row.unit or col.unit or ("万元" if kind == "decimal" else "件")
                        out.append(Cell(code, table, block, row, col, kind, unit))
        return tuple(out)

    @cached_property
    def cell_by_code(self) -> dict[str, Cell]:
        return {c.code: c for c in self.cells}

    @cached_property
    def numeric_codes(self) -> tuple[str, ...]:
        return tuple(c.code for c in self.cells)

    @cached_property
    def field_by_code(self) -> dict[str, Field]:
        return {f.code: f for f in self.fields}

    @cached_property
    def codes(self) -> tuple[str, ...]:
        """Every code of the form: metadata, narrative and the 200 numbers."""
        return tuple(f.code for f in self.fields) + self.numeric_codes

    def table(self, prefix: str) -> Table:
        return next(t for t in self.tables if t.prefix == prefix)

    @cached_property
    def rule_instances(self) -> tuple[RuleInstance, ...]:
        """Every equation of every linear rule, expanded over its axis."""
        out = []
        for rule in self.linear_rules:
            table = self.table(rule.table)
            block = table.blocks[0]
            if rule.over == "columns":
                scopes = [(c.code, c.label, "{p}.{x}.{s}") for c in block.columns]
            elif rule.over == "rows":
                scopes = [(r.code, r.label, "{p}.{s}.{x}") for r in block.rows]
            elif rule.over == "groups":
                groups = {c.code.split(".")[0]: "".join(c.path[:-1]) for c in block.columns}
                scopes = [(g, label, "{p}.{s}.{x}") for g, label in groups.items()]
            else:  # a declaration error, caught by the tests
                raise ValueError(f"unknown rule axis {rule.over!r}")
            for scope, label, pattern in scopes:
                code = lambda x: pattern.format(p=table.prefix, s=scope, x=x)  # noqa: E731
                out.append(
                    RuleInstance(
                        rule=rule.id,
                        key=f"{rule.id}:{scope}",
                        left=tuple(code(x) for x in rule.left),
                        right=tuple(code(x) for x in rule.right),
                        scope=label,
                        anchor=code(rule.anchor),
                    )
                )
        return tuple(out)

    @cached_property
    def sums(self) -> dict[str, tuple[str, ...]]:
        """Cells that are by definition the sum of others (the template's formulas).

        These are the single-cell left sides of the linear rules.  A cell that
        is the total of two rules (表三's 总计/总计) takes the first one.
        """
        out: dict[str, tuple[str, ...]] = {}
        for inst in self.rule_instances:
            if len(inst.left) == 1:
                out.setdefault(inst.left[0], inst.right)
        return out


FORM = Form()


CELL_RULES = (
    # 表二 第二十条第（五）项 规章: counties and townships have no power to make rules (规章)
    CellRule("R2.3", tuple(c.code for c in FORM.cells if c.table is ACTIVE and c.row.code == "rules"), "==", 0,
             levels=("县", "乡")),
    *(CellRule("fee.unit", ("active.fees.amount",), "<=", bound, levels=(level,))
      for level, bound in FEE_WARNING_WAN.items()),
)
"""The rules on single cells, beside the ranges every numeric cell has (0 to :data:`LARGE_VALUE`)."""
