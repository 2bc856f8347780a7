"""The process-pool executor (``-j N``): N local worker processes, each building the task once.

The parent hands one data ID at a time to each idle worker over a pipe, so it always
knows which data ID a worker holds: a worker that dies (killed, segfault, out of memory)
or runs past the timeout fails only that data ID, and a fresh worker takes its place.
Log records come back over the same pipe as results and are written by the parent's
handlers, labelled with their data ID.
"""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Iterator, Sequence
from multiprocessing.connection import wait
from typing import Any

from ..logs import currentDataId, currentLevels
from . import lifeline
from .base import FAILED, Executor, Outcome, workSource
from .job import Job, processOne
from .stop import POLL_SECONDS

log = logging.getLogger("pipetask")


class _PipeHandler(logging.handlers.QueueHandler):
    """Sends each log record, formatted and labelled with its data ID, up the worker's pipe.

    Each worker has its own pipe for results and log lines alike, so a worker that is
    killed can break only its own pipe, never another worker's logging.
    """

    def __init__(self, conn: Any) -> None:
        super().__init__(None)  # type: ignore[arg-type]
        self.conn = conn

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        record = super().prepare(record)
        record.dataId = currentDataId.get()
        return record

    def enqueue(self, record: logging.LogRecord) -> None:
        self.conn.send((LOG, record))


LOG, RESULT = "log", "result"
#: Seconds a stopped worker has to unwind (remove temporary files) before it is killed.
KILL_GRACE_SECONDS = 2.0


def _workerMain(conn: Any, job: Job, levels: dict[str, int], parentPid: int) -> None:
    """A worker process: receive ``(index, dataId)``, send back log records and the outcome."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C
    # Stopped by the parent (Ctrl-C, --timeout) or orphaned: unwind, so writes remove
    # their temporary files.
    signal.signal(signal.SIGTERM, _raiseInterrupt)
    sys.unraisablehook = _quietInterrupt
    try:
        lifeline.dieWithParent(parentPid)
    except KeyboardInterrupt:  # the parent is already gone
        return
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(_PipeHandler(conn))
    for name, level in levels.items():
        logging.getLogger(name or None).setLevel(level)
    try:
        _serve(conn, job)
    except KeyboardInterrupt:  # stopped by the parent: leave quietly
        return


def _serve(conn: Any, job: Job) -> None:
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        index, dataId = message
        outcome = processOne(job, dataId)
        # A stop must not cut a result in half on the pipe: it waits until it is sent.
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
        try:
            conn.send((RESULT, (index, outcome)))
        finally:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})


def _raiseInterrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def _quietInterrupt(unraisable: Any) -> None:
    """A stop that lands in a callback Python cannot raise from (an import's lock
    cleanup) is the stop itself, not an error to print; anything else is printed."""
    if not isinstance(unraisable.exc_value, KeyboardInterrupt):
        sys.__unraisablehook__(unraisable)


def _emit(record: logging.LogRecord) -> None:
    """Write a worker's log record through this process's handlers."""
    for handler in logging.getLogger().handlers:
        if record.levelno >= handler.level:
            handler.handle(record)


def startMethod() -> str:
    """``fork`` where available (workers start in milliseconds and share imports made so
    far), else ``spawn``; ``PIPETASK_START_METHOD`` overrides."""
    method = os.environ.get("PIPETASK_START_METHOD")
    if method:
        return method
    return "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"


class _Slot:
    """One worker process and the data ID it holds."""

    def __init__(self, ctx: Any, job: Job, levels: dict[str, int]) -> None:
        self.conn, child = ctx.Pipe()
        lifeline.closeInChild(self.conn.fileno())  # later workers must not hold this end
        self.process = ctx.Process(
            target=_workerMain, args=(child, job, levels, os.getpid()), daemon=True
        )
        self.process.start()
        child.close()
        self.held: tuple[int, dict[str, Any], float] | None = None

    def give(self, index: int, dataId: dict[str, Any]) -> None:
        log.debug("data ID %s to worker process %s", dataId, self.process.pid)
        self.conn.send((index, dataId))
        self.held = (index, dataId, time.monotonic())

    def stop(self, kill: bool = False) -> None:
        """End the worker: after its current data ID, or (``kill``) at once, giving it a
        moment to unwind cleanly before it is killed."""
        if kill:
            self.process.terminate()
            self.process.join(timeout=KILL_GRACE_SECONDS)
        else:
            with contextlib.suppress(OSError):
                self.conn.send(None)
            self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.close()

    def drain(self) -> Outcome | None:
        """The outcome the (ended) worker sent before it ended, if any; log records are
        written on the way."""
        try:
            while self.conn.poll():
                kind, payload = self.conn.recv()
                if kind == LOG:
                    _emit(payload)
                else:
                    return payload[1]
        except (EOFError, OSError):
            pass
        return None

    def close(self) -> None:
        if not self.conn.closed:
            lifeline.keepInChild(self.conn.fileno())
            self.conn.close()


def _deathMessage(process: Any) -> str:
    code = process.exitcode
    if code is not None and code < 0:
        try:
            return f"WorkerDied: the worker process was killed by {signal.Signals(-code).name}"
        except ValueError:
            pass
    return f"WorkerDied: the worker process exited with status {code}"


class ProcessExecutor(Executor):
    """Run data IDs in ``processes`` local worker processes.

    Options: ``timeout`` (seconds per data ID; a worker past it is killed and its data ID
    fails).
    """

    name = "process"

    def run(self, job: Job, dataIds: Sequence[dict[str, Any]]) -> Iterator[Outcome]:
        if not dataIds:
            return
        ctx = multiprocessing.get_context(startMethod())
        levels = currentLevels()
        timeout = self.options.get("timeout")
        todo = workSource(dataIds)  # a list, or a pipeline's queue that grows as we go
        slots = [_Slot(ctx, job, levels) for _ in range(min(self.processes, len(dataIds)))]
        try:
            while todo.more or any(slot.held for slot in slots):
                if self.stop.requested:
                    yield from self._stopAll(slots)
                    return
                for slot in slots:
                    if slot.held is None and (work := todo.take()) is not None:
                        slot.give(*work)
                busy = [slot for slot in slots if slot.held]
                if not busy:
                    break
                waitFor = [s.conn for s in busy] + [s.process.sentinel for s in busy]
                ready = set(wait(waitFor, timeout=self._waitTime(busy, timeout)))
                for i, slot in enumerate(slots):
                    if slot.held is None:
                        continue
                    outcome = self._collect(slot, ready, timeout)
                    if outcome is None:
                        continue
                    if outcome.extra.get("replace"):
                        log.debug("replacing worker process %s", slot.process.pid)
                        slot.stop(kill=True)
                        slots[i] = _Slot(ctx, job, levels)
                    yield outcome
        finally:
            for slot in slots:
                slot.stop(kill=slot.held is not None)

    @staticmethod
    def _stopAll(slots: list[_Slot]) -> Iterator[Outcome]:
        """Stop every worker at once (each unwinds cleanly); the outcomes of the data IDs
        that finished all the same."""
        busy = [slot for slot in slots if slot.held]
        for slot in busy:
            slot.process.terminate()
        for slot in busy:
            slot.process.join(timeout=KILL_GRACE_SECONDS)
            if slot.process.is_alive():
                slot.process.kill()
                slot.process.join()
            outcome = slot.drain()
            slot.held = None
            if outcome is not None:
                yield outcome

    @staticmethod
    def _waitTime(busy: list[_Slot], timeout: float | None) -> float:
        if not timeout:
            return POLL_SECONDS
        now = time.monotonic()
        first = min(s.held[2] + timeout - now for s in busy if s.held)
        return min(POLL_SECONDS, max(0.0, first))

    @staticmethod
    def _collect(slot: _Slot, ready: set, timeout: float | None) -> Outcome | None:
        """The outcome of ``slot``'s data ID if it is over (done, dead or timed out)."""
        index, dataId, started = slot.held  # type: ignore[misc]
        if slot.conn in ready or slot.process.sentinel in ready:
            try:
                while slot.conn.poll():
                    kind, payload = slot.conn.recv()
                    if kind == LOG:
                        _emit(payload)
                        continue
                    slot.held = None
                    return payload[1]
            except (EOFError, OSError):
                pass
            if not slot.process.is_alive():
                slot.held = None
                error = _deathMessage(slot.process)
                log.error("Failed on dataId=%s: %s", dataId, error)
                return Outcome(dataId, FAILED, error=error, extra={"replace": True})
        if timeout and time.monotonic() - started > timeout:
            slot.held = None
            error = f"TimeoutError: no result after {timeout:g} s (--timeout); worker stopped"
            log.error("Failed on dataId=%s: %s", dataId, error)
            return Outcome(
                dataId,
                FAILED,
                error=error,
                duration=time.monotonic() - started,
                extra={"replace": True},
            )
        return None
