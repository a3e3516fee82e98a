"""``nianbao bench`` on a small N, so that the benchmark cannot rot (nothing here is timed)."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from nianbao.flows import bench
from nianbao.flows.cli import main
from nianbao.flows.progress import Progress, duration_text, progress_text

N = 12


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("bench")


def test_generator_writes_a_province_and_reuses_it(workdir):
    folder = bench.generate(workdir, N, seed=7, jobs=1)
    reports = sorted((folder / "reports").iterdir())
    assert len(reports) == N
    roster = (folder / "roster.csv").read_text(encoding="utf-8-sig").splitlines()
    assert roster[0] == "单位名称,统一社会信用代码" and len(roster) == N + 1
    names = {line.split(",")[0] for line in roster[1:]}
    assert {p.name.removesuffix("-2024年报.xlsx") for p in reports} == names
    stamps = {p.name: p.stat().st_mtime_ns for p in reports}
    assert bench.generate(workdir, N, seed=7) == folder  # cached by N and seed: nothing written again
    assert {p.name: p.stat().st_mtime_ns for p in (folder / "reports").iterdir()} == stamps
    agencies = bench.province(2_000)
    assert len({a.name for a in agencies}) == len({a.uscc for a in agencies}) == 2_000


def test_pipeline_rerun_and_report(workdir, capsys):
    results = bench.run([N], workdir, seed=7, baselines=False, with_prefect=False, progress=False,
                        log=lambda _m: None)
    (row,) = results["rows"]
    p = row["pipeline"]
    faulty = round(N * bench.FAULTY_SHARE)
    assert (p["accepted"], p["rejected"], p["duplicates"]) == (N - faulty, faulty, 0)
    (year,) = p["years"]
    assert year["rebuilt"] and year["in_rollup"] == N - faulty and year["rollup_findings"] == 0
    assert p["peak_rss_mb"] > 0 and p["pipeline_s"] > 0
    assert row["rerun"]["accepted"] == 0 and not row["rerun"]["years"][0]["rebuilt"]
    saved = json.loads((workdir / bench.RESULTS_FILE).read_text(encoding="utf-8"))
    assert saved["rows"][0]["n"] == N and saved["machine"]["cpus"]
    table = bench.render(saved)
    assert f"| {N} |" in table and "VmHWM" in table
    outdir = workdir / "runs" / f"n{N}" / "outbound" / "2024"
    assert (outdir / "rollup.xlsx").exists() and (outdir / "agencies.csv").exists()
    # a feedback workbook for every report with an error or a warning: about half of a realistic mix
    assert len(list((outdir / "feedback").iterdir())) == p["feedback_workbooks"] >= N // 2
    assert f"{p['feedback_workbooks']} ×" in table and "Mix, N = 12" in table


def test_the_mix_is_realistic(workdir):
    """Errors in 10 %, warnings in half, totals with and without cached values, narratives of real length."""
    from nianbao.flows.steps.checking import check_files
    from nianbao.flows.steps.sample import WARNING_KINDS

    n = 36
    folder = bench.generate(workdir, n, seed=11, jobs=1)
    mix = bench.mix_of(folder)
    assert mix["reports"] == n and mix["errors"] == round(n * bench.FAULTY_SHARE)
    assert mix["warned"] == n // 2 and all(mix[k] for k in WARNING_KINDS)
    assert mix["cached"] and mix["formulas"] and mix["values"] and mix["last_year"] >= mix["jump"]
    reports = sorted(str(p) for p in (folder / "reports").iterdir())
    results = check_files(reports)
    with_errors = sum(r.counts[0] > 0 for r in results)
    with_warnings = sum(r.counts[1] > 0 for r in results)
    assert with_errors == mix["errors"]
    assert with_warnings >= mix["warned"] - mix["jump"]  # jumps show against last year's report, in the pipeline
    rules = {f.rule for r in results for f in r.findings}
    assert {"text.empty", "text.count", "text.none", "text.year"} <= rules
    lengths = [sum(len(r.report.fields[k] or "") for k in ("text.overview", "text.problems", "text.other"))
               for r in results]
    assert sorted(lengths)[n // 2] > 1_800  # most narratives run to about two thousand characters
    raw = [zipfile.ZipFile(p).read("xl/worksheets/sheet4.xml") for p in reports]
    assert any(b"<f>SUM(D5:I5)</f><v>" in x and b"<v></v>" not in x for x in raw)  # cached, as an application saves
    assert any(b"<f>SUM(D5:I5)</f><v></v>" in x for x in raw)  # as a program writes them
    last = sorted(str(p) for p in (folder / "last-year").iterdir())
    assert len(last) == mix["last_year"] and all(r.counts == (0, 0) for r in check_files(last))


def test_baselines_read_the_same_numbers(workdir):
    files = str(bench.generate(workdir, N, seed=7) / "reports")
    kinds = ["openpyxl", "pandas"] + (["calamine"] if bench.calamine_available() else [])
    results = {kind: bench.CHILDREN[kind]({"files": files}) for kind in kinds}
    assert all(r["files"] == N for r in results.values())
    if "calamine" in results:
        assert results["calamine"]["sum"] == pytest.approx(results["openpyxl"]["sum"])
    assert results["openpyxl"]["sum"] > 0 and results["pandas"]["sum"] >= results["openpyxl"]["sum"]


def test_the_command_is_wired(tmp_path, capsys):
    assert main(["bench", "--n", "0", "--workdir", str(tmp_path)]) == 2
    assert "正整数" in capsys.readouterr().err


def test_progress_text():
    assert duration_text(5) == "5 秒" and duration_text(65) == "1 分 05 秒" and duration_text(3720) == "1 小时 02 分"
    assert progress_text("收件", 3200, 10000, 30.0) == "收件 3200/10000（32%），预计还需 1 分 04 秒"
    assert progress_text("收件", 10, 10, 8.0) == "收件 10/10（100%），用时 8 秒"
    # the first item of 5,508 took 6 s (workers starting): no estimate of 9 hours from it
    assert progress_text("2024 年度反馈表", 1, 5508, 5.9) == "2024 年度反馈表 1/5508（0%）"


def test_progress_lines_when_not_a_terminal():
    now = [0.0]
    out = io.StringIO()
    bar = Progress("收件", stream=out, clock=lambda: now[0], tty=False)
    for done in range(200, 10_001, 200):
        now[0] += 1.0  # one second per batch of 200
        bar(done, 10_000)
    bar.close()
    lines = out.getvalue().splitlines()
    assert 4 <= len(lines) <= 7  # one every 10 seconds, and the last
    assert lines[0].startswith("收件 ") and "预计还需" in lines[0]
    assert lines[-1] == "收件 10000/10000（100%），用时 50 秒"


def test_progress_in_place_on_a_terminal_and_silent_for_short_runs():
    now = [0.0]
    out = io.StringIO()
    bar = Progress("收件", stream=out, clock=lambda: now[0], tty=True)
    for done in (1, 2, 3):
        now[0] += 2.0
        bar(done, 3)
    bar.close()
    text = out.getvalue()
    assert text.startswith("\r收件 1/3") and text.count("\r") == 3 and text.endswith("\n")
    assert text.rstrip(" \n").endswith("用时 6 秒")  # padded over the longer line before it
    quiet = io.StringIO()
    bar = Progress("收件", stream=quiet, clock=lambda: 0.5, tty=True)
    bar(1, 1)
    bar.close()
    assert quiet.getvalue() == ""
