"""A progress bar for long runs: one line at the bottom of a terminal, below the log lines.

Shown only when stderr is a terminal and the run has more than :data:`MIN_DATA_IDS`
data IDs; otherwise the log lines alone tell the story. Log lines written while the bar
is up go through :class:`_BarAwareStream`, which lifts the bar, writes the line and puts
the bar back, so they never garble each other.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import Any, TextIO

MIN_DATA_IDS = 5
WIDTH = 30
REDRAW_SECONDS = 0.1


def wanted(total: int, stream: TextIO | None = None) -> bool:
    """Whether a run of ``total`` data IDs gets a bar on ``stream`` (stderr)."""
    stream = stream or sys.stderr
    if total <= MIN_DATA_IDS or os.environ.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


class Progress:
    """Counts outcomes and draws ``[#####.....] 12/40 ok 11 failed 1 3.2 s left``."""

    def __init__(self, total: int, stream: TextIO | None = None) -> None:
        self.total = total
        self.stream = stream or sys.stderr
        self.done = self.failed = 0
        self.start = time.monotonic()
        self._drawn = False
        self._lastDraw = 0.0
        self._handlers: list[tuple[logging.StreamHandler, Any]] = []

    def __enter__(self) -> Progress:
        for handler in logging.getLogger().handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream is self.stream:
                self._handlers.append((handler, handler.setStream(_BarAwareStream(self))))
        self.draw(force=True)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.clear()
        for handler, stream in self._handlers:
            handler.setStream(stream)

    def update(self, ok: bool) -> None:
        """Count one finished data ID."""
        self.done += 1
        self.failed += not ok
        self.draw(force=self.done == self.total)

    def line(self) -> str:
        """The bar's text."""
        filled = WIDTH * self.done // max(self.total, 1)
        elapsed = time.monotonic() - self.start
        left = ""
        if 0 < self.done < self.total:
            left = f" {elapsed / self.done * (self.total - self.done):.0f} s left"
        failed = f" failed {self.failed}" if self.failed else ""
        bar = "#" * filled + "." * (WIDTH - filled)
        return f"[{bar}] {self.done}/{self.total}{failed}{left}"

    def draw(self, force: bool = False) -> None:
        """Redraw the bar (at most every :data:`REDRAW_SECONDS` unless forced)."""
        now = time.monotonic()
        if not force and now - self._lastDraw < REDRAW_SECONDS:
            return
        self._lastDraw = now
        self.stream.write("\r\033[K" + self.line())
        self.stream.flush()
        self._drawn = True

    def clear(self) -> None:
        """Remove the bar from the screen."""
        if self._drawn:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self._drawn = False


class _BarAwareStream:
    """The stream log handlers write to while a bar is up."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress

    def write(self, text: str) -> int:
        self.progress.clear()
        written = self.progress.stream.write(text)
        if text.endswith("\n"):
            self.progress.draw(force=True)
        return written

    def flush(self) -> None:
        self.progress.stream.flush()
