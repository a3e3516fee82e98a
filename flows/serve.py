"""``nianbao serve``: a Prefect server (started here, or the one in PREFECT_API_URL) and a
deployment that runs the pipeline on an interval, for a county office that leaves it running.

Prefect has no file-arrival trigger, so the inbound folder is polled; claiming a
file is a rename into the archive, which is safe to repeat.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from nianbao.flows.errors import InputError
from nianbao.flows.settings import Settings, configure_prefect

STARTUP_SECONDS = 120


def _healthy(api_url: str) -> bool:
    try:
        with urllib.request.urlopen(api_url.rstrip("/") + "/health", timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False


def start_server(settings: Settings, port: int) -> subprocess.Popen:
    """Start ``prefect server start`` on 127.0.0.1:port; its output goes to a log file under the state folder."""
    prefect = Path(sys.executable).with_name("prefect")
    log_path = settings.state / "prefect-server.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.pop("PREFECT_API_URL", None)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [str(prefect), "server", "start", "--host", "127.0.0.1", "--port", str(port), "--analytics-off"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, start_new_session=True,
        )
    api = f"http://127.0.0.1:{port}/api"
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise InputError(f"Prefect 服务启动失败（端口 {port} 可能被占用），详见 {log_path}")
        if _healthy(api):
            return proc
        time.sleep(0.5)
    proc.terminate()
    raise InputError(f"Prefect 服务在 {STARTUP_SECONDS} 秒内没有启动，详见 {log_path}")


def _stop_on_sigterm(signum, frame):  # a service manager's stop is a Ctrl+C
    raise KeyboardInterrupt


def serve(settings: Settings, *, interval: int, port: int) -> int:
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    configure_prefect(settings)
    server = None
    api = os.environ.get("PREFECT_API_URL")
    if api:
        if not _healthy(api):
            raise InputError(f"无法连接 Prefect 服务 {api}（环境变量 PREFECT_API_URL）")
        print(f"已连接 Prefect 服务：{api}", flush=True)
    else:
        print(f"正在启动 Prefect 服务（端口 {port}）……", flush=True)
        server = start_server(settings, port)
        os.environ["PREFECT_API_URL"] = api = f"http://127.0.0.1:{port}/api"
        print(f"Prefect 界面：http://127.0.0.1:{port}", flush=True)
    from nianbao.flows.pipeline import DEPLOYMENT_NAME, flow_parameters, nianbao_run

    print(f"每 {interval} 秒检查一次收件夹 {settings.inbound.resolve()}；按 Ctrl+C 停止。", flush=True)
    try:
        nianbao_run.serve(name=DEPLOYMENT_NAME, interval=interval, parameters=flow_parameters(settings),
                          print_starting_message=False)
    except KeyboardInterrupt:
        pass
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
    print("已停止。", flush=True)
    return 0
