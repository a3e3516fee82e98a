"""What the reviewers' validation report checks, as data: suites, expectations, thresholds, Chinese texts.

The per-report gate (:mod:`nianbao.schemas.checks`) decides whether one report is
accepted.  The validation report (``outbound/Y/reports/校验报告.html``, built by
``nianbao.flows.outputs.validation`` with Great Expectations) looks at the *year*:
every current submission that could be read, accepted or rejected, side by side.
It says how many agencies break each rule, which agencies lie far outside the
range of bodies of their kind, which jumped against their own last year, whose
share of requests granted or withheld is far from the county's, and whether the
county total moved far from last year's.  Completeness is shown as progress
(报送进度), never as a failed check: an agency that has not reported yet is not an
error of the data.

Each expectation has a stable key (``meta={"nianbao": key}`` on the GX
expectation), a severity (:data:`ERROR`: the gate refuses a report that breaks
it; :data:`WARNING`: worth a look, never blocks), a Chinese title, what it means
for a reviewer, and a template for one failing row.  The texts of the gate's own
rules come from :data:`nianbao.schemas.catalogue.CATALOGUE`, so both say the same.

Pure data and arithmetic on plain numbers: no I/O, no engine.
"""

from __future__ import annotations

from dataclasses import dataclass

from .catalogue import CATALOGUE, ERROR, WARNING
from .form import FORM, JUMP_FLOOR, LINEAR_RULES, RESULT_GROUPS


SEVERITY_WORDS = {ERROR: "必须满足", WARNING: "提示核实"}
"""How a reviewer reads an expectation's severity."""

# --------------------------------------------------------------------------
# Thresholds
# --------------------------------------------------------------------------

OUTLIER_CELLS: tuple[str, ...] = (
    "active.normative.issued",
    "active.normative.repealed",
    "active.normative.in_force",
    "active.licensing.decisions",
    "active.penalty.decisions",
    "active.coercion.decisions",
    "active.fees.amount",
    "requests.new.total",
    "requests.carried_in.total",
    "requests.granted.total",
    "requests.partial.total",
    "requests.total.total",
    "requests.carried_out.total",
    "appeals.review.total",
    "appeals.suit_direct.total",
    "appeals.suit_after_review.total",
)
"""The headline cells compared between agencies: 表二's documents, decisions and fees (规章 aside: rule
R2.3 covers it), 表三's totals, 表四's totals.  Their parts follow their totals."""

OUTLIER_FENCE = 2.0
"""An agency is far outside when log10(1 + value) lies more than this many interquartile ranges above
the upper quartile (or below the lower quartile) of the agencies of its kind."""

OUTLIER_SPREAD_FLOOR = 1 / 3
"""The interquartile range used is at least a third of a decade (log10 units): where most agencies
report the same number, a value must still be about ten times the upper quartile to stand out."""

OUTLIER_MIN_PEERS = 8
"""Fewer agencies of a level than this: the agency is compared with every agency of the county."""

SHARE_GAP = 0.4
"""An agency's share of requests granted (or withheld) this far from the county's (40 个百分点) stands out."""

SHARE_MIN_REQUESTS = 10
"""Shares are compared only for agencies that handled at least this many requests."""

COUNTY_JUMP_RATIO = 3
"""The county total of a cell that grows or shrinks this many times against last year's stands out."""

COUNTY_JUMP_FLOOR = 20
"""… when both years are at least this much (a county's 2 → 7 is no news)."""

GRANTED_CODE = "requests.granted.total"
WITHHELD_CODES: tuple[str, ...] = tuple(f"requests.{row}.total" for row in dict(RESULT_GROUPS)["（三）不予公开"])
HANDLED_CODE = "requests.total.total"
SHARES = {"share.granted": ("予以公开", (GRANTED_CODE,)), "share.withheld": ("不予公开", WITHHELD_CODES)}
"""Share key → (what is counted, the 表三 cells summed): shares of 三、（七）总计 (:data:`HANDLED_CODE`)."""


def jump_ratio(this: float, last: float, floor: float = JUMP_FLOOR) -> float | None:
    """max/min of two years' values when both are at least ``floor`` (else None: not compared)."""
    if this is None or last is None or min(this, last) < floor:
        return None
    return max(this, last) / min(this, last)


# --------------------------------------------------------------------------
# Suites and their parts
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Suite:
    key: str  # the GX suite names start with it: "各单位数据·勾稽关系"
    title: str
    meaning: str


SUITE_AGENCIES = "各单位数据"
SUITE_PLAUSIBILITY = "合理性"
SUITE_ROLLUP = "全县汇总"

SUITES: tuple[Suite, ...] = (
    Suite(SUITE_AGENCIES, "各单位报告：填报与勾稽关系",
          "对本年度每个单位的当前报告（已通过的和未通过的，只要文件能读取）逐份核对：栏目是否齐全、数字是否为负、"
          "表三表四的勾稽关系是否成立。未通过的报告也计入，因此可以看出每条规则有多少个单位没有满足，"
          "哪些问题最普遍、需要在培训或填报说明中强调。"),
    Suite(SUITE_PLAUSIBILITY, "各单位报告：合理性提示",
          "逐份报告的校验只能看出一份报告自身是否自洽；这里把各单位放在一起比较：与同类单位相比数值是否异常、"
          "与本单位上年相比是否变化十倍以上、依申请公开的办理结果比例是否与全县相差很大。"
          "这些只是提示，不影响报告是否通过，请复核人员结合实际情况判断，必要时与单位核实。"),
    Suite(SUITE_ROLLUP, "全县汇总表",
          "全县汇总表（各单位已通过报告之和）须满足与单位报告相同的规则；并与上年全县汇总相比，"
          "提示变化很大的栏目。"),
)
SUITE_BY_KEY = {s.key: s for s in SUITES}

PART_TABLE = "表格"
PART_VALUES = "栏目数值"
PART_RULES = "勾稽关系"
PART_PEERS = "同类比较"
PART_LAST_YEAR = "与上年比较"
PART_SHARES = "办理结果比例"

PART_NOTES = {
    PART_TABLE: "{year} 年度{who}，每个单位一行：单位名称、统一社会信用代码、状态和 {cells} 个数字栏目。",
    PART_VALUES: "{year} 年度{who}的数字，每个（单位，栏目）一行。",
    PART_RULES: "{year} 年度{who}的勾稽关系，每个（单位，等式）一行：差额＝左边之和－右边之和，平衡时为 0。",
    PART_PEERS: "{year} 年度{who}的主要栏目与同类单位比较，每个（单位，栏目）一行：偏离程度为 0 表示在同类单位的四分位范围内。",
    PART_LAST_YEAR: "{year} 年度{who}与上年比较，每个两年都不小于下限的（单位，栏目）一行：变化倍数＝较大者÷较小者。",
    PART_SHARES: "{year} 年度{who}依申请公开的办理结果比例，每个（单位，结果）一行：偏差＝本单位比例－全县比例。",
}
"""Shown on each GX suite's page (the technical appendix)."""

WHO = {SUITE_AGENCIES: "各单位当前报告（含未通过的）", SUITE_PLAUSIBILITY: "各单位当前报告（含未通过的）",
       SUITE_ROLLUP: "全县汇总"}


# --------------------------------------------------------------------------
# Expectations
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class ExpectationText:
    key: str
    severity: str  # ERROR or WARNING
    title: str
    meaning: str  # what it checks and why, for a reviewer
    detail: str  # one failing row, a str.format template (fields: see validation's rows)
    passed: str = ""  # what a pass means, when more than "all satisfied"

    @property
    def severity_word(self) -> str:
        return SEVERITY_WORDS[self.severity]


_OWN = (
    ExpectationText(
        "columns", ERROR, "表格栏目齐全",
        f"每个单位的数据都有年报格式的全部 {len(FORM.numeric_codes)} 个数字栏目，且没有多余的列。",
        "{detail}",
    ),
    ExpectationText(
        "unique", ERROR, "每个单位只有一份当前报告",
        "同一单位多次报送时，只取最新的一份（有已通过的取最新已通过的）；表格中每个单位只应出现一次。",
        "重复出现",
    ),
    ExpectationText(
        "outlier", WARNING, "与同类单位比较：数值在通常范围内",
        f"表二、表三、表四的 {len(OUTLIER_CELLS)} 个主要栏目，与同一层级的单位（不足 {OUTLIER_MIN_PEERS} 个时与全县所有单位）比较："
        f"数值（取对数）高于同类单位上四分位数、或低于下四分位数 {OUTLIER_FENCE:g} 倍四分位距以上的，视为远超通常范围。"
        "大致相当于比同类单位的通常范围高出十倍以上，或在同类单位普遍有数时填了 0。可能是填错了栏目或单位，也可能确实如此。",
        "{label}为 {value}；{peers}通常为 {low}～{high}",
    ),
    ExpectationText(
        "jump", WARNING, "与本单位上年比较：没有十倍以上的变化",
        CATALOGUE["RX.2"].description + "与本单位上一年度已通过的年报逐栏比较（规则 RX.2）；没有上年年报的单位不比较。",
        "{label}本年 {this}，上年 {last}（{change}）",
    ),
    ExpectationText(
        "share.granted", WARNING, "予以公开比例与全县接近",
        f"本年度办理的政府信息公开申请中“（一）予以公开”所占比例，与全县的比例相差 {SHARE_GAP * 100:.0f} 个百分点以上"
        f"（只比较办理 {SHARE_MIN_REQUESTS} 件以上的单位）。可能是办理结果填错了行，也可能确有原因，宜了解。",
        "办理 {handled} 件，予以公开 {count} 件，占 {share}；全县为 {county_share}",
    ),
    ExpectationText(
        "share.withheld", WARNING, "不予公开比例与全县接近",
        f"本年度办理的政府信息公开申请中“（三）不予公开”各项之和所占比例，与全县的比例相差 {SHARE_GAP * 100:.0f} 个百分点以上"
        f"（只比较办理 {SHARE_MIN_REQUESTS} 件以上的单位）。比例异常时，宜核实办理结果是否填对了行、不予公开的理由是否充分。",
        "办理 {handled} 件，不予公开 {count} 件，占 {share}；全县为 {county_share}",
    ),
    ExpectationText(
        "county.jump", WARNING, "全县合计与上年相比变化不大",
        f"全县汇总表每个栏目与上年全县汇总相比增减 {COUNTY_JUMP_RATIO} 倍以上（两年都不少于 {COUNTY_JUMP_FLOOR} 时才比较）。"
        "全县的数字通常比较稳定，变化很大时宜查明是哪些单位引起的。",
        "{label}本年 {this}，上年 {last}（{change}）",
    ),
)

_FROM_CATALOGUE = {  # key → (title, or "" for the rule's own; detail of a failing row)
    "cell.empty": ("数字栏目都有可读取的数字", "{label}没有可读取的数字（未填写或不是数字）"),
    "cell.negative": ("没有负数", "{label}为 {value}"),
    **{rule.id: ("", "{scope}差额 {diff}") for rule in LINEAR_RULES},
}


def _from_catalogue(key: str, title: str, detail: str) -> ExpectationText:
    rule = CATALOGUE[key]
    return ExpectationText(key, rule.severity, title or f"{rule.id} {rule.title}", rule.description, detail)


EXPECTATIONS: dict[str, ExpectationText] = {
    **{key: _from_catalogue(key, title, detail) for key, (title, detail) in _FROM_CATALOGUE.items()},
    **{e.key: e for e in _OWN},
}


def expectation(key: str) -> ExpectationText:
    return EXPECTATIONS[key]


# --------------------------------------------------------------------------
# Progress (报送进度): shown, not checked
# --------------------------------------------------------------------------

PROGRESS_TITLE = "报送进度"
PROGRESS_MEANING = ("名单上的单位中已报送的个数（通过与未通过都算已报送）。尚未报送不是数据错误，"
                    "这里只列出还差哪些单位，不作为校验未通过。")

SKIPPED = {
    PART_PEERS: f"能读取的报告不足 {OUTLIER_MIN_PEERS} 份，单位太少，不作同类比较。",
    PART_LAST_YEAR: "没有上一年度已通过的年报可以比较（上年未使用本系统，或各单位上年报告均未通过）。",
    PART_SHARES: f"没有办理 {SHARE_MIN_REQUESTS} 件以上申请的单位，或全县本年未办理申请，不作比较。",
}
"""Why an optional comparison was not made (a part with nothing to compare is not run)."""

COUNTY_LAST_YEAR_SKIPPED = "没有上一年度的全县汇总可以比较（上年未使用本系统汇总）。"

LEVEL_PEERS = "同为{level}级的 {count} 个单位"
ALL_PEERS = "全县 {count} 个单位"
"""Who an agency is compared with (:data:`OUTLIER_MIN_PEERS`)."""

CHANGE_UP = "是上年的 {ratio} 倍"
CHANGE_DOWN = "只有上年的 1/{ratio}"
