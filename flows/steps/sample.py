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
