"""A plain-text progress line for long runs, on stderr.

``Progress("收件")`` is a ``progress(done, total)`` callback (what
:func:`nianbao.flows.steps.intake.intake` accepts).  It prints, e.g.::

    收件 3200/10000（32%），预计还需 1 分 05 秒

updated in place when the stream is a terminal, and as an occasional line
otherwise (a log file gets one line every :data:`LINE_EVERY` seconds and the
last one).  A run shorter than :data:`QUIET_FOR` seconds prints nothing.
"""

from __future__ import annotations

import sys
import time
import unicodedata
from typing import TextIO

QUIET_FOR = 2.0  # seconds: short runs print nothing
LINE_EVERY = 10.0  # seconds between lines when the stream is not a terminal
REDRAW_EVERY = 0.2  # seconds between redraws on a terminal


def duration_text(seconds: float) -> str:
    """``1 分 05 秒``, ``8 秒``, ``1 小时 02 分``."""
    s = max(0, int(round(seconds)))
    if s < 60:
        return f"{s} 秒"
    if s < 3600:
        return f"{s // 60} 分 {s % 60:02d} 秒"
    return f"{s // 3600} 小时 {s % 3600 // 60:02d} 分"


ESTIMATE_AFTER = 20
"""Items done before the time left is estimated (or 2 % of them): the first few carry the start-up of workers,
and an estimate from them says hours for a minute's work."""


def progress_text(label: str, done: int, total: int, elapsed: float) -> str:
    pct = int(done * 100 / total) if total else 100
    text = f"{label} {done}/{total}（{pct}%）"
    if 0 < done < total and elapsed > 0 and done >= min(ESTIMATE_AFTER, total * 0.02):
        text += f"，预计还需 {duration_text(elapsed / done * (total - done))}"
    elif done >= total:
        text += f"，用时 {duration_text(elapsed)}"
    return text


def _columns(text: str) -> int:
    """Terminal columns: Chinese characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


class Progress:
    """A ``progress(done, total)`` callback that draws a progress line; call :meth:`close` at the end."""

    def __init__(self, label: str, *, stream: TextIO | None = None, clock=time.monotonic,
                 tty: bool | None = None, quiet_for: float = QUIET_FOR):
        self.label = label
        self.stream = stream if stream is not None else sys.stderr
        self.clock = clock
        self.start = clock()
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)()) if tty is None else tty
        self.quiet_for = quiet_for
        self.shown = False
        self.last_draw = float("-inf")
        self.last: tuple[int, int] | None = None
        self.width = 0

    def __call__(self, done: int, total: int) -> None:
        self.last = (done, total)
        now = self.clock()
        elapsed = now - self.start
        if elapsed < self.quiet_for and done < total:
            return
        if done >= total and not self.shown and elapsed < self.quiet_for:
            return  # a short run: nothing to show
        every = REDRAW_EVERY if self.tty else LINE_EVERY
        if done < total and now - self.last_draw < every:
            return
        self._draw(progress_text(self.label, done, total, elapsed))
        self.last_draw = now

    def _draw(self, text: str) -> None:
        try:
            if self.tty:
                pad = max(0, self.width - _columns(text))
                self.stream.write("\r" + text + " " * pad)
                self.width = _columns(text)
            else:
                self.stream.write(text + "\n")
            self.stream.flush()
        except (OSError, ValueError):  # a closed or broken stream never stops a run
            return
        self.shown = True

    def close(self) -> None:
        """Finish the line (on a terminal) once something was shown."""
        if self.shown and self.tty:
            try:
                self.stream.write("\n")
                self.stream.flush()
            except (OSError, ValueError):
                pass
        self.shown = False
