"""Scale-out: two counties' deployments on one process work pool of a real Prefect server, run in parallel by workers.

The scale-out recipe (docs/developer/scale-out.md), end to end: a server start, one work pool with a work queue per host,
each county's deployment pinned to its host's queue, a worker per queue (``--run-once``), the two flow runs overlapping
in time, each county's outputs holding its own agencies only (about 45-70 s: a server start, a deployment process, two
workers each running one flow run in a subprocess).  Prefect's own commands are used, as an operator would.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import openpyxl
import pytest
from nianbao.flows.excel.template import write_template
from nianbao.flows.pipeline import flow_parameters
from nianbao.flows.settings import Settings
from nianbao.flows.steps.sample import valid_values
from nianbao.flows.store.roster import Entry, write_roster_csv
from nianbao.schemas.form import FORM
from nianbao.schemas.uscc import complete

ROOT = Path(__file__).resolve().parents[1]
PREFECT = Path(sys.executable).with_name("prefect")
YEAR = 2024


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthy(api: str) -> bool:
    try:
        with urllib.request.urlopen(api + "/health", timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False


@pytest.fixture
def server(tmp_path):
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_HOME=str(tmp_path / "prefect"), PREFECT_API_URL=api, PREFECT_SERVER_ANALYTICS_ENABLED="false",
               PREFECT_LOGGING_LEVEL="WARNING", PYTHONPATH=str(ROOT))
    log = open(tmp_path / "server.log", "wb")
    proc = subprocess.Popen([str(PREFECT), "server", "start", "--host", "127.0.0.1", "--port", str(port), "--no-ui",
                             "--analytics-off"], stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 90
        while not healthy(api):
            assert proc.poll() is None and time.monotonic() < deadline, (tmp_path / "server.log").read_text()[-2000:]
            time.sleep(0.5)
        yield env
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def prefect(env, *args, timeout=120) -> str:
    done = subprocess.run([str(PREFECT), *args], env=env, capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return done.stdout


def make_county(root: Path, county: str, area: str, reports: int, seed: int) -> tuple[Settings, list[str], dict]:
    """A county's workspace: its own inbound, outbound, state and roster; ``reports`` agencies of its roster (one more
    on it, missing) have dropped a filled template.  Returns the settings, the roster's names and each reporting
    agency's figures."""
    settings = Settings(inbound=root / "inbound", outbound=root / "outbound", state=root / "var",
                        roster=root / "roster.csv", county=county)
    agencies = [Entry(f"{county}单位{i}", complete(f"11{area}MB{i:07d}")) for i in range(1, reports + 2)]
    settings.inbound.mkdir(parents=True)
    settings.roster.write_bytes(write_roster_csv(agencies))
    figures = {}
    for i, entry in enumerate(agencies[:reports]):
        values = valid_values(random.Random(seed + i))
        figures[entry.name] = {code: values[code] for code in FORM.numeric_codes}
        write_template(settings.inbound / f"{entry.name}.xlsx", values={
            **values, "meta.agency": entry.name, "meta.uscc": entry.uscc, "meta.year": YEAR,
            "text.overview": "总体情况。", "text.problems": "问题。"})
    return settings, [e.name for e in agencies], figures


def api(env, path: str, body: dict):
    request = urllib.request.Request(env["PREFECT_API_URL"] + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as resp:
        return json.loads(resp.read())


def when(stamp: str) -> dt.datetime:
    return dt.datetime.fromisoformat(stamp)  # "...Z" read as UTC since Python 3.11


def test_two_counties_run_in_parallel_on_one_work_pool(server, tmp_path):
    # 巫山县 on host A, 奉节县 on host B: a work queue per host in the one pool, each county's deployment on its host's
    # queue, a worker per queue; here both "hosts" are this machine, each county's state folder on its local disk.
    counties = {"host-a": make_county(tmp_path / "巫山县", "巫山县", "500237", 3, seed=0),
                "host-b": make_county(tmp_path / "奉节县", "奉节县", "500236", 4, seed=100)}
    prefect(server, "work-pool", "create", "nianbao", "--type", "process")
    params = {queue: flow_parameters(settings, settle_seconds=0, progress=False)
              for queue, (settings, _, _) in counties.items()}
    # the recipe's deployment, a county on its host's queue (created with it), and a run of each now
    # (`prefect deployment run` does the same; one process for both saves a few seconds of start-up)
    deploy = f"""
from prefect.deployments import run_deployment
from nianbao.flows.pipeline import nianbao_run
for queue, parameters in {params!r}.items():
    nianbao_run.from_source(source={str(ROOT)!r}, entrypoint="flows/pipeline.py:nianbao_run").deploy(
        name=parameters["county"], work_pool_name="nianbao", work_queue_name=queue, parameters=parameters,
        print_next_steps=False)
for parameters in {params!r}.values():
    run_deployment("nianbao-run/" + parameters["county"], timeout=0)
"""
    done = subprocess.run([sys.executable, "-c", deploy], env=server, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]

    # a worker per host, both at once: each polls its own queue once and waits for the run it started
    logs = {queue: tmp_path / f"worker-{queue}.log" for queue in counties}
    workers = []
    try:
        for queue, log in logs.items():
            with open(log, "wb") as out:
                workers.append(subprocess.Popen([str(PREFECT), "worker", "start", "--pool", "nianbao", "--work-queue",
                                                 queue, "--name", queue, "--run-once"], env=server, cwd=ROOT,
                                                stdout=out, stderr=subprocess.STDOUT))
        for w in workers:
            w.wait(timeout=180)
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
    assert [w.returncode for w in workers] == [0, 0], "\n".join(log.read_text()[-2000:] for log in logs.values())

    runs = api(server, "/flow_runs/filter", {})
    by_county = {r["parameters"]["county"]: r for r in runs}
    assert len(runs) == 2 and set(by_county) == {"巫山县", "奉节县"}
    for queue, (settings, _, _) in counties.items():
        run = by_county[settings.county]
        assert (run["state_type"], run["work_pool_name"], run["work_queue_name"]) == ("COMPLETED", "nianbao", queue)
    # in parallel: each run started before the other ended
    (a_start, a_end), (b_start, b_end) = [(when(r["start_time"]), when(r["end_time"])) for r in by_county.values()]
    assert a_start < b_end and b_start < a_end, (a_start, a_end, b_start, b_end)

    # no cross-talk: each county's outputs, ledger and rollup hold its own agencies only (the two counties' sums differ,
    # so a report of the other county counted in would show)
    sums = [{code: sum(f[code] for f in figures.values()) for code in FORM.numeric_codes} for _, _, figures in counties.values()]
    assert sums[0] != sums[1] and all(any(s.values()) for s in sums)
    for settings, roster, figures in counties.values():
        outdir = settings.outbound / str(YEAR)
        assert {"rollup.xlsx", "status.csv", "agencies.csv", "index.html"} <= {p.name for p in outdir.iterdir()}
        assert list(settings.inbound.iterdir()) == []
        assert (settings.state / "ledger.sqlite3").exists()
        status = {row["agency"]: row["status"] for row in
                  csv.DictReader(io.StringIO((outdir / "status.csv").read_text(encoding="utf-8-sig")))}
        assert status == {name: ("accepted" if name in figures else "missing") for name in roster}
        wb = openpyxl.load_workbook(outdir / "rollup.xlsx")
        cover = [c for row in wb["封面"].iter_rows(values_only=True) for c in row if c]
        assert settings.county in cover
        for code, expected in sums.pop(0).items():
            ((sheet, ref),) = wb.defined_names[code].destinations
            assert wb[sheet][ref.replace("$", "")].value == pytest.approx(expected), (settings.county, code)
    shutil.rmtree(tmp_path / "巫山县")
    shutil.rmtree(tmp_path / "奉节县")
