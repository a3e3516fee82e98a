"""Checks across years (RX.1, R2.2, RX.2), last year's report from the ledger, and the roster's 曾用名."""

from __future__ import annotations

import itertools

import pytest

from nianbao.flows.steps.history import History
from nianbao.flows.store.ledger import Ledger, Submission
from nianbao.flows.store.roster import Entry, Roster, load_roster, parse_rows, write_roster_csv
from nianbao.schemas.crossyear import cross_year_findings
from nianbao.schemas.form import FORM
from nianbao.schemas.report import Report
from nianbao.schemas.uscc import complete

USCC_A = complete("11500237MB0000101")
USCC_B = complete("11500237MB0000102")
USCC_C = complete("11500237MB0000103")


def previous_reports(ledger, reports, roster=None):
    """For each report, last year's current accepted report of the same agency (or None)."""
    history = History(ledger, roster)
    return [history.previous(r) for r in reports]


def numbers(**cells) -> dict[str, float]:
    """All 200 cells 0 except ``cells`` (``requests__new__natural=3`` → ``requests.new.natural``)."""
    values = {code: 0.0 for code in FORM.numeric_codes}
    for key, value in cells.items():
        code = key.replace("__", ".")
        assert code in values, code
        values[code] = float(value)
    return values


def report(year=2024, agency="巫山县司法局", uscc=USCC_A, **cells) -> Report:
    return Report.from_numbers(numbers(**cells), {"meta.year": year, "meta.agency": agency, "meta.uscc": uscc})


def found(findings):
    return sorted((f.rule, f.sheet, f.cell) for f in findings)


# --------------------------------------------------------------------------
# the pure checks
# --------------------------------------------------------------------------


def test_carried_in_must_equal_last_years_carried_out():
    last = report(2023, requests__carried_out__natural=2, requests__carried_out__total=2)
    this = report(2024, requests__carried_in__natural=1, requests__carried_in__total=1)
    findings = cross_year_findings(this, last)
    assert found(findings) == [("RX.1", "表三", "D6"), ("RX.1", "表三", "J6")]
    assert all(f.severity == "warning" for f in findings)
    natural = next(f for f in findings if f.cell == "D6")
    assert natural.code == "requests.carried_in.natural"
    assert "2023 年度" in natural.message and "为 2" in natural.message and "相差 1" in natural.message


def test_matching_carry_over_gives_nothing():
    last = report(2023, requests__carried_out__legal=3, requests__carried_out__total=3)
    this = report(2024, requests__carried_in__legal=3, requests__carried_in__total=3)
    assert cross_year_findings(this, last) == []
    assert cross_year_findings(this, None) == []


def test_documents_in_force_follow_from_last_year():
    last = report(2023, active__normative__in_force=10)
    consistent = report(2024, active__normative__issued=2, active__normative__repealed=1, active__normative__in_force=11)
    assert cross_year_findings(consistent, last) == []
    off = report(2024, active__normative__issued=2, active__normative__repealed=1, active__normative__in_force=15)
    (f,) = cross_year_findings(off, last)
    assert (f.rule, f.sheet, f.cell, f.code) == ("R2.2", "表二", "D5", "active.normative.in_force")
    assert "应为 11" in f.message and "相差 4" in f.message and "失效" in f.message


@pytest.mark.parametrize("before, now, flagged", [
    (5, 60, True), (60, 5, True), (5, 50, True), (5, 49, False), (0, 3, False), (3, 40, False), (1, 500, False),
])
def test_tenfold_jumps(before, now, flagged):
    last = report(2023, active__penalty__decisions=before)
    this = report(2024, active__penalty__decisions=now)
    findings = cross_year_findings(this, last)
    assert found(findings) == ([("RX.2", "表二", "B11")] if flagged else [])
    if flagged:
        assert ("倍" in findings[0].message if now > before else "1/" in findings[0].message)


def test_only_last_years_report_is_compared():
    two_years_ago = report(2022, requests__carried_out__natural=2, requests__carried_out__total=2)
    this = report(2024)
    assert cross_year_findings(this, two_years_ago) == []
    assert found(cross_year_findings(this, report(2023, requests__carried_out__natural=2,
                                                  requests__carried_out__total=2))) == [
        ("RX.1", "表三", "D6"), ("RX.1", "表三", "J6")]


# --------------------------------------------------------------------------
# last year's report, from a real ledger
# --------------------------------------------------------------------------

_ids = itertools.count(1)


def seed(ledger: Ledger, *, year, agency, uscc="", outcome="accepted", at="2024-01-20T10:00:00+08:00", **cells):
    n = next(_ids)
    ledger.add(Submission(
        id=0, sha256=f"{n:064x}", file_name=f"{agency}-{n}.xlsx", received_at=at, archived_path=f"/archive/{n}.xlsx",
        agency=agency, uscc=uscc, year=year, outcome=outcome, errors=0 if outcome == "accepted" else 1, warnings=0,
        findings=[], numbers=numbers(**cells) if outcome == "accepted" else None,
        fields={"meta.agency": agency, "meta.uscc": uscc, "meta.year": year},
    ))


@pytest.fixture
def ledger(tmp_path):
    with Ledger(tmp_path / "var" / "ledger.sqlite3") as ledger:
        yield ledger


def carried_out(prev: Report | None) -> float | None:
    return None if prev is None else prev.numbers["requests.carried_out.total"]


def test_the_current_accepted_submission_of_last_year(ledger):
    seed(ledger, year=2023, agency="巫山县司法局", uscc=USCC_A, at="2024-01-10T09:00:00+08:00",
         requests__carried_out__total=1)
    seed(ledger, year=2023, agency="巫山县司法局", uscc=USCC_A, at="2024-01-12T09:00:00+08:00",
         requests__carried_out__total=4)
    seed(ledger, year=2023, agency="巫山县司法局", uscc=USCC_A, at="2024-01-15T09:00:00+08:00", outcome="rejected")
    seed(ledger, year=2022, agency="巫山县司法局", uscc=USCC_A, requests__carried_out__total=9)
    (prev,) = previous_reports(ledger, [report(2024)], Roster([]))
    assert carried_out(prev) == 4  # the latest accepted one; the later rejected one changes nothing
    assert prev.fields["meta.year"] == 2023


def test_matched_by_uscc_else_by_name(ledger):
    seed(ledger, year=2023, agency="巫山县司法行政局", uscc=USCC_A, requests__carried_out__total=2)  # renamed
    seed(ledger, year=2023, agency="巫山县民政局", requests__carried_out__total=3)  # no USCC last year
    seed(ledger, year=2023, agency="巫山县财政局", uscc=USCC_C, requests__carried_out__total=7)
    reports = [report(2024, "巫山县司法局", USCC_A), report(2024, "巫山县 民政局", ""), report(2024, "巫山县审计局", USCC_B)]
    assert [carried_out(p) for p in previous_reports(ledger, reports)] == [2, 3, None]


def test_a_rejected_only_agency_or_a_report_without_year_has_no_previous(ledger):
    seed(ledger, year=2023, agency="巫山县司法局", uscc=USCC_A, outcome="rejected")
    no_year = Report.from_numbers(numbers(), {"meta.agency": "巫山县司法局", "meta.uscc": USCC_A})
    unreadable = Report(numbers={}, fields={}, readable=False)
    assert previous_reports(ledger, [report(2024), no_year, unreadable]) == [None, None, None]


def test_roster_former_names_find_a_renamed_agency(ledger):
    roster = parse_rows([["单位名称", "统一社会信用代码", "曾用名"],
                         ["巫山县经济和信息化委员会", USCC_B, "巫山县经济信息委员会、巫山县工业局"]], "名单")
    seed(ledger, year=2023, agency="巫山县经济信息委员会", requests__carried_out__total=5)
    this = report(2024, "巫山县经济和信息化委员会", USCC_B)
    (prev,) = previous_reports(ledger, [this], roster)
    assert carried_out(prev) == 5
    (without,) = previous_reports(ledger, [this], Roster([Entry("巫山县经济和信息化委员会", USCC_B)]))
    assert without is None  # without the 曾用名 column the old name is another agency


def test_merged_agencies_are_summed(ledger):
    roster = parse_rows([["单位名称", "统一社会信用代码", "曾用名"],
                         ["巫山县农业农村委员会", USCC_C, "巫山县农业委员会;巫山县扶贫开发办公室"]], "名单")
    seed(ledger, year=2023, agency="巫山县农业委员会", requests__carried_out__natural=2, requests__carried_out__total=2)
    seed(ledger, year=2023, agency="巫山县扶贫开发办公室", requests__carried_out__natural=1,
         requests__carried_out__total=1)
    this = report(2024, "巫山县农业农村委员会", USCC_C, requests__carried_in__natural=3, requests__carried_in__total=3)
    (prev,) = previous_reports(ledger, [this], roster)
    assert carried_out(prev) == 3 and prev.numbers["requests.carried_out.natural"] == 3
    assert cross_year_findings(this, prev) == []
    # a later rejected file does not undo an accepted one (the rollup's rule) …
    seed(ledger, year=2023, agency="巫山县农业委员会", outcome="rejected", at="2024-02-01T00:00:00+08:00")
    assert carried_out(previous_reports(ledger, [this], roster)[0]) == 3
    # … but a merged agency that never had an accepted report makes the sum incomplete: no comparison
    roster = parse_rows([["单位名称", "统一社会信用代码", "曾用名"],
                         ["巫山县农业农村委员会", USCC_C, "巫山县农业委员会;巫山县扶贫开发办公室;巫山县农机局"]], "名单")
    seed(ledger, year=2023, agency="巫山县农机局", outcome="rejected")
    assert previous_reports(ledger, [this], roster) == [None]


def test_end_to_end_a_carry_over_mismatch_against_the_ledger(ledger):
    seed(ledger, year=2023, agency="巫山县司法局", uscc=USCC_A, requests__carried_out__natural=2,
         requests__carried_out__total=2)
    this = report(2024, requests__carried_in__natural=1, requests__carried_in__total=1)
    (prev,) = previous_reports(ledger, [this], Roster([Entry("巫山县司法局", USCC_A)]))
    assert found(cross_year_findings(this, prev)) == [("RX.1", "表三", "D6"), ("RX.1", "表三", "J6")]


# --------------------------------------------------------------------------
# the roster's 曾用名 column
# --------------------------------------------------------------------------


def test_former_names_resolve_but_match_is_unchanged(tmp_path):
    path = tmp_path / "roster.csv"
    path.write_bytes(write_roster_csv([
        Entry("巫山县经济和信息化委员会", USCC_B, ("巫山县经济信息委员会", "巫山县工业局")),
        Entry("巫山县工业园区管委会", USCC_C, ("巫山县工业局",)),  # claims the same old name: the first wins
        Entry("巫山县司法局", USCC_A, ("巫山县经济和信息化委员会",)),  # a current name always wins
    ]))
    roster = load_roster(path)
    econ, park, justice = roster.entries
    assert econ.former == ("巫山县经济信息委员会", "巫山县工业局")
    assert roster.match("巫山县经济信息委员会") is None
    assert roster.resolve("巫山县经济信息委员会") == econ
    assert roster.resolve("巫山县 工业局") == econ
    assert roster.resolve("巫山县经济和信息化委员会") == econ
    assert roster.resolve("其他单位", USCC_A) == justice == roster.match("其他单位", USCC_A)
    assert roster.resolve("不存在的单位") is None


def test_a_roster_without_the_column_is_as_before(tmp_path):
    entries = [Entry("巫山县司法局", USCC_A)]
    assert write_roster_csv(entries).decode("utf-8-sig").splitlines()[0] == "单位名称,统一社会信用代码"
    path = tmp_path / "r.csv"
    path.write_bytes(write_roster_csv(entries))
    assert load_roster(path).entries == entries
    mixed = parse_rows([["单位名称", "曾用名"], ["甲局", "乙局，丙局; 丁局"]], "x")
    assert mixed.entries[0].former == ("乙局", "丙局", "丁局")
