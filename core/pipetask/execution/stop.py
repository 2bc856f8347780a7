"""Stopping a run cleanly: Ctrl-C (SIGINT) and SIGTERM ask for a stop, they do not kill.

While a run executes, :meth:`StopRequest.handleSignals` turns SIGINT and SIGTERM into a
stop request. Executors look at :attr:`StopRequest.requested` at least every
:data:`POLL_SECONDS` while they wait; once it is set they hand out no more data IDs,
stop the running ones cleanly, still deliver the outcomes that finish meanwhile, and
return. An executor that runs tasks in the calling thread (serial) wraps each data ID in
:meth:`StopRequest.interruptible`: a stop then interrupts that data ID at once (as a
``KeyboardInterrupt``), and at no other moment, so the runner's own bookkeeping (the run
record, the summary) is never cut short. Further signals while the run stops change
nothing: the shutdown is bounded and always completes.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Iterator
from typing import Any

log = logging.getLogger("pipetask")

#: Seconds an executor may wait for news before it looks at the stop request again.
POLL_SECONDS = 0.2
#: The signals that stop a run.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class StopRequest:
    """Whether (and by which signal) the run was asked to stop."""

    def __init__(self) -> None:
        self.signum: int | None = None
        self.reason: str = ""
        self._interruptible = False

    @property
    def requested(self) -> bool:
        """Whether a stop was asked for (by a signal or by :meth:`request`)."""
        return self.signum is not None or bool(self.reason)

    @property
    def exitStatus(self) -> int | None:
        """``128 + signal number`` after a signal (130 for Ctrl-C, 143 for SIGTERM)."""
        return None if self.signum is None else 128 + self.signum

    def describe(self) -> str:
        """Why the run stopped, for its summary and record (``""`` if it did not)."""
        if self.signum == signal.SIGINT:
            return "interrupted"
        if self.signum is not None:
            return f"stopped by {signal.Signals(self.signum).name}"
        return f"stopped: {self.reason}" if self.reason else ""

    def request(self, reason: str) -> None:
        """Ask the executor to stop (for a reason other than a signal, e.g. a full disk)."""
        if not self.requested:
            self.reason = reason

    @contextlib.contextmanager
    def interruptible(self) -> Iterator[None]:
        """Let a stop signal interrupt the code inside (a task run in this thread)."""
        if self.requested:
            raise KeyboardInterrupt
        self._interruptible = True
        try:
            yield
        finally:
            self._interruptible = False

    @contextlib.contextmanager
    def handleSignals(self) -> Iterator[StopRequest]:
        """Turn SIGINT and SIGTERM into stop requests inside the ``with`` block.

        A signal that this process ignores (SIGINT in a background job) stays ignored.
        Outside the main thread (no signal handlers possible) nothing changes.
        """
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        previous: dict[int, Any] = {}
        for signum in STOP_SIGNALS:
            if signal.getsignal(signum) is signal.SIG_IGN:
                continue
            previous[signum] = signal.signal(signum, self._onSignal)
        try:
            yield self
        finally:
            for signum, handler in previous.items():
                # After a stop, more Ctrl-C cannot turn the clean end into a traceback.
                signal.signal(signum, signal.SIG_IGN if self.requested else handler)

    def _onSignal(self, signum: int, frame: Any) -> None:
        name = signal.Signals(signum).name
        if self.signum is None:
            self.signum = signum
            log.warning("%s: stopping the run (running data IDs are stopped cleanly)", name)
            if self._interruptible:
                self._interruptible = False
                raise KeyboardInterrupt
        else:
            log.warning("%s: the run is already stopping", name)
