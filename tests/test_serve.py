"""`nianbao serve` as a county office leaves it running: a real Prefect server, an interval schedule."""

from __future__ import annotations

import csv
import re
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from nianbao.flows.settings import init_workspace
from nianbao.flows.store.roster import Entry, write_roster_csv
from nianbao.flows.steps.sample import valid_values
from nianbao.flows.excel.template import write_template
from nianbao.schemas.uscc import complete

AGENCY = Entry("巫山县教育委员会", complete("11500237MB0000001"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_serve(workspace: Path, port: int) -> subprocess.Popen:
    """``nianbao serve`` in ``workspace``, as an office starts it (no Prefect settings of the tests')."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    return subprocess.Popen(
        [str(Path(sys.executable).with_name("nianbao")), "serve", "--interval", "10", "--port", str(port)],
        cwd=workspace, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )


def test_serve_picks_up_a_dropped_file_and_stops_cleanly(tmp_path):
    init_workspace(tmp_path, county="巫山县")
    (tmp_path / "roster.csv").write_bytes(write_roster_csv([AGENCY, Entry("巫山县公安局", "")]))
    port = free_port()
    proc = start_serve(tmp_path, port)
    try:
        time.sleep(2)
        write_template(tmp_path / "inbound" / "教委.xlsx", values={
            **valid_values(random.Random(1)), "meta.agency": AGENCY.name, "meta.uscc": AGENCY.uscc, "meta.year": 2024,
            "text.overview": "总体情况", "text.problems": "问题"})
        status = tmp_path / "outbound" / "2024" / "status.csv"
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and not status.exists():
            assert proc.poll() is None, proc.stdout.read()
            time.sleep(2)
        rows = list(csv.DictReader(status.read_text(encoding="utf-8-sig").splitlines()))
        assert [(r["agency"], r["status"]) for r in rows] == [(AGENCY.name, "accepted"), ("巫山县公安局", "missing")]
        passes = tmp_path / "var" / "passes.log"  # the pass writes its line once its last task is done
        while time.monotonic() < deadline and "新收 1 份" not in (passes.read_text(encoding="utf-8")
                                                                 if passes.exists() else ""):
            time.sleep(1)
        time.sleep(2)  # serve prints new lines of passes.log every half second
    finally:
        proc.send_signal(signal.SIGTERM)
        stopped = time.monotonic()
        out, _ = proc.communicate(timeout=60)
    assert time.monotonic() - stopped < 5, out
    assert proc.returncode == 0, out
    assert "Prefect 界面" in out and "已停止" in out and "Traceback" not in out
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d 新收 1 份：通过 1，未通过 0", out), out  # one line a pass
    with socket.socket() as s:  # the server it started is gone too
        assert s.connect_ex(("127.0.0.1", port)) != 0


def test_a_taken_port_is_refused(tmp_path):
    init_workspace(tmp_path, county="巫山县")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
        done = subprocess.run([str(Path(sys.executable).with_name("nianbao")), "serve", "--port", str(port)],
                              cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and f"端口 {port} 已被占用" in done.stderr
    assert "正在启动" not in done.stdout


def test_serve_stops_even_when_its_server_went_away(tmp_path):
    init_workspace(tmp_path, county="巫山县")
    port = free_port()
    proc = start_serve(tmp_path, port)
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:  # until the first pass has run
            if (tmp_path / "var" / "ledger.sqlite3").exists():
                break
            assert proc.poll() is None, proc.stdout.read()
            time.sleep(1)
        subprocess.run(["pkill", "-KILL", "-f", f"prefect server start --host 127.0.0.1 --port {port}"], check=False)
        time.sleep(3)
    finally:
        proc.send_signal(signal.SIGINT)
        stopped = time.monotonic()
        out, _ = proc.communicate(timeout=60)
    assert time.monotonic() - stopped < 5, out
    assert proc.returncode == 0 and "Traceback" not in out, out
