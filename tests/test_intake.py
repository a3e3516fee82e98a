"""Intake and rollup as plain functions: ledger, archive, duplicates, supersession, roster."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import random
from pathlib import Path

import pytest

from conftest import sum_reports

from nianbao.flows.steps.intake import intake, pending_files, safe_name
from nianbao.flows.store.ledger import Ledger
from nianbao.flows.outputs.rollup import sum_matrix
from nianbao.flows.steps.year import write_year_outputs
from nianbao.flows.store.roster import Entry, RosterError, load_roster, write_roster_csv
from nianbao.flows.steps.sample import valid_values
from nianbao.flows.excel.template import write_template
from nianbao.schemas.uscc import complete

A = Entry("巫山县教育委员会", complete("11500237MB0000001"))
B = Entry("巫山县公安局", complete("11500237MB0000002"))
C = Entry("巫山县民政局", complete("11500237MB0000003"))


@pytest.fixture
def settings(settings):
    settings.roster.write_bytes(write_roster_csv([A, B, C]))
    return settings


def drop(settings, name, entry, values=None, year=2024, seed=1, **overrides) -> tuple[Path, dict]:
    numbers = valid_values(random.Random(seed)) if values is None else values
    filled = {**numbers, "meta.agency": entry.name, "meta.uscc": entry.uscc, "meta.year": year,
              "text.overview": "总体情况", "text.problems": "存在的问题", **overrides}
    path = settings.inbound / name
    write_template(path, values=filled)
    return path, numbers


def sha(path_or_bytes) -> str:
    data = path_or_bytes if isinstance(path_or_bytes, bytes) else Path(path_or_bytes).read_bytes()
    return hashlib.sha256(data).hexdigest()


def test_intake_records_archives_and_leaves_nothing_behind(settings):
    a, _ = drop(settings, "教育委员会.xlsx", A)
    b, _ = drop(settings, "公安局.xlsx", B, **{"requests.new.natural": "3件"})
    junk = settings.inbound / "说明.xlsx"
    junk.write_bytes(b"not a workbook")
    originals = {p.name: p.read_bytes() for p in (a, b, junk)}
    result = intake(settings, settle_seconds=0)
    assert {(o.file_name, o.status) for o in result.outcomes} == {
        ("教育委员会.xlsx", "accepted"), ("公安局.xlsx", "rejected"), ("说明.xlsx", "rejected")}
    assert list(settings.inbound.iterdir()) == []
    with Ledger(settings.ledger) as ledger:
        subs = {s.file_name: s for s in ledger.submissions()}
    for name, data in originals.items():
        archived = Path(subs[name].archived_path)
        assert archived.read_bytes() == data and subs[name].sha256 == sha(data)
    assert subs["公安局.xlsx"].findings[0].rule == "cell.unit"
    assert subs["说明.xlsx"].year == 2024 or subs["说明.xlsx"].year is None


def test_same_file_twice_is_a_duplicate(settings):
    path, _ = drop(settings, "a.xlsx", A)
    data = path.read_bytes()
    intake(settings, settle_seconds=0)
    (settings.inbound / "a (1).xlsx").write_bytes(data)
    result = intake(settings, settle_seconds=0)
    assert [o.status for o in result.outcomes] == ["duplicate"]
    with Ledger(settings.ledger) as ledger:
        assert len(ledger.submissions()) == 1
        (dup,) = ledger.duplicates()
    assert Path(dup["archived_path"]).read_bytes() == data


def test_files_being_written_wait(settings):
    drop(settings, "a.xlsx", A)
    ready, waiting = pending_files(settings.inbound, settle_seconds=3600)
    assert ready == [] and [p.name for p in waiting] == ["a.xlsx"]
    result = intake(settings, settle_seconds=3600)
    assert result.outcomes == [] and result.waiting == ["a.xlsx"]
    (settings.inbound / "~$a.xlsx").write_bytes(b"lock")
    assert [p.name for p in pending_files(settings.inbound, 0)[0]] == ["a.xlsx"]


def test_rollup_sums_latest_accepted_and_lists_missing(settings):
    drop(settings, "a1.xlsx", A, seed=1)
    intake(settings, settle_seconds=0)
    _, a2 = drop(settings, "a2.xlsx", A, seed=2)  # supersedes a1
    _, b = drop(settings, "b.xlsx", B, seed=3)
    drop(settings, "b-bad.xlsx", B, seed=4, **{"appeals.review.total": 99})  # later, but rejected
    drop(settings, "stranger.xlsx", Entry("某某公司", ""), seed=5)
    intake(settings, settle_seconds=0)
    year = write_year_outputs(settings, 2024, load_roster(settings.roster), with_reports=False)
    status = {s.agency: (s.status, s.current.file_name if s.current else None, s.on_roster) for s in year.statuses}
    assert status == {
        A.name: ("accepted", "a2.xlsx", True),
        B.name: ("accepted", "b.xlsx", True),
        C.name: ("missing", None, True),
        "某某公司": ("accepted", "stranger.xlsx", False),
    }
    expected = {code: a2[code] + b[code] for code in a2}
    assert year.totals == pytest.approx(expected)
    assert year.rollup_findings == []
    rows = list(csv.DictReader((year.outdir / "status.csv").read_text(encoding="utf-8-sig").splitlines()))
    assert [r["agency"] for r in rows] == [A.name, B.name, C.name]
    assert [r["status"] for r in rows] == ["accepted", "accepted", "missing"]
    assert (year.outdir / "status.csv").read_bytes().startswith(b"\xef\xbb\xbf")


def test_second_run_with_nothing_new_changes_nothing(settings):
    drop(settings, "a.xlsx", A)
    intake(settings, settle_seconds=0)
    first = write_year_outputs(settings, 2024, load_roster(settings.roster), with_reports=False)
    stamp = {p: p.stat().st_mtime_ns for p in first.outdir.rglob("*") if p.is_file()}
    assert first.rebuilt
    assert intake(settings, settle_seconds=0).outcomes == []
    second = write_year_outputs(settings, 2024, load_roster(settings.roster), with_reports=False)
    assert not second.rebuilt
    assert {p: p.stat().st_mtime_ns for p in first.outdir.rglob("*") if p.is_file()} == stamp


def test_sums_keep_integers_exact_and_fees_to_the_cent():
    import numpy as np

    from nianbao.schemas.form import FORM

    reports = [{"active.fees.amount": 0.1, "requests.new.natural": 1}, {"active.fees.amount": 0.2, "requests.new.natural": 2}]
    matrix = np.array([[r.get(c, 0.0) for c in FORM.numeric_codes] for r in reports])
    totals = sum_matrix(matrix)
    assert totals["active.fees.amount"] == 0.3 and totals["requests.new.natural"] == 3
    assert totals == sum_reports(reports)


def test_safe_names():
    assert safe_name("../../etc/passwd") == "etc_passwd"
    assert safe_name("a b;rm -rf $(x).xlsx") == "a_b_rm_-rf_x.xlsx"
    assert safe_name("巫山县（教委）年报.xlsx") == "巫山县（教委）年报.xlsx"


def test_intake_compares_with_last_years_accepted_report(settings):
    last = valid_values(random.Random(7))
    last.update({"requests.carried_out.natural": 2, "requests.carried_out.total": 2,
                 "requests.new.natural": last["requests.new.natural"] + 2,
                 "requests.new.total": last["requests.new.total"] + 2})
    drop(settings, "2023.xlsx", A, values=last, year=2023)
    intake(settings, settle_seconds=0)
    now = valid_values(random.Random(8))  # carries nothing in: last year's 2 are forgotten
    assert now["requests.carried_in.natural"] == 0
    drop(settings, "2024.xlsx", A, values=now, year=2024)
    drop(settings, "other.xlsx", B, values=now, year=2024, seed=9)  # no history: no comparison
    intake(settings, settle_seconds=0)
    with Ledger(settings.ledger) as ledger:
        subs = {s.file_name: s for s in ledger.submissions(2024)}
    rx = [(f.rule, f.sheet, f.cell) for f in subs["2024.xlsx"].findings if f.rule.startswith("RX")]
    assert ("RX.1", "表三", "D6") in rx and subs["2024.xlsx"].outcome == "accepted"
    assert not [f for f in subs["other.xlsx"].findings if f.rule.startswith("RX")]


def test_the_roster_level_decides_the_level_rules(settings):
    city = Entry("重庆市万州区人民政府办公室", complete("11500101MB0000004"), level="市")
    settings.roster.write_bytes(write_roster_csv([A, city]))
    numbers = valid_values(random.Random(3))
    numbers.update({"active.rules.issued": 2, "active.rules.in_force": 5})
    drop(settings, "county.xlsx", A, values=dict(numbers))
    drop(settings, "city.xlsx", city, values=dict(numbers))
    intake(settings, settle_seconds=0)
    with Ledger(settings.ledger) as ledger:
        rules = {s.file_name: {f.rule for f in s.findings} for s in ledger.submissions()}
    assert "R2.3" in rules["county.xlsx"] and "R2.3" not in rules["city.xlsx"]


@pytest.mark.parametrize("level, ok", [("市", True), ("县级", True), ("", True), ("区", False), ("地市", False)])
def test_roster_levels(tmp_path, level, ok):
    path = tmp_path / "roster.csv"
    path.write_text(f"单位名称,统一社会信用代码,层级\n巫山县教育委员会,,县\n某单位,,{level}\n", encoding="utf-8")
    if ok:
        roster = load_roster(path)
        assert roster.level_of("某单位") == (level.removesuffix("级") or "县")
        assert roster.level_of("不在名单上的单位") == "县"
    else:
        with pytest.raises(RosterError, match=f"第 3 行（某单位）的“层级”为“{level}”"):
            load_roster(path)


def test_the_latest_received_wins_whatever_the_clocks_time_zone(settings):
    """An office runs nianbao from a UTC service and from a China-time shell: order is the ledger's sequence."""
    china = dt.timezone(dt.timedelta(hours=8))
    first, _ = drop(settings, "first.xlsx", A, seed=1)
    intake(settings, settle_seconds=0, clock=lambda: dt.datetime(2024, 3, 1, 10, 0, tzinfo=china))  # 02:00 UTC
    second, numbers = drop(settings, "second.xlsx", A, seed=2)
    intake(settings, settle_seconds=0, clock=lambda: dt.datetime(2024, 3, 1, 3, 0, tzinfo=dt.timezone.utc))
    year = write_year_outputs(settings, 2024, load_roster(settings.roster), with_reports=False)
    (edu,) = [s for s in year.statuses if s.agency == A.name]
    assert edu.current.file_name == "second.xlsx"
    assert year.totals["requests.new.total"] == numbers["requests.new.total"]
    with Ledger(settings.ledger) as ledger:
        stored = [s.received_at for s in ledger.submissions()]
    assert stored == ["2024-03-01T02:00:00.000000+00:00", "2024-03-01T03:00:00.000000+00:00"]  # UTC
    assert edu.current.received_in("Asia/Shanghai") == "2024-03-01 11:00:00"


def test_outputs_follow_the_findings(settings):
    """Findings that change (new rules, reprocess) rebuild the year and its feedback; a pass removes it."""
    drop(settings, "edu.xlsx", A, seed=4, **{"text.overview": "无"})
    intake(settings, settle_seconds=0)
    roster = load_roster(settings.roster)
    first = write_year_outputs(settings, 2024, roster, with_reports=False)
    (old,) = (first.outdir / "feedback").glob("*.xlsx")  # a warning: 总体情况 is empty
    assert not write_year_outputs(settings, 2024, roster, with_reports=False).rebuilt
    with Ledger(settings.ledger) as ledger:
        (sub,) = ledger.submissions()
        more = [*sub.findings, sub.findings[0].__class__("text.empty", "warning", "文字部分", "A5", "text.problems",
                                                          params={"label": "五、存在的主要问题及改进情况"})]
        ledger.update_findings(sub.id, "accepted", 0, len(more), more, sub.numbers, sub.fields, sub.agency,
                               sub.uscc, sub.year)
    second = write_year_outputs(settings, 2024, roster, with_reports=False)
    assert second.rebuilt
    (new,) = (second.outdir / "feedback").glob("*.xlsx")
    assert new != old and not old.exists()
    with Ledger(settings.ledger) as ledger:
        ledger.update_findings(sub.id, "accepted", 0, 0, [], sub.numbers, sub.fields, sub.agency, sub.uscc, sub.year)
    third = write_year_outputs(settings, 2024, roster, with_reports=False)
    assert third.rebuilt and list((third.outdir / "feedback").glob("*.xlsx")) == []
    # findings.csv follows them too
    assert "text.empty" not in (third.outdir / "findings.csv").read_text(encoding="utf-8-sig")


def test_a_newer_failing_file_is_visible(settings):
    """An agency corrects a passed report and the correction fails: its row says so, with its feedback."""
    drop(settings, "第一版.xlsx", A, seed=5)
    intake(settings, settle_seconds=0)
    bad = valid_values(random.Random(6))
    bad["requests.new.natural"] = "3件"
    drop(settings, "第二版.xlsx", A, values=bad)
    intake(settings, settle_seconds=0)
    year = write_year_outputs(settings, 2024, load_roster(settings.roster), with_reports=False)
    (edu,) = [s for s in year.statuses if s.agency == A.name]
    assert edu.status == "accepted" and edu.current.file_name == "第一版.xlsx"
    assert edu.newer_rejected.file_name == "第二版.xlsx"
    assert edu.note("Asia/Shanghai").startswith("最新报送（第二版.xlsx）未通过，汇总仍采用 ")
    page = (year.outdir / "index.html").read_text(encoding="utf-8")
    assert "最新报送（第二版.xlsx）未通过" in page
    (feedback,) = (year.outdir / "feedback").glob("*.xlsx")
    assert feedback.name.startswith(safe_name(A.name, 40) + "-" + edu.newer_rejected.sha256[:8])
    findings = (year.outdir / "findings.csv").read_text(encoding="utf-8-sig")
    assert "第二版.xlsx" in findings and "cell.unit" in findings


def test_an_unreadable_file_finds_its_agency_by_its_name(settings):
    (settings.inbound / "教育委员会2024年报（定稿）.xlsx").write_bytes(b"PK\x03\x04 broken")
    (settings.inbound / "年报.xlsx").write_bytes(b"not a workbook")  # no name in it: listed apart
    intake(settings, settle_seconds=0, default_year=2024)
    year = write_year_outputs(settings, 2024, load_roster(settings.roster), with_reports=False)
    status = {s.agency: (s.status, s.on_roster) for s in year.statuses}
    assert status[A.name] == ("rejected", True)
    assert status["（无法识别单位：年报.xlsx）"] == ("rejected", False)
