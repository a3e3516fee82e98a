"""What keeps a province-sized year fast: the lighter ledger reads, the per-agency CSV, the saved totals,
the parallel feedback workbooks and the reader's cache of parts every template copy shares."""

from __future__ import annotations

import csv
import io
import random

import openpyxl
import pytest

from nianbao.flows.outputs import rollup
from nianbao.flows.steps.year import write_year_outputs
from nianbao.flows.steps.intake import intake
from nianbao.flows.store.ledger import Ledger
from nianbao.flows.steps.parallel import feedback_job, run_jobs
from nianbao.flows.excel.reader import read_report
from nianbao.flows.store.roster import Entry, load_roster, write_roster_csv
from nianbao.flows.steps.sample import valid_values
from nianbao.flows.excel.template import write_template
from nianbao.schemas.form import FORM
from nianbao.schemas.uscc import complete

AGENCIES = [Entry(f"巫山县单位{i}", complete(f"11500237MB{i:07d}")) for i in range(1, 6)]


def filled(entry: Entry, seed: int, **overrides) -> bytes:
    buf = io.BytesIO()
    write_template(buf, values={**valid_values(random.Random(seed)), "meta.agency": entry.name, "meta.uscc": entry.uscc,
                                "meta.year": 2024, "text.overview": "总体情况。", "text.problems": "问题。", **overrides})
    return buf.getvalue()


@pytest.fixture
def county(settings, tmp_path):
    s = settings
    s.roster.write_bytes(write_roster_csv(AGENCIES))
    for i, entry in enumerate(AGENCIES[:4]):
        extra = {"appeals.review.total": 99} if i == 3 else {}
        (s.inbound / f"{entry.name}.xlsx").write_bytes(filled(entry, i, **extra))
    intake(s, settle_seconds=0)
    return s


def test_light_submissions_and_the_numbers_matrix(county):
    with Ledger(county.ledger) as ledger:
        full = ledger.submissions(2024)
        light = ledger.submissions(2024, numbers=False)
        codes = list(FORM.numeric_codes)
        matrix = ledger.numbers_matrix([s.id for s in full], codes)
    assert [s.sha256 for s in light] == [s.sha256 for s in full]
    assert all(not s.loaded and s.numbers == {} and s.fields == {} for s in light)
    assert [s.findings for s in light] == [s.findings for s in full]
    for row, sub in zip(matrix.tolist(), full):
        assert row == [float(sub.numbers[c]) for c in codes]


def test_totals_and_the_per_agency_csv(county):
    year = write_year_outputs(county, 2024, load_roster(county.roster), with_reports=False)
    with Ledger(county.ledger) as ledger:
        accepted = [s for s in ledger.submissions(2024) if s.accepted]
    assert year.totals == pytest.approx(rollup.sum_reports([s.numbers for s in accepted]))
    rows = list(csv.reader(io.StringIO((year.outdir / "agencies.csv").read_text(encoding="utf-8-sig"))))
    assert rows[0] == ["单位名称", "统一社会信用代码", *FORM.numeric_codes]
    assert [r[0] for r in rows[1:]] == [e.name for e in AGENCIES[:3]]  # the rejected and the missing are left out
    by_name = {s.agency: s for s in accepted}
    for r in rows[1:]:
        assert [float(v) for v in r[2:]] == [float(by_name[r[0]].numbers[c]) for c in FORM.numeric_codes]
    sheet = openpyxl.load_workbook(year.outdir / "rollup.xlsx", read_only=True)["各单位数据"]
    header = next(sheet.iter_rows(max_row=1, values_only=True))
    assert list(header) == ["代码", "表", "栏目", "全县合计", *[e.name for e in AGENCIES[:3]]]


def test_a_run_with_nothing_new_reads_the_saved_totals(county, monkeypatch):
    first = write_year_outputs(county, 2024, load_roster(county.roster), with_reports=False)
    assert first.rebuilt and (first.outdir / rollup.TOTALS_FILE).exists()

    def no_numbers(*_a, **_k):
        raise AssertionError("a run with nothing new decoded the numbers")

    monkeypatch.setattr(Ledger, "numbers_matrix", no_numbers)
    again = write_year_outputs(county, 2024, load_roster(county.roster), with_reports=False)
    assert not again.rebuilt and again.totals == first.totals


def test_many_agencies_go_to_the_csv_only(county, monkeypatch):
    monkeypatch.setattr(rollup, "PER_AGENCY_SHEET_MAX", 2)
    year = write_year_outputs(county, 2024, load_roster(county.roster), with_reports=False)
    wb = openpyxl.load_workbook(year.outdir / "rollup.xlsx", read_only=True)
    header = next(wb["各单位数据"].iter_rows(max_row=1, values_only=True))
    assert list(header[:4]) == ["代码", "表", "栏目", "全县合计"] and len(header) == 5
    assert "agencies.csv" in header[4] and "3 个单位" in header[4]
    assert year.rollup_findings == []
    assert "agencies.csv" in (year.outdir / "index.html").read_text(encoding="utf-8")


def test_feedback_workbooks_in_worker_processes(county, tmp_path):
    with Ledger(county.ledger) as ledger:
        (bad,) = [s for s in ledger.submissions(2024) if not s.accepted]
    jobs = [(str(tmp_path / f"fb{i}.xlsx"), bad.archived_path, True, bad.findings, f"反馈 {i}") for i in range(4)]
    seen = []
    run_jobs(feedback_job, jobs, min_parallel=2, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (4, 4)
    for target, *_ in jobs:
        wb = openpyxl.load_workbook(target)
        assert wb.sheetnames[0] == "问题清单" and "表四" in wb.sheetnames
    with pytest.raises(RuntimeError, match="worker"):
        run_jobs(feedback_job, [(str(tmp_path / "x" / "y.xlsx"), "", True, "not findings", "t")] * 2, min_parallel=2)


def test_shared_parts_are_cached_by_their_bytes_only(tmp_path):
    good = filled(AGENCIES[0], 1)
    wb = openpyxl.load_workbook(io.BytesIO(good))
    wb.defined_names["requests.new.natural"].attr_text = "'表三'!$E$5"  # a name moved: another workbook part
    buf = io.BytesIO()
    wb.save(buf)
    for data, moved in ((good, False), (buf.getvalue(), True), (good, False)):
        report = read_report(data, name="x.xlsx")
        assert any(f.rule == "layout.name" for f in report.findings) == moved
