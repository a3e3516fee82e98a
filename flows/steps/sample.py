"""A realistic sample county (巫山县) for the demo, the benchmark and the tests.

Figures are random but plausible and deterministic for a given seed; every
valid report satisfies every rule, and the faulty ones carry the mistakes
reviewers actually find.  The USCCs are made up (correct check characters,
no real organisation behind them).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from nianbao.schemas.form import FORM, REQUEST_COLUMNS, RESULT_ROWS
from nianbao.schemas.uscc import complete

COUNTY = "巫山县"
COUNTY_CODE = "500237"  # 重庆市巫山县

AGENCIES = (
    "巫山县人民政府办公室", "巫山县发展和改革委员会", "巫山县教育委员会", "巫山县科学技术局",
    "巫山县经济和信息化委员会", "巫山县民族宗教事务委员会", "巫山县公安局", "巫山县民政局", "巫山县司法局",
    "巫山县财政局", "巫山县人力资源和社会保障局", "巫山县规划和自然资源局", "巫山县生态环境局",
    "巫山县住房和城乡建设委员会", "巫山县城市管理局", "巫山县交通运输委员会", "巫山县水利局",
    "巫山县农业农村委员会", "巫山县商务委员会", "巫山县文化和旅游发展委员会", "巫山县卫生健康委员会",
    "巫山县退役军人事务局", "巫山县应急管理局", "巫山县审计局", "巫山县市场监督管理局", "巫山县统计局",
    "巫山县林业局", "巫山县医疗保障局", "巫山县信访办公室", "巫山县大数据应用发展管理局", "巫山工业园区管委会",
    "巫山县高唐街道办事处", "巫山县龙门街道办事处", "巫山县巫峡镇人民政府", "巫山县大昌镇人民政府",
    "巫山县福田镇人民政府", "巫山县龙溪镇人民政府", "巫山县庙宇镇人民政府", "巫山县大溪乡人民政府",
    "巫山县两坪乡人民政府", "巫山县竹贤乡人民政府",
)
SEED_AGENCY = "巫山工业园区管委会"

SEED_OVERVIEW = (
    "（一）主动公开政府信息情况\n{year}年，{agency}高度重视政府信息公开工作，严格落实信息公开制度，"
    "截至{year}年12月31日，主动发布信息19条。\n（二）依申请公开情况\n{year}年，我单位{requests}\n"
    "（三）政府信息管理情况\n严格执行“三审三校”制度，做好公开前的保密审查和公开属性认定工作。\n"
    "（四）政府信息公开平台建设情况\n通过县政府门户网站和政务新媒体发布信息。\n"
    "（五）监督保障情况\n将政府信息公开工作纳入目标考核体系。"
)
SEED_PROBLEMS = (
    "在{year}年度政府信息公开工作中，公开内容的深度和广度有待进一步提升，政务新媒体的运营和管理水平有待提高。"
    "下一步将加强政策解读，提升信息发布的质量和效率。"
)

FAULTS = ("balance", "row_total", "unit", "slash", "uscc", "appeal_total")
"""The mistakes reviewers find most, in the order the sample uses them."""


def uscc_for(index: int) -> str:
    return complete(f"11{COUNTY_CODE}MB{1_000_000 + index * 7919:07d}"[:17])


@dataclass
class Agency:
    name: str
    uscc: str


@dataclass
class SampleReport:
    agency: Agency
    year: int
    values: dict[str, object]  # code → value, as an agency would type it
    fault: str | None = None  # which typical mistake it carries
    expected_rules: set[str] = field(default_factory=set)


def roster() -> list[Agency]:
    return [Agency(name, uscc_for(i)) for i, name in enumerate(AGENCIES)]


def valid_values(rng: random.Random, *, busy: float = 1.0, zero: bool = False) -> dict[str, float]:
    """Figures that satisfy every rule; ``busy`` scales the request counts."""
    values: dict[str, float] = {code: 0 for code in FORM.numeric_codes}
    if zero:
        return values
    parts = [c.code for c in REQUEST_COLUMNS[:-1]]
    weights = {"natural": 1.0, "business": 0.3, "research": 0.02, "nonprofit": 0.02, "legal": 0.1, "other_org": 0.05}
    common = {"granted": 0.45, "partial": 0.1, "unavailable_not_held": 0.25, "refused_duplicate": 0.05,
              "withheld_third_party": 0.05, "other_other": 0.1}
    for col in parts:
        n = int(rng.expovariate(1 / max(0.01, 8 * busy * weights[col]))) if rng.random() < 0.7 else 0
        results = dict.fromkeys(RESULT_ROWS, 0)
        for _ in range(n):
            row = rng.choices(list(common), weights=list(common.values()))[0]
            results[row] += 1
        carried_out = rng.choice((0, 0, 0, 1)) if n else 0
        total = sum(results.values())
        carried_in = min(total + carried_out, rng.choice((0, 0, 0, 1)))
        values.update({f"requests.{r}.{col}": v for r, v in results.items()})
        values[f"requests.total.{col}"] = total
        values[f"requests.carried_out.{col}"] = carried_out
        values[f"requests.carried_in.{col}"] = carried_in
        values[f"requests.new.{col}"] = total + carried_out - carried_in
    for row in ("new", "carried_in", *RESULT_ROWS, "total", "carried_out"):
        values[f"requests.{row}.total"] = sum(values[f"requests.{row}.{c}"] for c in parts)
    for group in ("review", "suit_direct", "suit_after_review"):
        outcomes = [rng.choice((0, 0, 0, 0, 1)) for _ in range(4)]
        for outcome, v in zip(("upheld", "corrected", "other", "pending"), outcomes):
            values[f"appeals.{group}.{outcome}"] = v
        values[f"appeals.{group}.total"] = sum(outcomes)
    issued = rng.randint(0, 6)
    repealed = rng.randint(0, 2)
    values["active.normative.issued"] = issued
    values["active.normative.repealed"] = repealed
    values["active.normative.in_force"] = issued + rng.randint(repealed, 30)
    for row in ("licensing", "penalty", "coercion"):
        values[f"active.{row}.decisions"] = int(rng.expovariate(1 / 40)) if rng.random() < 0.5 else 0
    values["active.fees.amount"] = round(rng.uniform(0, 300), 2) if rng.random() < 0.3 else 0
    return values


def _overview(agency: str, year: int, values: dict) -> str:
    new = int(values["requests.new.total"])
    requests = (
        f"共收到政府信息公开申请{new}件，已全部按期答复。" if new else "未收到政府信息公开申请。"
    )
    return SEED_OVERVIEW.format(year=year, agency=agency, requests=requests)


def apply_fault(values: dict[str, object], fault: str, agency: Agency) -> tuple[set[str], Agency]:
    """Introduce one typical mistake; returns the rule ids it must trigger."""
    if fault == "balance":  # carried over to next year forgotten
        values["requests.new.natural"] = float(values["requests.new.natural"]) + 1
        values["requests.new.total"] = float(values["requests.new.total"]) + 1
        return {"R3.1"}, agency
    if fault == "row_total":  # a row total typed by hand, off by one
        values["requests.granted.total"] = float(values["requests.granted.total"]) + 1
        return {"R3.2", "R3.3"}, agency
    if fault == "unit":
        values["requests.new.natural"] = f"{int(values['requests.new.natural'])}件"
        return {"cell.unit"}, agency
    if fault == "slash":
        values["appeals.suit_direct.other"] = "/"
        return {"cell.not_number"}, agency
    if fault == "uscc":
        good = agency.uscc
        wrong = good[:17] + ("0" if good[17] != "0" else "1")
        return {"meta.uscc"}, Agency(agency.name, wrong)
    if fault == "appeal_total":
        values["appeals.review.total"] = float(values["appeals.review.total"]) + 1
        return {"R4.1"}, agency
    raise ValueError(f"unknown fault {fault!r}")


def sample_reports(
    year: int = 2024,
    *,
    seed: int = 2024,
    agencies: list[Agency] | None = None,
    missing: int = 4,
    faulty: int = 5,
) -> list[SampleReport]:
    """Reports of a sample county: all but ``missing`` agencies file, ``faulty`` with a mistake."""
    rng = random.Random(seed)
    agencies = list(agencies or roster())
    seed_agency = next((a for a in agencies if a.name == SEED_AGENCY), None)
    others = [a for a in agencies if a is not seed_agency]
    rng.shuffle(others)
    filing = others[missing:]
    faulty_ones = {id(a) for a in filing[:faulty]}
    out = []
    for agency in ([seed_agency] if seed_agency else []) + filing:
        zero = agency is seed_agency
        values: dict[str, object] = dict(valid_values(rng, zero=zero, busy=rng.uniform(0.2, 2.0)))
        report = SampleReport(agency, year, values)
        if id(agency) in faulty_ones:
            report.fault = FAULTS[len([r for r in out if r.fault]) % len(FAULTS)]
            report.expected_rules, report.agency = apply_fault(values, report.fault, agency)
        values.update({
            "meta.agency": agency.name,
            "meta.uscc": report.agency.uscc,
            "meta.year": year,
            "meta.preparer": "张三",
            "meta.phone": "023-57682000",
            "text.overview": _overview(agency.name, year, values),
            "text.problems": SEED_PROBLEMS.format(year=year),
            "text.other": "无。",
        })
        out.append(report)
    return out


# --------------------------------------------------------------------------
# Realistic narratives and the warnings first drafts carry (for the benchmark)
# --------------------------------------------------------------------------

_ACTIVE = (
    "{year}年，{agency}高度重视政府信息公开工作，将其作为推进依法行政、建设法治政府的重要举措，认真贯彻落实"
    "《中华人民共和国政府信息公开条例》，严格落实信息公开制度，持续推进政府信息公开规范化、标准化、信息化建设。",
    "截至{year}年12月31日，我单位主动发布信息{items}条，其中机构职能{f1}条，政府信息公开指南1条，政策文件{f2}条，"
    "财政预决算{f3}条，法治政府建设1条，政府信息主动公开全清单1条，政府信息公开年报1条。",
    "围绕群众关心关注的重点领域，及时公开行政许可、行政处罚、行政强制等执法信息，全年公开行政许可决定{lic}件、"
    "行政处罚决定{pen}件，做到执法信息应公开尽公开。",
    "坚持以公开为常态、不公开为例外，按照“谁制作、谁公开，谁保存、谁公开”的原则，明确公开责任科室和专人，"
    "建立健全信息发布协调机制，确保信息发布及时、准确、权威。",
    "加强政策解读工作，对涉及群众切身利益的政策文件，同步采取图文解读、问答等方式进行解读，"
    "全年制发行政规范性文件{issued}件，废止{repealed}件，现行有效{in_force}件，均已按要求在门户网站公开。",
    "聚焦优化营商环境、乡村振兴、民生保障等重点工作，及时发布工作动态、通知公告和政策措施，主动回应社会关切，"
    "对涉及企业和群众办事的事项，公开办事指南、办理流程和咨询电话，方便群众查询办理。",
    "严格落实财政预决算公开要求，按照规定的时限、内容和格式公开部门预算、决算和“三公”经费，"
    "细化公开到功能分类的项级科目，并对“三公”经费增减变化情况作出说明，主动接受社会监督。",
)
_MANAGEMENT = (
    "我单位严格执行科室负责人初审、分管负责人复审、主要负责人终审的“三审三校”制度，切实做好政府信息公开前的保密审查"
    "和公开属性认定工作，并对拟公开的政府信息进行严格审查，确保信息的准确性、完整性和安全性。",
    "定期开展已公开信息的自查和清理工作，对过时、失效的信息及时更新或撤下，对公开内容中涉及个人隐私的信息进行技术处理，"
    "防止因公开不当造成不良影响。",
    "健全政府信息公开工作台账，对主动公开、依申请公开、政策解读、回应关切等工作逐项登记、动态更新，做到有据可查。",
)
_PLATFORM = (
    "在县政府办公室的指导下，不断优化升级平台建设，我单位主要通过两个渠道发布相关信息。一是县人民政府门户网站："
    "作为政府信息公开的主要平台，及时修订更新政府信息公开指南，按要求定期更新法定主动公开内容；二是政务新媒体："
    "通过微信公众号及时发布工作动态、通知公告和政策解读，拓宽群众获取信息的渠道。",
    "按照政府网站和政务新媒体检查指标要求，定期对栏目内容进行巡查，及时整改错链、空白栏目和更新不及时等问题，"
    "全年未发生因信息发布引起的舆情事件。",
)
_OVERSIGHT = (
    "成立由主要负责人任组长、分管负责人任副组长、各科室负责人为成员的政府信息公开工作领导小组，明确办公室为政府信息公开"
    "工作机构，配备专人负责日常工作，形成主要领导亲自抓、分管领导具体抓、工作人员抓落实的工作格局。",
    "建立健全政府信息公开保密审查、信息发布、依申请公开办理等工作制度，对依申请公开实行登记、审核、办理、答复、归档"
    "全流程管理，确保每件申请都有记录、有回音、可追溯。",
    "将政府信息公开工作纳入年度目标考核体系，定期研究部署，组织工作人员参加县政府办公室举办的政府信息公开业务培训{train}次，"
    "不断提升工作人员的业务能力。全年未发生因政府信息公开工作被责任追究的情况。",
)
_PROBLEMS = (
    "{year}年，我单位政府信息公开工作虽然取得了一定成效，但仍存在一些不足：一是公开内容的深度和广度有待进一步提升，"
    "部分信息公开不够及时；二是政策解读形式较为单一，图解、视频等多元化解读方式运用不多；三是工作人员业务水平有待提高，"
    "对《条例》的理解把握还不够精准。",
    "下一步，我单位将从以下几个方面加以改进：一是进一步提高思想认识，加强对政府信息公开工作的组织领导，"
    "确保各项工作落到实处；二是进一步丰富公开内容，围绕重点领域和群众关切，及时准确公开相关信息；三是进一步创新解读方式，"
    "提升政策解读的针对性和实效性；四是进一步加强业务培训，提升工作人员的业务能力和服务水平。",
)
_OTHER = (
    "{year}年，我单位未收取信息处理费。",
    "我单位认真落实国务院办公厅政府信息与政务公开办公室印发的《政府信息公开工作年度报告格式》要求，"
    "按时编制并公开本年度报告。人大代表建议和政协委员提案办理结果均已按要求公开。",
)

WARNING_KINDS = ("empty", "short", "count", "none", "year", "jump")
"""The warnings first drafts carry most: narrative empty, too short (五、 left as “无”), a figure in the
narrative that the tables contradict, “no requests” with requests in the tables, last year's text kept,
and a tenfold jump against last year's report."""


def long_texts(agency: str, year: int, values: dict, rng: random.Random, *, stated_requests: int | None = None,
               none_claim: bool = False) -> dict[str, str]:
    """A narrative of real length (a few thousand characters) agreeing with ``values``, unless told otherwise."""
    items = rng.randint(15, 260)
    f1, f2 = rng.randint(1, items // 3 + 1), rng.randint(0, items // 4)
    fmt = dict(year=year, agency=agency, items=items, f1=f1, f2=f2, f3=rng.randint(1, 6),
               lic=int(values.get("active.licensing.decisions") or 0),
               pen=int(values.get("active.penalty.decisions") or 0),
               issued=int(values.get("active.normative.issued") or 0),
               repealed=int(values.get("active.normative.repealed") or 0),
               in_force=int(values.get("active.normative.in_force") or 0), train=rng.randint(1, 4))
    new = int(values.get("requests.new.total") or 0) if stated_requests is None else stated_requests
    reviews = int(values.get("appeals.review.total") or 0)
    suits = int(values.get("appeals.suit_direct.total") or 0) + int(values.get("appeals.suit_after_review.total") or 0)
    if none_claim or not new:
        requests = f"{year}年，我单位未收到政府信息公开申请。"
    else:
        requests = (f"{year}年，我单位共收到政府信息公开申请{new}件，均在法定期限内予以答复，答复率100%。"
                    "对申请人提出的申请，严格按照《条例》规定的程序和时限办理，做到依法依规、规范有序。")
    requests += ("全年未发生政府信息公开行政复议、行政诉讼案件。" if not reviews and not suits else
                 f"全年发生政府信息公开行政复议{reviews}件、行政诉讼{suits}件，已按要求做好答复和应诉工作。")
    overview = "\n".join([
        "（一）主动公开政府信息情况", *[s.format(**fmt) for s in _ACTIVE],
        "（二）依申请公开情况", requests,
        "（三）政府信息管理情况", *[s.format(**fmt) for s in _MANAGEMENT],
        "（四）政府信息公开平台建设情况", *[s.format(**fmt) for s in _PLATFORM],
        "（五）监督保障情况", *[s.format(**fmt) for s in _OVERSIGHT],
    ])
    return {"text.overview": overview, "text.problems": "".join(s.format(**fmt) for s in _PROBLEMS),
            "text.other": "".join(s.format(**fmt) for s in _OTHER)}


def apply_warning(values: dict[str, object], kind: str, agency: str, year: int, rng: random.Random) -> set[str]:
    """Give a report the narrative of ``kind`` (see :data:`WARNING_KINDS`); returns the rule ids it should
    trigger.  ``jump`` changes this year's figures only: the jump shows against :func:`last_year_values`."""
    texts = long_texts(agency, year, values, rng)
    expected: set[str] = set()
    if kind == "empty":
        texts["text.overview"] = ""
        expected = {"text.empty"}
    elif kind == "short":
        texts["text.overview"] = f"{year}年，{agency}认真贯彻落实《政府信息公开条例》，按要求做好政府信息公开工作。"
        texts["text.problems"] = "无。"
        expected = {"text.empty"}
    elif kind == "count":
        stated = int(float(values.get("requests.new.total") or 0) + float(values.get("requests.carried_in.total") or 0)
                     + rng.randint(1, 5))
        texts = long_texts(agency, year, values, rng, stated_requests=stated)
        expected = {"text.count"}
    elif kind == "none":
        if not float(values.get("requests.new.total") or 0):  # make sure the tables do have requests
            values["requests.new.natural"] = float(values["requests.new.natural"]) + 2
            values["requests.new.total"] = float(values["requests.new.total"]) + 2
            values["requests.granted.natural"] = float(values["requests.granted.natural"]) + 2
            values["requests.granted.total"] = float(values["requests.granted.total"]) + 2
            values["requests.total.natural"] = float(values["requests.total.natural"]) + 2
            values["requests.total.total"] = float(values["requests.total.total"]) + 2
        texts = long_texts(agency, year, values, rng, none_claim=True)
        expected = {"text.none"}
    elif kind == "year":  # last year's report copied, one sentence not updated
        texts["text.problems"] = texts["text.problems"].replace(f"{year}年", f"{year - 1}年", 1)
        expected = {"text.year"}
    elif kind == "jump":
        values["active.penalty.decisions"] = rng.randint(60, 400)
        expected = {"RX.2"}
    else:
        raise ValueError(f"unknown warning {kind!r}")
    values.update(texts)
    return expected


def last_year_values(values: dict[str, object], year: int, agency: str, rng: random.Random, *,
                     jump: bool = False) -> dict[str, object]:
    """Last year's accepted report of an agency whose this year's report is ``values`` (a valid one): the
    same figures, carried over consistently (its carried-out requests are this year's carried-in, its
    documents in force lead to this year's); with ``jump``, 行政处罚 a tenth of this year's."""
    last = dict(values)
    for col in (c.code for c in REQUEST_COLUMNS):
        delta = float(values[f"requests.carried_in.{col}"]) - float(values[f"requests.carried_out.{col}"])
        last[f"requests.carried_out.{col}"] = float(values[f"requests.carried_in.{col}"])
        last[f"requests.new.{col}"] = float(values[f"requests.new.{col}"]) + delta
    for row in ("rules", "normative"):
        last[f"active.{row}.in_force"] = (float(values[f"active.{row}.in_force"]) - float(values[f"active.{row}.issued"])
                                          + float(values[f"active.{row}.repealed"]))
    penalty = float(values.get("active.penalty.decisions") or 0)
    if jump and penalty >= 60:
        last["active.penalty.decisions"] = float(int(penalty // rng.randint(10, 12)))
    last.update(long_texts(agency, year - 1, last, rng))
    last["meta.year"] = year - 1
    return last
