"""Ctrl-C and a service manager's stop: 已中断 at once, the process gone within seconds, no traceback.

A terminal sends SIGINT to the whole process group, Prefect's temporary server
included; Prefect then spends over a minute reconnecting and printing English
errors.  Nothing needs that time: every file is recorded before it moves and
the next run finishes any move left half done (see
:func:`nianbao.flows.steps.intake.finish_moves`).  So the first SIGINT or
SIGTERM prints 已中断, silences whatever the libraries print while unwinding,
and ends the process after a short grace, running the registered clean-ups
(a server this process started) first.  A second signal ends it at once.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

EXIT_INTERRUPTED = 130
_cleanups: list[Callable[[], None]] = []


def on_interrupt(fn: Callable[[], None]) -> Callable[[], None]:
    """Run ``fn`` (say, stop a server) before an interrupted process ends; :func:`forget` when done."""
    _cleanups.append(fn)
    return fn


def forget(fn: Callable[[], None]) -> None:
    if fn in _cleanups:
        _cleanups.remove(fn)


def _clean_up() -> None:
    for fn in list(_cleanups):
        try:
            fn()
        except Exception:  # noqa: BLE001 - ending anyway
            pass


@contextmanager
def interruptible(grace: float = 2.0, *, message: str = "已中断。", code: int = EXIT_INTERRUPTED) -> Iterator[dict]:
    """Within: SIGINT and SIGTERM interrupt as described above, ending with exit status ``code`` at the latest
    ``grace`` seconds later.  Yields ``{"interrupted": bool}``."""
    state = {"interrupted": False}
    if threading.current_thread() is not threading.main_thread():  # signals reach the main thread only
        yield state
        return
    try:
        terminal = os.dup(sys.stderr.fileno())  # where 已中断 goes, whatever fd 2 points at by then
    except (OSError, ValueError):
        terminal = None

    def finish() -> None:
        _clean_up()
        os._exit(code)

    def handler(signum, frame):
        if state["interrupted"]:
            finish()
        state["interrupted"] = True
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.flush()
            if terminal is not None:
                os.write(terminal, (message + "\n").encode("utf-8"))
            else:
                print(message, file=sys.stderr, flush=True)
        try:  # what libraries print while they unwind is not for the user
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stderr.fileno())
        except (OSError, ValueError):
            pass
        timer = threading.Timer(grace, finish)
        timer.daemon = True
        timer.start()
        raise KeyboardInterrupt

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield state
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
        if terminal is not None:
            os.close(terminal)
