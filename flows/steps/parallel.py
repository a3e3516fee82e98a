"""Independent CPU-bound jobs spread over processes, where that pays.

Workers come from :class:`concurrent.futures.ProcessPoolExecutor` with the ``spawn`` start method:
fresh interpreters, nothing forked from a process that may run threads (Prefect's) or hold SQLite
connections.  ``spawn`` rather than ``forkserver``: the fork server is one per process and cannot be
used from a child that :func:`os.fork` made after it started; and a spawned worker is a child of the
caller, as a job's caller expects.  As with any ``spawn``, a worker imports the caller's main
module under another name: a script that runs these steps keeps its work under
``if __name__ == "__main__":``.  A worker costs about half a second to start (interpreter and
imports, once per pool, not per job), so a handful of jobs run in this process, in order; many run
on every core.

Jobs, their results and their function must be picklable; each job is done completely or not at
all (write through :func:`flows.files.atomic_path`), so an interrupted worker leaves no
half-written file.  A worker whose caller dies ends too.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.reduction import ForkingPickler
from pathlib import Path

MIN_PARALLEL = 40  # fewer jobs than this run in this process
MAX_PROCESSES = 4
START_METHOD = "spawn"


def processes() -> int:
    return max(1, min(os.cpu_count() or 1, MAX_PROCESSES))


def _pool(workers: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context(START_METHOD),
                               initializer=_end_with_parent)


def _check_picklable(fn: Callable, jobs: Sequence) -> None:
    """Raise here, in the caller, what pickling a job would raise in the executor's feeder thread: there,
    it can leave a shutdown with ``cancel_futures`` waiting forever (CPython 3.11)."""
    for job in jobs:
        ForkingPickler.dumps((fn, job))


def _end_with_parent() -> None:
    """In a worker: exit when the process that started it is gone (killed, say), instead of waiting
    for jobs forever."""
    parent = multiprocessing.parent_process()
    if parent is None:  # pragma: no cover - not a worker
        return

    def watch() -> None:
        parent.join()
        os._exit(1)

    threading.Thread(target=watch, name="end-with-parent", daemon=True).start()


def run_jobs(fn: Callable, jobs: Sequence, *, min_parallel: int = MIN_PARALLEL,
             progress: Callable[[int, int], None] | None = None) -> list:
    """``fn(job)`` for every job, their results in the jobs' order: in worker processes when there are
    many jobs and several cores.  A job that fails raises :class:`RuntimeError` (from its exception)
    once the jobs already running are done; the jobs not started are not.  A job that cannot be
    pickled raises before any is started."""
    workers = min(processes(), max(1, len(jobs) // max(1, min_parallel // 2)))
    total = len(jobs)
    if total < min_parallel or workers < 2:
        results = []
        for done, job in enumerate(jobs, 1):
            results.append(fn(job))
            if progress:
                progress(done, total)
        return results
    _check_picklable(fn, jobs)
    pool = _pool(workers)
    try:
        futures = {pool.submit(fn, job): i for i, job in enumerate(jobs)}
        results = [None] * total
        for done, future in enumerate(as_completed(futures), 1):
            try:
                results[futures[future]] = future.result()
            except Exception as exc:
                raise RuntimeError(f"a worker process failed: {type(exc).__name__}: {exc}") from exc
            if progress:
                progress(done, total)
        return results
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


class Ahead:
    """``fn(item)`` for each item, computed in order by one worker process while the caller works on the
    results already there: a pipeline over two cores.  The worker is at most one item ahead of the
    caller.  Iterate to get the results; :meth:`close` (or ``with``) stops the worker.

    When the worker dies (:class:`BrokenProcessPool`) or cannot start, the caller computes that item
    and the rest itself: the results are the same either way.  An exception ``fn`` raises in the
    worker is raised here, as it would be in this process.
    """

    def __init__(self, fn: Callable, items: Sequence):
        self._fn = fn
        self._items = list(items)
        _check_picklable(fn, self._items)
        self.total = len(self._items)
        self.taken = 0
        self.lost = False  # the worker died: everything from then on is computed here
        self._pending: deque[Future] = deque()
        self._executor: ProcessPoolExecutor | None = _pool(1)
        self._submit()

    def _submit(self) -> None:
        index = self.taken + len(self._pending)
        if self._executor is None or index >= self.total:
            return
        try:
            self._pending.append(self._executor.submit(self._fn, self._items[index]))
        except (BrokenProcessPool, OSError):
            self._lose()

    def _lose(self) -> None:
        self.lost = True
        self.close()

    def __iter__(self):
        return self

    def __next__(self):
        if self.taken >= self.total:
            raise StopIteration
        item = self._items[self.taken]
        self._submit()  # the next item: the worker goes on with it while the caller works on this one
        result = None
        computed = False
        if self._pending:
            try:
                result, computed = self._pending.popleft().result(), True
            except BrokenProcessPool:
                self._lose()
        if not computed:
            result = self._fn(item)
        self.taken += 1
        return result

    def close(self) -> None:
        """Stop the worker (after the item it is computing, if any); the items not taken are dropped."""
        self._pending.clear()
        if self._executor is not None:
            executor, self._executor = self._executor, None
            executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> "Ahead":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def feedback_job(job: tuple[str, str, bool, list, str]) -> None:
    """Write one agency's feedback workbook (see :func:`flows.xlsx.write_feedback`)."""
    target, archived, readable, findings, title = job
    from nianbao.flows.store.files import atomic_path
    from nianbao.flows.excel.feedback import write_feedback

    from nianbao.flows.steps.documents import anchored, is_document, prefilled_template

    try:
        original = Path(archived).read_bytes()
    except OSError:
        original = None
    if original is not None and is_document(archived, original):
        # a document has no cells to mark: the template pre-filled with what it gave, marked where it fails
        original, findings = prefilled_template(original, Path(archived).name), anchored(findings)
    elif not readable:
        original = None
    with atomic_path(Path(target)) as tmp:
        write_feedback(original, findings, tmp, title=title)
