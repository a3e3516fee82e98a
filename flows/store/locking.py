"""One run at a time over the same state folder: an exclusive lock on ``<state>/nianbao.lock``.

``nianbao run``, ``serve``'s scheduled runs and ``reprocess`` all take it, so two of
them never claim the same file or interleave writes to the outputs; the second
simply waits for the first.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def run_lock(state: Path) -> Iterator[None]:
    state.mkdir(parents=True, exist_ok=True)
    fd = os.open(state / "nianbao.lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # released by the kernel if the process dies
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
