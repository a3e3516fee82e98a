"""The narrative against the tables: what the text says, checked against the numbers.

Section 一、总体情况 usually restates a few figures of the tables in prose
(本年新收政府信息公开申请N件, 上年结转N件, 行政复议N件 …) or says that
nothing happened (未收到政府信息公开申请, 无行政复议、行政诉讼).  When such a
statement contradicts the tables one of them is wrong; and a year in the text
that is neither the report year nor the next (the filing date, plans) is the
mark of last year's report copied.  All findings are warnings and name the
narrative cell (「文字部分」), quoting the sentence.

The reading is deliberately narrow: a number is compared only when the
clause says plainly what it counts; comparisons with other years (同比, 较上年),
breakdowns by applicant (其中自然人…) and anything ambiguous are left alone.
Pure: no file I/O.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from .findings import Finding
from .form import FIRST_YEAR, TEXT_FIELDS
from .report import Report
from .values import coerce_text, coerce_year, format_number, is_placeholder

QUOTE_LIMIT = 60

# --------------------------------------------------------------------------
# Numbers written in words
# --------------------------------------------------------------------------

_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_UNITS = {"十": 10, "百": 100, "千": 1000}


def chinese_number(text: str) -> int | None:
    """``三`` → 3, ``十二`` → 12, ``二十五`` → 25, ``一百零五`` → 105; None when it is not a plain numeral."""
    if not text or any(ch not in _DIGITS and ch not in _UNITS for ch in text):
        return None
    total, digit = 0, None
    for ch in text:
        if ch in _DIGITS:
            if digit is not None and digit != 0 and _DIGITS[ch] != 0:
                return None  # 二三: not a numeral
            digit = _DIGITS[ch]
        else:
            total += (1 if digit is None else digit) * _UNITS[ch]
            digit = None
    return total + (digit or 0)


def read_number(text: str) -> int | None:
    text = unicodedata.normalize("NFKC", text)
    return int(text) if text.isdigit() else chinese_number(text)


# --------------------------------------------------------------------------
# Sentences and clauses
# --------------------------------------------------------------------------

_SENTENCE_END = re.compile(r"(?<=[。！？!?；;])|\n")
_CLAUSE_SEP = re.compile(r"[，,：:（）()【】\[\]]")
_COUNT = re.compile(r"(\d+|[零〇一二两三四五六七八九十百千]+)\s*(?:件|起|宗|例)")


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


def _quote(sentence: str) -> str:
    s = sentence.strip()
    return s if len(s) <= QUOTE_LIMIT else s[: QUOTE_LIMIT - 1] + "…"


# --------------------------------------------------------------------------
# What a clause counts
# --------------------------------------------------------------------------

_COMPARISON = re.compile(r"同比|较上年|比上年|较去年|比去年|上年同期|去年同期|相比|增加|减少|增长|下降|持平|环比")
_BREAKDOWN = re.compile(r"自然人|法人|企业|科研|公益|法律服务|其他组织|其中.*(?:公开|提供|处理)")
_YEAR = re.compile(r"((?:19|20)\d\d)\s*年")

_REQ_TOTAL = "requests.{row}.total"
_SUITS = ("appeals.suit_direct.total", "appeals.suit_after_review.total")
TOPICS: dict[str, tuple[str, tuple[str, ...]]] = {
    # topic → (what it is, in messages; the cells whose sum the text states)
    "new": ("本年新收申请", (_REQ_TOTAL.format(row="new"),)),
    "carried_in": ("上年结转申请", (_REQ_TOTAL.format(row="carried_in"),)),
    "carried_out": ("结转下年度申请", (_REQ_TOTAL.format(row="carried_out"),)),
    "review": ("行政复议", ("appeals.review.total",)),
    "suit": ("行政诉讼", _SUITS),
    "suit_direct": ("未经复议直接起诉", ("appeals.suit_direct.total",)),
    "suit_after_review": ("复议后起诉", ("appeals.suit_after_review.total",)),
}


def _topics(prefix: str) -> list[str]:
    """What the number right after ``prefix`` counts (none when unclear)."""
    if "未经复议" in prefix or "直接起诉" in prefix:
        return ["suit_direct"]
    if "复议后起诉" in prefix:
        return ["suit_after_review"]
    review = "复议" in prefix
    suit = "诉讼" in prefix or "起诉" in prefix
    if review and suit:
        return ["review", "suit"] if "各" in prefix else []
    if suit:
        return ["suit"]
    if review:
        return ["review"]
    if re.search(r"结转(?:至|到)?(?:下|下一|明)年", prefix) or "转入下一年" in prefix:
        return ["carried_out"]
    if re.search(r"(?:上年|上一年|去年|以前年度|往年).{0,4}结转|结转上", prefix):
        return ["carried_in"]
    if "申请" in prefix and re.search(r"新收|收到|受理|接到|接收", prefix) and not _BREAKDOWN.search(prefix):
        return ["new"]
    return []


@dataclass(frozen=True)
class Statement:
    topic: str
    stated: int
    sentence: str
    inclusive: bool = False  # 收到/受理 N 件 may include the requests carried over


def statements(text: str, report_year: int | None = None) -> list[Statement]:
    """The counts a text states, with their topics."""
    out = []
    for sentence in sentences(text):
        norm = unicodedata.normalize("NFKC", sentence)
        for clause in _CLAUSE_SEP.split(norm):
            if _COMPARISON.search(clause):
                continue
            years = {int(y) for y in _YEAR.findall(clause)}
            if report_year is not None and years - {report_year}:
                continue  # about another year
            start = 0
            for m in _COUNT.finditer(clause):
                prefix = clause[start: m.start()]
                start = m.end()
                value = read_number(m.group(1))
                if value is None:
                    continue
                for topic in _topics(prefix):
                    inclusive = topic == "new" and "新收" not in prefix
                    out.append(Statement(topic, value, sentence, inclusive))
    return out


# --------------------------------------------------------------------------
# "Nothing happened" statements
# --------------------------------------------------------------------------

_NEGATION = r"(?:未(?!经|审结|结|办结|完结|按|及时|予|能)|没有|不存在|无(?!法|正当|偿|需|须))"
_NO_REQUESTS = re.compile(r"(?:未|没有)(?:收到|受理|接到|接收|发生|产生)[^，,。；;]{0,12}申请")
_NO_REQUEST_WORK = re.compile(
    rf"{_NEGATION}[^，,。；;]{{0,8}}依申请公开|依申请公开[^，,。；;]{{0,8}}(?:为0|为零|为无)"
)
_NO_REVIEW = re.compile(rf"{_NEGATION}[^，,。；;]{{0,24}}?复议")
_NO_SUIT = re.compile(rf"{_NEGATION}[^，,。；;]{{0,30}}?(?:诉讼|起诉)")
_OUTCOME = re.compile(r"纠错|纠正|败诉|撤销|确认违法")
""""No case was corrected / lost" speaks of the outcome (结果纠正), not of the number of cases."""


@dataclass(frozen=True)
class Claim:
    """The text says there was none of ``topic``."""

    topic: str  # "new", "requests" (new + carried over), "review", "suit", "review_corrected", "suit_corrected"
    sentence: str


_CLAIM_CELLS = {
    "new": ("本年新收申请", (_REQ_TOTAL.format(row="new"),)),
    "requests": ("依申请公开", (_REQ_TOTAL.format(row="new"), _REQ_TOTAL.format(row="carried_in"))),
    "review": ("行政复议", ("appeals.review.total",)),
    "suit": ("行政诉讼", _SUITS),
    "review_corrected": ("行政复议结果纠正", ("appeals.review.corrected",)),
    "suit_corrected": ("行政诉讼结果纠正", ("appeals.suit_direct.corrected", "appeals.suit_after_review.corrected")),
}


def claims(text: str) -> list[Claim]:
    out = []
    for sentence in sentences(text):
        norm = unicodedata.normalize("NFKC", sentence)
        for clause in _CLAUSE_SEP.split(norm):
            if any(read_number(m.group(1)) for m in _COUNT.finditer(clause)):
                continue  # a clause with a count says how many, not "none"
            appeals = "复议" in clause or "诉讼" in clause or "起诉" in clause
            if not appeals and _NO_REQUESTS.search(clause):
                out.append(Claim("new", sentence))
            elif not appeals and _NO_REQUEST_WORK.search(clause):
                out.append(Claim("requests", sentence))
            if appeals:
                stripped = clause.replace("未经复议", "")
                suffix = "_corrected" if _OUTCOME.search(stripped) else ""
                if _NO_REVIEW.search(stripped) and "复议后起诉" not in stripped:
                    out.append(Claim("review" + suffix, sentence))
                if _NO_SUIT.search(stripped):
                    out.append(Claim("suit" + suffix, sentence))
    return out


_SUBSECTION = re.compile(r"^[(（][一二三四五六七八九十]+[)）]")


def empty_request_subsection(text: str) -> str | None:
    """The heading of a 依申请公开 subsection of 一 left empty or only ``无``, if any."""
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    for i, line in enumerate(lines):
        norm = unicodedata.normalize("NFKC", line)
        if not (_SUBSECTION.match(norm) and "依申请公开" in norm and len(norm) <= 20):
            continue
        body = []
        for following in lines[i + 1:]:
            if _SUBSECTION.match(unicodedata.normalize("NFKC", following)):
                break
            body.append(following)
        if not body or all(is_placeholder(b) for b in body):
            return line
    return None


# --------------------------------------------------------------------------
# Years
# --------------------------------------------------------------------------

STRAY_YEARS_BACK = 3
"""Only the last few years before the report year betray a copied report; older ones are history (2019年修订)."""
_YEAR_CONTEXT_BEFORE = re.compile(r"(?:较|比|自|从|于|与|《[^》]*)$")
_YEAR_CONTEXT_AFTER = re.compile(
    r"^年度?(?:\d{1,2}月(?:\d{1,2}日)?)?(?:以来|起|开始|至今|修订|颁布|印发|施行|实施|发布|同期|相比|第)"
    r"|^年度?(?:政府信息公开)?(?:工作)?(?:年度)?(?:年报|报告)"  # 针对2023年度年报中提出的问题: a report named
)
_YEAR_RANGE = re.compile(r"((?:19|20)\d\d)\s*年?\s*(?:至|到|—|–|-|~|～)\s*((?:19|20)\d\d)\s*年")


def stray_years(text: str, report_year: int) -> list[tuple[int, str]]:
    """(year, sentence) for each of the last few years before the report year written in ``text``.

    The report year and the next (the filing date, plans) are expected; so are
    years in comparisons (较2023年), starting points (自2021年以来, 2023年起) and
    dates of laws and documents (2019年5月15日起施行, 《2024年政务公开工作要点》).
    """
    out, seen = [], set()
    for sentence in sentences(text):
        norm = unicodedata.normalize("NFKC", sentence)
        # a span that reaches the report year (2022年至2024年) or a date of the report year beside an earlier
        # one (2023年12月收到的申请于2024年1月办结: carried over) is this report's business
        spans = [m.span() for m in _YEAR_RANGE.finditer(norm) if int(m.group(2)) >= report_year]
        crosses = re.search(rf"{report_year}\s*年\s*\d{{1,2}}\s*月", norm) is not None
        for m in _YEAR.finditer(norm):
            year = int(m.group(1))
            if not report_year - STRAY_YEARS_BACK <= year < report_year or year in seen:
                continue
            if any(a <= m.start() < b for a, b in spans):
                continue
            if crosses and re.match(r"年\s*\d{1,2}\s*月", norm[m.end() - 1:]):
                continue
            before = norm[max(0, m.start() - 12): m.start()]
            after = norm[m.end() - 1: m.end() + 12]
            if _YEAR_CONTEXT_BEFORE.search(before) or _YEAR_CONTEXT_AFTER.match(after):
                continue
            if _COMPARISON.search(norm[max(0, m.start() - 6): m.end() + 8]):
                continue
            seen.add(year)
            out.append((year, sentence))
    return out


# --------------------------------------------------------------------------
# The findings
# --------------------------------------------------------------------------


def _cells_text(report: Report, codes: tuple[str, ...]) -> str:
    parts = [report.full_label(code) for code in codes]
    return "与".join(parts) if len(parts) <= 2 else "、".join(parts)


def _sum(report: Report, codes: tuple[str, ...]) -> float | None:
    values = [report.dependable_numbers.get(c) for c in codes]
    if any(v is None for v in values):
        return None
    return float(sum(values))


def _sum_phrase(report: Report, codes: tuple[str, ...]) -> str:
    cells = _cells_text(report, codes)
    return cells if len(codes) == 1 else f"{cells}之和"


def narrative_findings(report: Report, *, last_year: int | None = None) -> list[Finding]:
    """Warnings where the narrative contradicts the tables or names another year."""
    if not report.readable:
        return []
    out: list[Finding] = []
    year = coerce_year(report.fields.get("meta.year"))
    year_ok = year is not None and FIRST_YEAR <= year and (last_year is None or year <= last_year)
    overview_field = TEXT_FIELDS[0]
    overview = coerce_text(report.fields.get(overview_field.code))

    # figures stated in 一、总体情况
    for st in statements(overview, year if year_ok else None):
        what, codes = TOPICS[st.topic]
        actual = _sum(report, codes)
        if actual is None or st.stated == actual:
            continue
        if st.inclusive:
            alt = _sum(report, codes + (_REQ_TOTAL.format(row="carried_in"),))
            if alt is not None and st.stated == alt:
                continue
        out.append(report.finding(
            "text.count", overview_field.code, section=overview_field.label, quote=_quote(st.sentence),
            stated=st.stated, cells=_sum_phrase(report, codes), value=format_number(actual),
        ))

    # "none" stated in 一、总体情况
    found = [(c.topic, c.sentence) for c in claims(overview)]
    heading = empty_request_subsection(overview)
    if heading is not None:
        found.append(("requests", heading + "（无内容）"))
    for topic, sentence in found:
        what, codes = _CLAIM_CELLS[topic]
        actual = _sum(report, codes)
        if actual is None or actual == 0:
            continue
        out.append(report.finding(
            "text.none", overview_field.code, section=overview_field.label, quote=_quote(sentence),
            cells=_sum_phrase(report, codes), value=format_number(actual),
        ))

    # years of another report
    if year_ok:
        for fld in TEXT_FIELDS:
            text = coerce_text(report.fields.get(fld.code))
            for stray, sentence in stray_years(text, year):
                out.append(report.finding(
                    "text.year", fld.code, section=fld.label, year=stray, quote=_quote(sentence), report_year=year,
                ))

    unique, seen = [], set()
    for f in out:
        if (f.rule, f.message) not in seen:
            seen.add((f.rule, f.message))
            unique.append(f)
    return unique

