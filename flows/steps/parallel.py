"""Independent CPU-bound jobs spread over processes, where that pays.

Workers are fresh interpreters (``python -m nianbao.flows.steps.parallel``), each given its share of the
jobs as one pickle on its standard input: nothing is forked from a process that may run
threads (Prefect's), and the caller's main module is never imported again (as
``multiprocessing``'s spawn would).  A worker costs about half a second to start, so a
handful of jobs run in this process, in order; many run on every core.

Jobs must be picklable and their function importable by name; each job is done completely
or not at all (write through :func:`flows.files.atomic_path`), so an interrupted worker
leaves no half-written file.
"""

from __future__ import annotations

import importlib
import os
import pickle
import selectors
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

MIN_PARALLEL = 40  # fewer jobs than this run in this process
MAX_PROCESSES = 4


def processes() -> int:
    return max(1, min(os.cpu_count() or 1, MAX_PROCESSES))


def _name(fn: Callable) -> str:
    return f"{fn.__module__}:{fn.__qualname__}"


def _resolve(name: str) -> Callable:
    module, _, attr = name.partition(":")
    return getattr(importlib.import_module(module), attr)


def peak_rss_mb() -> float:
    """This process's peak resident set size: ``VmHWM``, which (unlike ``ru_maxrss``) does not count the
    parent's pages a child shares between fork and exec; ``ru_maxrss`` where there is no /proc."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


LAST_RUN: dict = {}
"""Of the last :func:`run_jobs` that used workers: their number and the largest peak RSS among them (MB)."""


def run_jobs(fn: Callable, jobs: Sequence, *, min_parallel: int = MIN_PARALLEL,
             progress: Callable[[int, int], None] | None = None) -> None:
    """``fn(job)`` for every job: in worker processes when there are many jobs and several cores."""
    workers = min(processes(), max(1, len(jobs) // max(1, min_parallel // 2)))
    total = len(jobs)
    if total < min_parallel or workers < 2:
        for done, job in enumerate(jobs, 1):
            fn(job)
            if progress:
                progress(done, total)
        return
    env = _worker_env()
    procs = []
    for i in range(workers):
        err = tempfile.TemporaryFile()
        proc = subprocess.Popen([sys.executable, "-m", "nianbao.flows.steps.parallel"], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=err, env=env)
        procs.append((proc, err))
        proc.stdin.write(pickle.dumps((_name(fn), list(jobs[i::workers]))))
        proc.stdin.close()
    done = 0
    failed = []
    tails: dict[int, bytes] = {}
    try:
        with selectors.DefaultSelector() as sel:
            for proc, _ in procs:
                sel.register(proc.stdout, selectors.EVENT_READ)
            while sel.get_map():
                for key, _ in sel.select():
                    chunk = os.read(key.fd, 4096)  # a "." per job done, then a line with the worker's peak RSS
                    if not chunk:
                        sel.unregister(key.fileobj)
                        continue
                    if key.fd in tails:  # past the newline: the peak RSS, not jobs
                        tails[key.fd] += chunk
                        continue
                    head, newline, tail = chunk.partition(b"\n")
                    if newline:
                        tails[key.fd] = tail
                    dots = head.count(b".")
                    done += dots
                    if progress and dots:
                        progress(min(done, total), total)
    finally:
        for proc, err in procs:
            if proc.wait() != 0:
                err.seek(0)
                failed.append(err.read().decode("utf-8", "replace").strip().splitlines()[-1:] or ["?"])
            proc.stdout.close()
            err.close()
    if failed:
        raise RuntimeError(f"a worker process failed: {failed[0][0]}")
    peaks = [float(t) for t in tails.values() if t.strip().replace(b".", b"", 1).isdigit()]
    LAST_RUN.update(workers=workers, peak_rss_mb=max(peaks, default=0.0))


def _worker_env() -> dict:
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[1])  # flows/ importable even when not installed
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
    return env


class Ahead:
    """``fn(item)`` for each item, computed in order by one worker process while the caller works on the
    results already there: a pipeline over two cores (the worker's output waits in a pipe, so it runs
    at most a little ahead).  Iterate to get the results; :meth:`close` stops the worker.

    A result that cannot be had from the worker (it died, or cannot start) raises :class:`WorkerLost`;
    the caller can compute that item and the rest itself.
    """

    def __init__(self, fn: Callable, items: Sequence):
        self.total = len(items)
        self.taken = 0
        self._err = tempfile.TemporaryFile()
        self._proc = subprocess.Popen([sys.executable, "-m", "nianbao.flows.steps.parallel", "--ahead"], stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, stderr=self._err, env=_worker_env())
        try:  # the worker reads all items before it writes a result: no deadlock on the two pipes
            self._proc.stdin.write(pickle.dumps((_name(fn), list(items))))
            self._proc.stdin.close()
        except OSError:
            pass

    def __iter__(self):
        return self

    def __next__(self):
        if self.taken >= self.total:
            raise StopIteration
        head = self._proc.stdout.read(8)
        body = self._proc.stdout.read(int.from_bytes(head, "big")) if len(head) == 8 else b""
        if len(head) != 8 or len(body) != int.from_bytes(head, "big"):
            self.close()
            raise WorkerLost(self._why())
        self.taken += 1
        return pickle.loads(body)

    def _why(self) -> str:
        self._err.seek(0)
        lines = self._err.read().decode("utf-8", "replace").strip().splitlines()
        return lines[-1] if lines else f"exit status {self._proc.returncode}"

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()
        self._proc.stdout.close()
        self._err.close()

    def __enter__(self) -> "Ahead":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class WorkerLost(RuntimeError):
    """A worker process ended before it delivered every result."""


def _ahead_worker() -> None:
    name, items = pickle.load(sys.stdin.buffer)
    out = os.fdopen(os.dup(1), "wb")  # results only: anything printed goes to stderr
    os.dup2(2, 1)
    fn = _resolve(name)
    for item in items:
        data = pickle.dumps(fn(item), protocol=pickle.HIGHEST_PROTOCOL)
        out.write(len(data).to_bytes(8, "big"))
        out.write(data)
        out.flush()


def _worker() -> None:
    name, jobs = pickle.load(sys.stdin.buffer)
    fn = _resolve(name)
    for job in jobs:
        fn(job)
        sys.stdout.buffer.write(b".")
        sys.stdout.flush()
    sys.stdout.buffer.write(f"\n{peak_rss_mb():.1f}".encode())
    sys.stdout.flush()


def feedback_job(job: tuple[str, str, bool, list, str]) -> None:
    """Write one agency's feedback workbook (see :func:`flows.xlsx.write_feedback`)."""
    target, archived, readable, findings, title = job
    from nianbao.flows.store.files import atomic_path
    from nianbao.flows.excel.feedback import write_feedback

    try:
        original = Path(archived).read_bytes() if readable else None
    except OSError:
        original = None
    with atomic_path(Path(target)) as tmp:
        write_feedback(original, findings, tmp, title=title)


if __name__ == "__main__":  # pragma: no cover - a worker
    _ahead_worker() if sys.argv[1:] == ["--ahead"] else _worker()
