"""What runs inside a Dask worker: one data ID per call, logs shipped back to the client.

:func:`runOne` is the function the executor submits, once per data ID. Each worker
thread builds the job's task and Butler once (a :class:`pipetask.execution.job.Worker`)
and reuses them for every later data ID of the same job, as the process pool does. Log
records of the task are sent to the client as Dask events on the run's topic, with the
data ID they belong to, and the client hands them to its own handlers.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from typing import Any

from pipetask.execution.base import Outcome
from pipetask.execution.job import Job, Worker, setupFailure
from pipetask.logs import currentDataId

#: Loggers of the machinery itself, never forwarded (the worker's own log has them).
QUIET_LOGGERS = ("distributed", "tornado", "asyncio", "bokeh")

_local = threading.local()
_lock = threading.Lock()
_installed: dict[str, Any] = {"topic": None, "handler": None, "levels": {}}


#: Seconds a log record waits in the worker for others to travel with it.
FLUSH_SECONDS = 0.05


class ForwardingHandler(logging.Handler):
    """Send log records to the client as events on ``topic``, a batch at a time.

    A record travels as plain fields (msgpack-able); its message is formatted here, the
    exception text folded into it, and the current data ID attached as ``dataId``.
    Records go out at most :data:`FLUSH_SECONDS` after they are logged, and all of a data
    ID's records before its outcome (:func:`runOne` flushes): one event per batch instead
    of one per line keeps the scheduler and the client light.
    """

    def __init__(self, worker: Any, topic: str) -> None:
        super().__init__()
        self.worker = worker
        self.topic = topic
        self._pending: list[dict[str, Any]] = []
        self._pendingLock = threading.Lock()
        self._scheduled = False

    def flush(self) -> None:
        """Send the records logged so far (from any thread)."""
        with self._pendingLock:
            records, self._pending = self._pending, []
            self._scheduled = False
        if records:
            self.worker.log_event(self.topic, {"op": "logs", "records": records})

    def _flushLater(self) -> None:
        self.worker.loop.call_later(FLUSH_SECONDS, self.flush)

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.partition(".")[0] in QUIET_LOGGERS:
            return
        try:
            message = record.getMessage()
            if record.exc_info:
                message = f"{message}\n{logging.Formatter().formatException(record.exc_info)}"
            if record.stack_info:
                message = f"{message}\n{record.stack_info}"
            fields = {
                "name": record.name,
                "msg": message,
                "levelno": record.levelno,
                "levelname": record.levelname,
                "pathname": record.pathname,
                "filename": record.filename,
                "module": record.module,
                "lineno": record.lineno,
                "funcName": record.funcName,
                "created": record.created,
                "msecs": record.msecs,
                "process": record.process,
                "processName": record.processName,
                "threadName": record.threadName,
                "dataId": getattr(record, "dataId", None) or currentDataId.get(),
            }
        except Exception:
            self.handleError(record)
            return
        with self._pendingLock:
            self._pending.append(fields)
            if self._scheduled:
                return
            self._scheduled = True
        self.worker.loop.add_callback(self._flushLater)


def _forwardLogs(worker: Any, topic: str, levels: dict[str, int]) -> None:
    """Install the forwarding handler for ``topic`` and the client's log levels, once.

    A long-lived worker serves run after run: the previous run's handler and levels are
    replaced, not stacked.
    """
    if _installed["topic"] == topic:
        return
    with _lock:
        if _installed["topic"] == topic:
            return
        root = logging.getLogger()
        if _installed["handler"] is not None:
            root.removeHandler(_installed["handler"])
        for name, level in _installed["levels"].items():
            logging.getLogger(name or None).setLevel(level)
        previous = {}
        for name, level in levels.items():
            logger = logging.getLogger(name or None)
            previous[name] = logger.level
            logger.setLevel(level)
        handler = ForwardingHandler(worker, topic)
        root.addHandler(handler)
        _installed.update(topic=topic, handler=handler, levels=previous)


def _workerFor(job: Job) -> Worker:
    """This thread's worker for ``job``: the task and Butler, built on first use."""
    worker = getattr(_local, "worker", None)
    if worker is None or worker.job.key != job.key:
        _local.worker = None
        worker = _local.worker = job.makeWorker()
    return worker


#: Keys of the jobs whose run stopped: their data IDs no longer start in this worker.
_stoppedJobs: set[str] = set()


def stopJob(key: str) -> None:
    """Start no more data IDs of job ``key`` here (run on every worker by ``Client.run``
    when the run stops, so that every data ID that does run is waited for and recorded)."""
    _stoppedJobs.add(key)


def runOne(
    job: Job, index: int, attempt: int, dataId: dict[str, Any], topic: str, levels: dict[str, int]
) -> Outcome | None:
    """Run data ID number ``index`` of ``job`` in this Dask worker.

    Parameters
    ----------
    job : `pipetask.execution.Job`
        The run's job (task, config text, repositories).
    index, attempt : `int`
        Which data ID of the run this is, and which submission of it; reported to the
        client when the task starts, so it knows what each worker holds.
    dataId : `dict`
        The data ID.
    topic : `str`
        The Dask event topic of this run (start notices and log records).
    levels : `dict` [`str`, `int`]
        Log levels of the client, by logger name (``""`` for the root).

    Returns
    -------
    outcome : `pipetask.execution.Outcome` or `None`
        Never raises for a failure of the task or of building it; `None` when the run
        stopped before this data ID started (see :func:`stopJob`).
    """
    from distributed import get_worker

    if job.key in _stoppedJobs:
        return None

    daskWorker = get_worker()
    _forwardLogs(daskWorker, topic, levels)
    daskWorker.log_event(
        topic, {"op": "start", "index": index, "attempt": attempt, "worker": daskWorker.address}
    )
    start = time.perf_counter()
    try:
        outcome = _workerFor(job).process(dataId)
    except Exception as exc:  # building the task or the Butler failed
        outcome = setupFailure(dataId, exc)
        outcome.duration = time.perf_counter() - start
    outcome.extra["worker"] = daskWorker.address
    handler = _installed["handler"]
    if handler is not None:
        handler.flush()  # this data ID's log lines reach the client before its outcome
    return outcome


def exitWorker() -> None:
    """End this worker process at once (run from its event loop by ``Client.run``)."""
    logging.getLogger("pipetask.run").debug("stopping worker process %d", os.getpid())
    os._exit(1)


async def killFromNanny(dask_worker: Any) -> None:
    """Kill the worker process of this nanny (run on the nanny by ``Client.run``)."""
    await dask_worker.kill(timeout=1, reason="pipetask-timeout")


def dask_setup(worker: Any) -> None:  # noqa: N802 - the name Dask's preload calls
    """Preload of the local cluster's workers: end with the pipetask process.

    Each worker process of a local cluster is a child of the pipetask process; if that
    process dies (even by ``kill -9``), the worker ends too instead of waiting for a
    scheduler that is gone.
    """
    from pipetask.execution.lifeline import dieWithParent

    dieWithParent(os.getppid())


class IgnoreInterrupts:
    """Worker plugin of the local cluster: Ctrl-C is the parent's to handle.

    The worker processes of a local cluster share the terminal's process group, so
    Ctrl-C reaches them too; they ignore it, and the parent shuts them down in order.
    ``setup`` runs in the worker's event loop, in its main thread, where a signal
    handler can be set; the plugin also reaches workers that start later.
    """

    name = "pipetask-ignore-interrupts"

    def setup(self, worker: Any) -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    def teardown(self, worker: Any) -> None:
        pass
