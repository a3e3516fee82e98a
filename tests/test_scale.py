"""What keeps a province-sized year fast: the lighter ledger reads, the per-agency CSV, the saved totals,
the parallel feedback workbooks, the reader ahead of the intake (and what happens when it dies) and the
reader's cache of parts every template copy shares."""

from __future__ import annotations

import csv
import datetime as dt
import io
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import fields
from pathlib import Path

import openpyxl
import pytest

from conftest import sum_reports

from nianbao.flows.outputs import rollup
from nianbao.flows.steps.year import write_year_outputs
from nianbao.flows.steps import intake as intake_module
from nianbao.flows.steps.intake import intake, read_files
from nianbao.flows.store.ledger import Ledger
from nianbao.flows.steps.parallel import Ahead, feedback_job, run_jobs
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
    assert year.totals == pytest.approx(sum_reports([s.numbers for s in accepted]))
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


def in_worker() -> bool:
    return multiprocessing.parent_process() is not None


def square_where(n: int) -> tuple[int, int]:
    """n², and the process that computed it; the worker dies at 3 (not when computed in the caller)."""
    if n == 3 and in_worker():
        os._exit(1)
    return n * n, os.getpid()


def test_run_jobs_results_in_order_and_progress():
    seen = []
    results = run_jobs(square_where, [0, 1, 2, 4, 5, 6], min_parallel=2, progress=lambda d, t: seen.append((d, t)))
    assert [r for r, _ in results] == [0, 1, 4, 16, 25, 36]
    assert os.getpid() not in {pid for _, pid in results}  # computed in workers
    assert seen == [(d, 6) for d in range(1, 7)]
    assert [r for r, _ in run_jobs(square_where, [2, 3])] == [4, 9]  # few jobs: here, in order


def test_ahead_computes_in_a_worker_and_takes_over_when_it_dies():
    with Ahead(square_where, [0, 1, 2]) as ahead:
        results = list(ahead)
    assert [r for r, _ in results] == [0, 1, 4] and not ahead.lost
    assert os.getpid() not in {pid for _, pid in results}
    with Ahead(square_where, [1, 2, 3, 4, 5]) as ahead:
        results = list(ahead)
    assert [r for r, _ in results] == [1, 4, 9, 16, 25] and ahead.lost
    assert [pid == os.getpid() for _, pid in results] == [False, False, True, True, True]
    with Ahead(int, ["1", "x", "3"]) as ahead:  # what fn raises in the worker is raised here
        assert next(ahead) == 1
        with pytest.raises(ValueError):
            next(ahead)


def read_or_die(job):
    """:func:`read_files`, except that the reading process dies at the batch of ``c.xlsx``."""
    paths, _ = job
    if in_worker() and any(Path(p).name == "c.xlsx" for p in paths):
        os._exit(1)
    return read_files(job)


def files_of_batches() -> dict[str, bytes]:
    files = {}
    for i, (name, entry) in enumerate(zip("abcde", AGENCIES)):
        extra = {"appeals.review.total": 99} if name == "b" else {}
        files[f"{name}.xlsx"] = filled(entry, i, **extra)
    files["d2.xlsx"] = files["d.xlsx"]  # the same bytes again, in the next batch
    files["f.xlsx"] = b"not a workbook"
    return files


def recorded(settings) -> list[dict]:
    with Ledger(settings.ledger) as ledger:
        subs = ledger.submissions()
        dups = ledger.duplicates()
    out = []
    for sub in sorted(subs, key=lambda s: s.file_name):
        row = {f.name: getattr(sub, f.name) for f in fields(sub) if f.name != "id"}
        row["archived_path"] = str(Path(sub.archived_path).relative_to(settings.archive))
        row["findings"] = [f.as_record() for f in sub.findings]
        out.append(row)
    return out + sorted(d["file_name"] for d in dups)


@pytest.mark.parametrize("dies", [False, True])
def test_intake_in_batches_with_the_reader_ahead(tmp_path, monkeypatch, dies):
    """Several batches, the next read in a worker; when that worker dies, the intake reads the rest itself:
    every file once, the same records as a run that reads everything in this process."""
    from nianbao.flows.settings import Settings

    files = files_of_batches()

    def county(name):
        root = tmp_path / name
        s = Settings(inbound=root / "inbound", outbound=root / "outbound", state=root / "var", roster=root / "roster.csv")
        s.inbound.mkdir(parents=True)
        s.roster.write_bytes(write_roster_csv(AGENCIES))
        for file_name, data in files.items():
            (s.inbound / file_name).write_bytes(data)
        return s

    def clock():
        return dt.datetime(2024, 3, 1, 10, 15, tzinfo=dt.timezone.utc)

    here = county("here")
    monkeypatch.setattr(intake_module, "AHEAD_FROM", 10**6)
    intake(here, settle_seconds=0, batch_size=2, clock=clock)

    made = []

    class Spy(Ahead):
        def __init__(self, fn, items):
            super().__init__(fn, items)
            made.append(self)

    monkeypatch.setattr(intake_module, "AHEAD_FROM", 2)
    monkeypatch.setattr(intake_module, "processes", lambda: 2)
    monkeypatch.setattr(intake_module, "Ahead", Spy)
    if dies:
        monkeypatch.setattr(intake_module, "read_files", read_or_die)
    ahead = county("ahead")
    result = intake(ahead, settle_seconds=0, batch_size=2, clock=clock)
    (reader,) = made
    assert reader.total == 4 and reader.taken == 4 and reader.lost == dies
    assert sorted(o.file_name for o in result.outcomes) == [f"{n}.xlsx" for n in ("a", "b", "c", "d", "d2", "e", "f")]
    assert list(ahead.inbound.iterdir()) == []
    assert recorded(ahead) == recorded(here)
    assert len(recorded(here)) == 7 and "d2.xlsx" in recorded(here)  # 6 submissions, 1 duplicate


CALLER = """
import os, sys, time
from nianbao.flows.steps.parallel import Ahead
ahead = Ahead(time.sleep, [0, 60])
next(ahead)  # the worker is running, and now sleeps
for pid in os.listdir("/proc"):
    if pid.isdigit() and pid != str(os.getpid()):
        try:
            if open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1] == str(os.getpid()):
                print(pid, flush=True)
        except OSError:
            pass
os.kill(os.getpid(), 9)
"""


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
def test_a_worker_ends_when_its_caller_is_killed():
    proc = subprocess.run([sys.executable, "-c", CALLER], capture_output=True, text=True, timeout=120)
    assert proc.returncode == -signal.SIGKILL
    children = [int(pid) for pid in proc.stdout.split()]
    assert children  # the worker (and the resource tracker)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in children):
        time.sleep(0.1)
    alive = []
    for pid in children:
        try:
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                alive.append(pid)
        except OSError:
            pass
    assert alive == []
