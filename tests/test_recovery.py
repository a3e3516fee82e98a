"""`nianbao status` and `nianbao reprocess`, and bombs that stay within bounds of time and memory."""

from __future__ import annotations

import random
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import make_workspace

from nianbao.flows.cli import main
from nianbao.flows.steps.intake import intake
from nianbao.flows.store.ledger import Ledger
from nianbao.flows.steps.recovery import reprocess, status_text
from nianbao.flows.store.roster import Entry, write_roster_csv
from nianbao.flows.steps.sample import valid_values
from nianbao.flows.excel.template import write_template
from nianbao.schemas.uscc import complete

EDU = Entry("巫山县教育委员会", complete("11500237MB0000001"))
POLICE = Entry("巫山县公安局", complete("11500237MB0000002"))


@pytest.fixture
def settings(settings):
    settings.roster.write_bytes(write_roster_csv([EDU, POLICE]))
    return settings


def drop(settings, name, entry, **overrides):
    write_template(settings.inbound / name, values={
        **valid_values(random.Random(len(name))), "meta.agency": entry.name, "meta.uscc": entry.uscc,
        "meta.year": 2024, "text.overview": "总体情况", "text.problems": "问题", **overrides})


def test_status_lists_every_agency_and_the_last_files(settings):
    assert "还没有收到任何年报" in status_text(settings)
    drop(settings, "教委.xlsx", EDU)
    drop(settings, "broken.xlsx", POLICE, **{"appeals.review.total": 42})
    intake(settings, settle_seconds=0)
    text = status_text(settings, 2024)
    assert "2024 年度（共 2 个单位）：已通过 1，未通过 1，未报送 0" in text
    assert "已通过  巫山县教育委员会  教委.xlsx" in text and "未通过  巫山县公安局  broken.xlsx" in text
    assert "最近收到的 2 份文件" in text


def test_reprocess_rechecks_an_archived_original(settings, monkeypatch):
    drop(settings, "教委.xlsx", EDU)
    intake(settings, settle_seconds=0)
    with Ledger(settings.ledger) as ledger:
        (sub,) = ledger.submissions()
        # as if the file had been rejected by an earlier, wrong version of a rule
        ledger.update_findings(sub.id, "rejected", 1, 0, [], sub.numbers, sub.fields, sub.agency, sub.uscc, sub.year)
    before = Path(sub.archived_path).read_bytes()
    message = reprocess(settings, sub.sha256[:10])
    assert "原结论 未通过，现结论 通过" in message
    with Ledger(settings.ledger) as ledger:
        (again,) = ledger.submissions()
    assert again.outcome == "accepted" and again.id == sub.id
    assert Path(sub.archived_path).read_bytes() == before  # the original is untouched
    assert (settings.outbound / "2024" / "rollup.xlsx").exists()
    # by file name too, and a clear message when nothing matches
    assert "教委.xlsx" in reprocess(settings, "教委.xlsx")
    make_workspace(settings)
    monkeypatch.chdir(settings.state.parent)
    assert main(["reprocess", "deadbeefdeadbeef"]) == 1


def test_cli_status(settings, monkeypatch, capsys):
    drop(settings, "教委.xlsx", EDU)
    intake(settings, settle_seconds=0)
    make_workspace(settings)
    monkeypatch.chdir(settings.state.parent)
    assert main(["status", "--roster", str(settings.roster)]) == 0
    out = capsys.readouterr().out
    assert "未报送  巫山县公安局" in out


BOMB_CHILD = r"""
import resource, sys, time
resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))  # 1 GiB of address space at most
from nianbao.flows.excel.reader import read_report
start = time.perf_counter()
report = read_report(sys.argv[1])
print(report.findings[0].rule, round(time.perf_counter() - start, 3))
"""


def _bomb(path: Path, unpacked_mb: int, declared: bool = True) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("xl/workbook.xml", "<workbook/>")
        with zf.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as fh:
            chunk = b"<c><v>0</v></c>" * 65536
            for _ in range(unpacked_mb * 1024 * 1024 // len(chunk)):
                fh.write(chunk)


def test_zip_bomb_is_refused_in_bounded_time_and_memory(tmp_path):
    bomb = tmp_path / "bomb.xlsx"
    _bomb(bomb, 1024)  # 1 GiB of XML in a few MB
    assert bomb.stat().st_size < 20 * 1024 * 1024
    proc = subprocess.run([sys.executable, "-c", BOMB_CHILD, str(bomb)], capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).resolve().parents[1])
    assert proc.returncode == 0, proc.stderr
    rule, seconds = proc.stdout.split()
    assert rule == "file.bomb" and float(seconds) < 1.0


def test_oversize_file_is_refused_unread(settings):
    big = settings.inbound / "big.xlsx"
    with open(big, "wb") as fh:
        fh.truncate(21 * 1024 * 1024)  # sparse: 21 MB of nothing
    (result,) = intake(settings, settle_seconds=0).outcomes
    with Ledger(settings.ledger) as ledger:
        (sub,) = ledger.submissions()
    assert result.status == "rejected" and sub.findings[0].rule == "file.too_large"
