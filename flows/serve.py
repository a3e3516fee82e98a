"""``nianbao serve``: a Prefect server (started here, or the one in PREFECT_API_URL) and a
deployment that runs the pipeline on an interval, for a county office that leaves it running.

Prefect has no file-arrival trigger, so the inbound folder is polled; claiming a
file is a rename into the archive, which is safe to repeat.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from nianbao.flows.errors import CommandLineError, InputError
from nianbao.flows.interrupt import forget, on_interrupt
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


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a server could listen on ``host:port`` now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def serve(settings: Settings, *, interval: int, port: int) -> int:
    """Serve until SIGINT or SIGTERM (the command's :func:`~nianbao.flows.interrupt.interruptible` ends it).

    This process only supervises: the Prefect server and the runner that polls the inbound
    folder are child processes in sessions of their own, so that a stop never waits on what
    Prefect does with signals (its runner ignores SIGTERM while it starts a flow run).
    """
    # the flow runs' own English logs stay in the Prefect UI; the office reads one line a pass
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "CRITICAL")
    configure_prefect(settings)
    server = None
    api = os.environ.get("PREFECT_API_URL")
    if api:
        if not _healthy(api):
            raise InputError(f"无法连接 Prefect 服务 {api}（环境变量 PREFECT_API_URL）")
        print(f"已连接 Prefect 服务：{api}", flush=True)
    else:
        if not port_free(port):
            raise CommandLineError(f"端口 {port} 已被占用（也许另一个 nianbao serve 正在运行）。请先停止它，或用 --port 换一个端口。")
        print(f"正在启动 Prefect 服务（端口 {port}）……", flush=True)
        server = start_server(settings, port)
        os.environ["PREFECT_API_URL"] = api = f"http://127.0.0.1:{port}/api"
        print(f"Prefect 界面：http://127.0.0.1:{port}", flush=True)
    from nianbao.flows.pipeline import PASSES_LOG, flow_parameters

    parameters = flow_parameters(settings, announce=True, progress=False)
    runner = subprocess.Popen([sys.executable, "-m", "nianbao.flows.serve", str(interval), json.dumps(parameters)],
                              stdin=subprocess.DEVNULL, start_new_session=True)
    children = [p for p in (runner, server) if p is not None]

    def stop_children() -> None:
        for proc in children:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)

    on_interrupt(stop_children)
    print(f"每 {interval} 秒检查一次收件夹 {settings.inbound.resolve()}；按 Ctrl+C 停止。", flush=True)
    passes = settings.state / PASSES_LOG
    seen = passes.stat().st_size if passes.exists() else 0
    try:
        while runner.poll() is None:
            time.sleep(0.5)
            seen = _print_new_lines(passes, seen)
        raise InputError(f"轮询进程意外退出（退出码 {runner.returncode}），详见 Prefect 界面或 {settings.state / 'prefect-server.log'}")
    except KeyboardInterrupt:
        pass
    finally:
        forget(stop_children)
        for proc in children:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 2
        for proc in children:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    print("已停止。", flush=True)
    return 0


def _print_new_lines(path: Path, offset: int) -> int:
    """Print what was added to ``path`` since ``offset`` (whole lines); the new offset."""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            data = f.read()
    except FileNotFoundError:
        return offset
    end = data.rfind(b"\n") + 1
    if end:
        print(data[:end].decode("utf-8", "replace"), end="", flush=True)
    return offset + end


def _run_runner(interval: int, parameters: dict) -> None:
    """The child that polls: a Prefect runner serving the flow on an interval (see :func:`serve`)."""
    import asyncio

    from prefect.runner import Runner

    from nianbao.flows.pipeline import DEPLOYMENT_NAME, nianbao_run

    runner = Runner(name=DEPLOYMENT_NAME)
    runner.add_flow(nianbao_run, name=DEPLOYMENT_NAME, interval=interval, parameters=parameters)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(runner.start())


if __name__ == "__main__":
    _run_runner(int(sys.argv[1]), json.loads(sys.argv[2]))
