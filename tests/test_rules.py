"""Every blocking rule, broken on purpose in a workbook filled by name."""

from __future__ import annotations

import pytest

from nianbao.flows.steps.checking import check_files
from nianbao.schemas.form import FORM
from nianbao.schemas.values import format_number


def check(path):
    (result,) = check_files([str(path)], last_year=2026)
    return result


def rules_at(result):
    """{(rule, sheet, cell)} of the findings."""
    return {(f.rule, f.sheet, f.cell) for f in result.findings}


def test_the_seed_report_passes(build):
    result = check(build())
    assert result.findings == []
    assert not result.rejected
    assert result.report.numbers == {code: 0.0 for code in FORM.numeric_codes}
    assert result.agency == "巫山工业园区管委会"


def test_r3_1_balance_names_the_carried_out_cell(build):
    # 3 new requests by natural persons, all granted, rows and columns totalled, but none carried out
    result = check(build(values={
        "requests.new.natural": 3, "requests.new.total": 3,
        "requests.granted.natural": 2, "requests.granted.total": 2,
        "requests.total.natural": 2, "requests.total.total": 2,
    }))
    # 总计 column J is the sum of the others: its balance breaks with 自然人's and is not reported again
    assert rules_at(result) == {("R3.1", "表三", "D29")}
    (first,) = result.findings
    assert "D5:D6" in first.message and "D28:D29" in first.message
    assert "3" in first.message and "2" in first.message and "相差 1" in first.message
    # D5, D7 or D29 could each be wrong: the message names the cells the agency types on each side
    assert "D5:D6一边多 1：请检查 D5:D6 是否多填，或 D7:D27、D29 是否漏填。" in first.message


def test_r3_2_row_total(build):
    result = check(build(values={"requests.new.business": 1, "requests.new.total": 1, "requests.granted.business": 1,
                                 "requests.granted.total": 2, "requests.total.business": 1, "requests.total.total": 1}))
    # one wrong J7 breaks its row and the 总计 column: one error, on J7, saying how to mend both
    assert rules_at(result) == {("R3.2", "表三", "J7")}
    (r32,) = result.findings
    assert "J7" in r32.message and "D7:I7" in r32.message and "为 2" in r32.message and "为 1" in r32.message
    assert r32.message.endswith("很可能是 J7 填错：改为 1 后各项平衡。")


def test_r3_3_result_total(build):
    result = check(build(values={"requests.withheld_secret.research": 1, "requests.withheld_secret.total": 1}))
    # the totals F28 and J28 say 0: the one cell that mends every equation is F9
    assert rules_at(result) == {("R3.3", "表三", "F9")}
    (f,) = result.findings
    assert "F7:F27" in f.message and f.code == "requests.withheld_secret.research"
    assert "很可能是 F9 填错：改为 0 后各项平衡。" in f.message


def test_r4_1_appeal_totals(build):
    result = check(build(values={"appeals.review.upheld": 1, "appeals.suit_after_review.total": 2}))
    assert rules_at(result) == {("R4.1", "表四", "E5"), ("R4.1", "表四", "O5")}
    assert {f.code for f in result.findings} == {"appeals.review.total", "appeals.suit_after_review.total"}


@pytest.mark.parametrize(
    "raw, rule",
    [
        (None, "cell.empty"), ("/", "cell.not_number"), ("-", "cell.not_number"), ("无", "cell.not_number"),
        ("不适用", "cell.not_number"), ("3件", "cell.unit"), ("十二", "cell.not_number"),
        (-1, "cell.negative"), (1.5, "cell.integer"), (True, "cell.not_number"),
    ],
)
def test_single_cell_errors(build, raw, rule):
    result = check(build(values={"requests.carried_in.legal": raw}))
    found = [(f.rule, f.sheet, f.cell, f.code) for f in result.findings if f.rule.startswith("cell.")]
    assert found == [(rule, "表三", "H6", "requests.carried_in.legal")]
    assert result.rejected


def test_fee_with_unit_suggests_wan(build):
    result = check(build(values={"active.fees.amount": "12000元"}))
    (f,) = result.findings
    assert (f.rule, f.sheet, f.cell) == ("cell.unit", "表二", "B15")
    assert "1.2" in f.message and "万元" in f.message


def test_fee_decimal_is_fine_but_huge_fee_warns(build):
    assert check(build(values={"active.fees.amount": 1.25})).findings == []
    result = check(build(values={"active.fees.amount": 1_200_000}))
    assert [(f.rule, f.severity, f.cell) for f in result.findings] == [("fee.unit", "warning", "B15")]
    assert not result.rejected


def test_fullwidth_digits_are_read_with_a_warning(build):
    result = check(build(values={"requests.new.natural": "１２", "requests.new.total": 12,
                                 "requests.carried_out.natural": 12, "requests.carried_out.total": 12}))
    assert [(f.rule, f.severity, f.cell) for f in result.findings] == [("cell.fullwidth", "warning", "D5")]
    assert result.report.numbers["requests.new.natural"] == 12
    assert not result.rejected


def test_county_rules_warning(build):
    result = check(build(values={"active.rules.issued": 1, "active.rules.in_force": 1}))
    assert {(f.rule, f.cell) for f in result.findings} == {("R2.3", "B4"), ("R2.3", "D4")}
    assert not result.rejected


@pytest.mark.parametrize(
    "fields, rule, cell",
    [
        ({"agency": ""}, "meta.agency", "B4"),
        ({"year": None}, "meta.year", "B6"),
        ({"year": 2019}, "meta.year", "B6"),
        ({"year": 2099}, "meta.year", "B6"),
        ({"uscc": "11500237MB12345670"}, "meta.uscc", "B5"),
        ({"uscc": "1150023"}, "meta.uscc", "B5"),
    ],
)
def test_metadata_rules(build, fields, rule, cell):
    result = check(build(**fields))
    assert [(f.rule, f.sheet, f.cell) for f in result.findings] == [(rule, "封面", cell)]
    assert result.rejected


def test_wrong_uscc_check_character_is_named(build):
    (f,) = check(build(uscc="11500237MB12345670")).findings
    assert "校验位" in f.message


def test_year_written_as_text_is_accepted(build):
    assert check(build(values={"meta.year": "2024年"})).findings == []


def test_empty_narrative_warns(build):
    result = check(build(values={"text.problems": "无"}))
    assert [(f.rule, f.severity, f.sheet) for f in result.findings] == [("text.empty", "warning", "文字部分")]


def test_several_independent_faults_in_one_run(build):
    result = check(build(
        values={
            "requests.carried_in.legal": "3件",
            "requests.withheld_secret.research": 1, "requests.withheld_secret.total": 1,
            "appeals.review.upheld": 1,
            "active.licensing.decisions": -2,
            "active.penalty.decisions": None,
        },
        uscc="11500237MB12345670",
    ))
    found = rules_at(result)
    assert {
        ("cell.unit", "表三", "H6"),
        ("R3.3", "表三", "F28"),
        ("R4.1", "表四", "E5"),
        ("cell.negative", "表二", "B8"),
        ("cell.empty", "表二", "B11"),
        ("meta.uscc", "封面", "B5"),
    } <= found
    # an unreadable cell does not cascade into its totals
    assert not any(f.rule.startswith("R3") and f.cell in ("J6", "H28") for f in result.findings)


def test_totals_left_as_uncomputed_formulas_are_summed(build):
    path = build(values={"requests.new.natural": 2, "requests.granted.natural": 1, "requests.carried_out.natural": 1,
                         "appeals.review.pending": 1},
                 skip_totals=True)
    result = check(path)
    assert result.findings == []
    assert result.report.numbers["requests.new.total"] == 2
    assert result.report.numbers["requests.total.total"] == 1
    assert result.report.numbers["appeals.review.total"] == 1


# --------------------------------------------------------------------------
# rules that follow the government level, large numbers, exact numbers
# --------------------------------------------------------------------------


def check_at(path, level):
    (result,) = check_files([str(path)], last_year=2026, level=level)
    return result


def test_rules_made_by_a_city_are_no_warning(build):
    path = build(values={"active.rules.issued": 1, "active.rules.in_force": 1})
    assert {f.rule for f in check_at(path, "县").findings} == {"R2.3"}
    assert {f.rule for f in check_at(path, "乡").findings} == {"R2.3"}
    assert check_at(path, "市").findings == [] and check_at(path, "省").findings == []


@pytest.mark.parametrize("amount, shown", [(18_651.06, "18651.06"), (96_171.6, "96171.6")])
def test_real_city_fees_are_fine_and_shown_exactly(build, amount, shown):
    path = build(values={"active.fees.amount": amount})
    assert check_at(path, "市").findings == []
    (f,) = check_at(path, "县").findings  # a county's agency with fees like these: worth a look
    assert (f.rule, f.severity) == ("fee.unit", "warning") and f"为 {shown} 万元" in f.message


def test_a_very_large_count_is_a_warning_not_an_error(build):
    # 行政许可 of a real city report
    path = build(values={"active.licensing.decisions": 11_398_889})
    result = check_at(path, "市")
    assert [(f.rule, f.severity, f.cell) for f in result.findings] == [("cell.large", "warning", "B8")]
    assert "11398889" in result.findings[0].message and not result.rejected


@pytest.mark.parametrize("value, text", [
    (12_345.67, "12345.67"), (1_234_567.89, "1234567.89"), (18_651.06, "18651.06"), (11_398_889, "11398889"),
    (0.1 + 0.2, "0.3"), (3.0, "3"), (-0.0, "0"), (123_456.123456, "123456.123456"), (None, ""),
])
def test_numbers_are_shown_exactly(value, text):
    assert format_number(value) == text
