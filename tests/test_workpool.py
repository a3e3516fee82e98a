"""Scale-out: the flow deployed to a process work pool on a real Prefect server, run by a worker.

The scale-out recipe (docs/developer/scale-out.md), end to end (about 25-30 s: a server start, a deployment, a worker that runs
one flow run in a subprocess).  Prefect's own commands are used, as an operator would.
"""

from __future__ import annotations

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

import pytest

from nianbao.flows.store.roster import Entry, write_roster_csv
from nianbao.flows.steps.sample import valid_values
from nianbao.flows.settings import Settings
from nianbao.flows.excel.template import write_template
from nianbao.schemas.uscc import complete

ROOT = Path(__file__).resolve().parents[1]
AGENCIES = [Entry(f"巫山县单位{i}", complete(f"11500237MB{i:07d}")) for i in range(1, 5)]
PREFECT = Path(sys.executable).with_name("prefect")


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


def test_a_process_worker_runs_the_deployed_flow(server, tmp_path):
    county = Settings(inbound=tmp_path / "county" / "inbound", outbound=tmp_path / "county" / "outbound",
                      state=tmp_path / "county" / "var", roster=tmp_path / "county" / "roster.csv")
    county.inbound.mkdir(parents=True)
    county.roster.write_bytes(write_roster_csv(AGENCIES))
    for i, entry in enumerate(AGENCIES[:3]):
        write_template(county.inbound / f"{entry.name}.xlsx", values={
            **valid_values(random.Random(i)), "meta.agency": entry.name, "meta.uscc": entry.uscc, "meta.year": 2024,
            "text.overview": "总体情况。", "text.problems": "问题。"})
    prefect(server, "work-pool", "create", "nianbao", "--type", "process")
    deploy = f"""
from pathlib import Path
from nianbao.flows.pipeline import flow_parameters, nianbao_run
from nianbao.flows.settings import Settings
county = Settings(**{{k: Path(v) for k, v in {dict(inbound=str(county.inbound), outbound=str(county.outbound),
                                                     state=str(county.state), roster=str(county.roster))!r}.items()}})
nianbao_run.from_source(source={str(ROOT)!r}, entrypoint="flows/pipeline.py:nianbao_run").deploy(
    name="province", work_pool_name="nianbao", parameters=flow_parameters(county, settle_seconds=0), print_next_steps=False)
"""
    done = subprocess.run([sys.executable, "-c", deploy], env=server, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    prefect(server, "deployment", "run", "nianbao-run/province")
    prefect(server, "worker", "start", "--pool", "nianbao", "--run-once", timeout=180)
    request = urllib.request.Request(server["PREFECT_API_URL"] + "/flow_runs/filter", data=b"{}", method="POST",
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as resp:
        runs = json.loads(resp.read())
    assert [(r["deployment_id"] is not None, r["state_type"]) for r in runs] == [(True, "COMPLETED")]
    outdir = county.outbound / "2024"
    assert {"rollup.xlsx", "status.csv", "agencies.csv", "index.html"} <= {p.name for p in outdir.iterdir()}
    assert list(county.inbound.iterdir()) == []
    assert (outdir / "status.csv").read_text(encoding="utf-8-sig").count("accepted") == 3
    shutil.rmtree(tmp_path / "county")
