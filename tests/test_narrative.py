"""The narrative against the tables: counts, "none" statements and stray years (all warnings)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nianbao.flows.steps.checking import check_files
from nianbao.flows.steps.sample import sample_reports
from nianbao.schemas.checks import check_report
from nianbao.schemas.form import FORM
from nianbao.schemas.narrative import chinese_number, narrative_findings
from nianbao.schemas.published import parse_published
from nianbao.schemas.report import Report

SEED = Path(__file__).resolve().parent / "data" / "seed-000_fe04592393095997.txt"  # a copy of the shared reference


def report(overview="", problems="问题。", other="无。", year=2024, **cells) -> Report:
    numbers = {code: 0.0 for code in FORM.numeric_codes}
    for key, value in cells.items():
        numbers[key.replace("__", ".")] = float(value)
    fields = {"meta.agency": "巫山县司法局", "meta.year": year,
              "text.overview": overview, "text.problems": problems, "text.other": other}
    return Report.from_numbers(numbers, fields)


def found(r: Report) -> list[tuple[str, str, str, str]]:
    return [(f.rule, f.sheet, f.cell, f.code) for f in narrative_findings(r, last_year=2026)]



def test_the_seed_narrative_agrees_with_its_all_zero_tables():
    texts = parse_published(SEED.read_text(encoding="utf-8")).texts
    r = report(texts["text.overview"], texts["text.problems"], texts["text.other"])
    assert narrative_findings(r, last_year=2026) == []
    # … and contradicts tables that have requests, reviews or lawsuits
    busy = report(texts["text.overview"], texts["text.problems"], texts["text.other"],
                  requests__new__total=3, appeals__review__total=1, appeals__suit_direct__total=2)
    findings = narrative_findings(busy, last_year=2026)
    assert [(f.rule, f.sheet, f.cell) for f in findings] == [("text.none", "文字部分", "A3")] * 3
    messages = " ".join(f.message for f in findings)
    assert "未收到政府信息公开申请" in messages
    assert "「表三」J5“一、本年新收政府信息公开申请数量／总计”为 3" in messages
    assert "「表四」E5“行政复议／总计”为 1" in messages
    assert "「表四」J5“行政诉讼／未经复议直接起诉／总计”与「表四」O5“行政诉讼／复议后起诉／总计”之和为 2" in messages


@pytest.mark.parametrize("text, cells, flagged", [
    ("2024年，本机关新收政府信息公开申请5件。", {"requests__new__total": 5}, False),
    ("2024年，本机关新收政府信息公开申请5件。", {"requests__new__total": 4}, True),
    ("本年新收政府信息公开申请三件，均已办结。", {"requests__new__total": 3}, False),
    ("本年新收政府信息公开申请十二件。", {"requests__new__total": 11}, True),
    # 收到/受理 N 件 may count the requests carried over too
    ("全年共收到政府信息公开申请12件（含上年结转2件）。", {"requests__new__total": 10, "requests__carried_in__total": 2}, False),
    ("全年共收到政府信息公开申请12件。", {"requests__new__total": 12}, False),
    ("全年共收到政府信息公开申请11件。", {"requests__new__total": 10, "requests__carried_in__total": 2}, True),
    ("上年结转政府信息公开申请2件。", {"requests__carried_in__total": 1}, True),
    ("结转下年度继续办理1件。", {"requests__carried_out__total": 1}, False),
    ("结转下年度继续办理1件。", {"requests__carried_out__total": 0}, True),
    ("发生政府信息公开行政复议1件、行政诉讼2件。",
     {"appeals__review__total": 1, "appeals__suit_direct__total": 1, "appeals__suit_after_review__total": 1}, False),
    ("发生政府信息公开行政复议1件、行政诉讼2件。", {"appeals__review__total": 1, "appeals__suit_direct__total": 1}, True),
    ("行政复议、行政诉讼各1件。", {"appeals__review__total": 1, "appeals__suit_after_review__total": 1}, False),
    ("未经复议直接起诉1件。", {"appeals__suit_direct__total": 0, "appeals__suit_after_review__total": 1}, True),
    # left alone: comparisons, breakdowns, other years, other kinds of work
    ("收到申请较上年增加5件。", {"requests__new__total": 9}, False),
    ("其中自然人申请3件，法人或其他组织申请2件。", {"requests__new__total": 9}, False),
    ("2023年收到政府信息公开申请30件。", {"requests__new__total": 9}, False),
    ("办理人大代表建议5件，收到群众来信20件，主动公开信息19条。", {"requests__new__total": 9}, False),
])
def test_counts_stated_in_the_overview(text, cells, flagged):
    rules = [r for r in found(report(text, **cells)) if r[0] == "text.count"]
    assert rules == ([("text.count", "文字部分", "A3", "text.overview")] if flagged else [])


def test_a_count_finding_quotes_the_sentence_and_names_the_cell():
    (f,) = narrative_findings(report("2024年，我局新收政府信息公开申请5件，均按期答复。", requests__new__total=4))
    assert f.severity == "warning"
    assert "“2024年，我局新收政府信息公开申请5件，均按期答复。”" in f.message
    assert "（5 件）" in f.message and "「表三」J5" in f.message and "为 4" in f.message


@pytest.mark.parametrize("text, cells, flagged", [
    ("我单位未收到政府信息公开申请。", {"requests__new__total": 2}, True),
    ("我单位未收到政府信息公开申请。", {"requests__carried_in__total": 2}, False),  # none *received*: true
    ("本年度无依申请公开情况。", {"requests__carried_in__total": 1}, True),
    ("（一）主动公开政府信息情况\n发布信息19条。\n（二）依申请公开情况\n无。\n（三）政府信息管理情况\n严格审查。",
     {"requests__new__total": 1}, True),
    ("（一）主动公开政府信息情况\n发布信息19条。\n（二）依申请公开情况\n无。", {}, False),
    ("全年未发生政府信息公开行政复议、行政诉讼。", {"appeals__review__total": 1}, True),
    ("全年未发生政府信息公开行政复议、行政诉讼。", {"appeals__suit_after_review__total": 1}, True),
    ("未收到行政复议申请，行政诉讼1件。", {"appeals__suit_direct__total": 1}, False),
    ("其中无正当理由大量反复申请1件，无法提供2件。", {"requests__new__total": 3}, False),
    ("未经复议直接起诉的案件均已审结。", {"appeals__review__total": 1}, False),
    ("尚未审结的行政诉讼案件将继续跟进。", {"appeals__suit_direct__total": 1}, False),
    ("因未按期答复被申请人提起行政复议。", {"appeals__review__total": 1}, False),
])
def test_none_stated_while_the_tables_have_some(text, cells, flagged):
    rules = [r[0] for r in found(report(text, **cells))]
    assert ("text.none" in rules) == flagged, rules


def test_a_year_of_another_report():
    r = report("截至2023年12月31日，我单位主动公开信息19条。", problems="2023年度工作中存在不足。")
    findings = narrative_findings(r, last_year=2026)
    assert [(f.rule, f.code, f.cell) for f in findings] == [
        ("text.year", "text.overview", "A3"), ("text.year", "text.problems", "A5")]
    assert "“2023年”" in findings[0].message and "2024 年" in findings[0].message


@pytest.mark.parametrize("text", [
    "截至2024年12月31日，主动公开信息19条。",
    "巫山县司法局\n2025年1月20日",  # the filing date, the next year
    "2025年，我局将进一步加强政策解读。",
    "自2019年以来，我局持续推进政务公开。",
    "收到申请较2023年增长10%。",
    "认真贯彻《2024年政务公开工作要点》和2019年修订的《条例》。",
    "新修订的《条例》于2019年5月15日起施行。",
    "2022年5月15日起施行的管理办法。",
    "到2027年底，全面建成政务公开标准体系。",  # plans: not a copy of an old report
    "自2008年《条例》施行以来。",
])
def test_years_that_are_fine(text):
    assert found(report(text)) == []


def test_no_year_check_when_the_report_year_is_itself_wrong():
    r = report("截至2023年12月31日。", year=2019)
    assert narrative_findings(r, last_year=2026) == []
    assert narrative_findings(report("截至2023年12月31日。", year=2099), last_year=2026) == []


def test_chinese_numerals():
    assert [chinese_number(t) for t in ("三", "十", "十二", "二十五", "两", "一百零五", "一千零一十")] == [
        3, 10, 12, 25, 2, 105, 1010]
    assert chinese_number("二三") is None and chinese_number("件") is None and chinese_number("") is None


def test_every_check_gets_the_narrative_warnings(build):
    path = build(values={"requests.new.natural": 2, "requests.new.total": 2, "requests.granted.natural": 2,
                         "requests.granted.total": 2, "requests.total.natural": 2, "requests.total.total": 2},
                 **{"text.overview": "2024年，我单位未收到政府信息公开申请。"})
    (result,) = check_files([str(path)], last_year=2026)
    assert [(f.rule, f.severity, f.sheet, f.cell) for f in result.findings] == [
        ("text.none", "warning", "文字部分", "A3")]
    assert not result.rejected


def test_a_required_section_saying_only_wu_with_punctuation_is_empty(build):
    (result,) = check_files([str(build(**{"text.problems": "无。"}))], last_year=2026)
    assert [(f.rule, f.code) for f in result.findings] == [("text.empty", "text.problems")]


def test_the_sample_countys_narratives_raise_no_false_alarm():
    for sample in sample_reports(2024):
        if sample.fault:
            continue
        values = sample.values
        numbers = {c: float(values[c]) for c in FORM.numeric_codes}
        fields = {f.code: values.get(f.code) for f in FORM.fields}
        r = Report.from_numbers(numbers, fields)
        assert narrative_findings(r, last_year=2026) == [], sample.agency.name
        assert check_report(r, last_year=2026) == [] or all(f.rule == "R2.3" for f in check_report(r, last_year=2026))


# --------------------------------------------------------------------------
# sentences of correct reports that once drew warnings
# --------------------------------------------------------------------------


@pytest.mark.parametrize("text", [
    "针对2023年度年报中提出的问题，我局逐项进行了整改。",
    "2023年12月收到的1件申请于2024年1月办结。",
    "2022年至2024年，我局持续推进政务公开标准化建设。",
    "2022—2024年连续三年开展专项培训。",
])
def test_years_of_correct_reports_are_fine(text):
    assert [f for f in narrative_findings(report(text), last_year=2026) if f.rule == "text.year"] == []


def test_a_copied_date_still_warns():
    (f,) = [f for f in narrative_findings(report("截至2023年12月31日，本机关共受理申请5件。"), last_year=2026)
            if f.rule == "text.year"]
    assert "2023" in f.message


@pytest.mark.parametrize("text", [
    "全年未发生因政府信息公开被行政复议纠错的情况。",
    "无行政复议被纠错案件。",
    "未出现行政诉讼败诉情况。",
])
def test_no_corrections_is_not_no_cases(text):
    upheld = {"appeals__review__upheld": 2, "appeals__review__total": 2,
              "appeals__suit_direct__upheld": 1, "appeals__suit_direct__total": 1}
    assert [f for f in narrative_findings(report(text, **upheld), last_year=2026) if f.rule == "text.none"] == []
    corrected = {"appeals__review__corrected": 1, "appeals__review__total": 1,
                 "appeals__suit_direct__corrected": 1, "appeals__suit_direct__total": 1}
    found = [f for f in narrative_findings(report(text, **corrected), last_year=2026) if f.rule == "text.none"]
    assert found and all("结果纠正" in f.message for f in found)
