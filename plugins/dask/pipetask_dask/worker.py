"""What runs inside a Dask worker: a batch of data IDs per call, logs returned with outcomes.

:func:`runBatch` is the function the executor submits, once per batch of data IDs (or
quanta). Each worker thread builds the job's task and Butler once (a
:class:`pipetask.execution.job.Worker`, or the pipeline job's own worker) and reuses them
for every later item of the same job, as the process pool does. The log records of each
item are collected while it runs and returned with its outcome, so an item costs the
scheduler no event of its own: one task and one start notice per batch.
"""

from __future__ import annotations

import logging
import os
import pickle
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


class CollectingHandler(logging.Handler):
    """Keep the log records of the item this thread runs, as plain fields.

    A record becomes msgpack-able fields: its message formatted here, the exception text
    folded into it, and the current data ID attached as ``dataId``. The client hands them
    to its own handlers just before the item's outcome.
    """

    def emit(self, record: logging.LogRecord) -> None:
        records = getattr(_local, "records", None)
        if records is None or record.name.partition(".")[0] in QUIET_LOGGERS:
            return
        try:
            message = record.getMessage()
            if record.exc_info:
                message = f"{message}\n{logging.Formatter().formatException(record.exc_info)}"
            if record.stack_info:
                message = f"{message}\n{record.stack_info}"
            records.append(
                {
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
            )
        except Exception:
            self.handleError(record)


def _collectLogs(topic: str, levels: dict[str, int]) -> None:
    """Install the collecting handler and the client's log levels, once per run.

    A long-lived worker serves run after run: the previous run's levels are replaced, not
    stacked.
    """
    if _installed["topic"] == topic:
        return
    with _lock:
        if _installed["topic"] == topic:
            return
        root = logging.getLogger()
        if _installed["handler"] is None:
            _installed["handler"] = CollectingHandler()
            root.addHandler(_installed["handler"])
        for name, level in _installed["levels"].items():
            logging.getLogger(name or None).setLevel(level)
        previous = {}
        for name, level in levels.items():
            logger = logging.getLogger(name or None)
            previous[name] = logger.level
            logger.setLevel(level)
        _installed.update(topic=topic, levels=previous)


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


def runBatch(
    job: Job,
    number: int,
    batch: bytes,
    attempt: int,
    topic: str,
    levels: dict[str, int],
) -> bytes:
    """Run a batch of items (data IDs or quanta) of ``job`` in this Dask worker, in turn.

    Parameters
    ----------
    job : `pipetask.execution.Job`
        The run's job (task, config text, repositories; or a pipeline's).
    number : `int`
        Which batch of the run this is.
    batch : `bytes`
        ``(number, item)`` of each item (which of the run's items it is), pickled: Dask
        then sends it as it is instead of looking through every item for futures.
    attempt : `int`
        Which submission of this batch this is; reported to the client with the batch's
        start notice, so it knows what each worker holds.
    topic : `str`
        The Dask event topic of this run (start notices).
    levels : `dict` [`str`, `int`]
        Log levels of the client, by logger name (``""`` for the root).

    Returns
    -------
    results : `bytes`
        A pickled list of ``(number, outcome, log records)``, one per item: Dask then
        sends it as it is, instead of looking through every outcome and log record.
        Never raises for a failure of the task or of building it; the outcome is `None`
        for an item that did not start because the run stopped (see :func:`stopJob`).
    """
    from distributed import get_worker

    daskWorker = get_worker()
    _collectLogs(topic, levels)
    daskWorker.log_event(
        topic, {"op": "start", "batch": number, "attempt": attempt, "worker": daskWorker.address}
    )
    results: list[tuple[int, Outcome | None, list[dict[str, Any]]]] = []
    for index, item in pickle.loads(batch):
        if job.key in _stoppedJobs:
            results.append((index, None, []))
            continue
        records: list[dict[str, Any]] = []
        _local.records = records
        start = time.perf_counter()
        try:
            outcome = _workerFor(job).process(item)
        except Exception as exc:  # building the task or the Butler failed
            outcome = setupFailure(item, exc)
            outcome.duration = time.perf_counter() - start
        finally:
            _local.records = None
        outcome.extra["worker"] = daskWorker.address
        results.append((index, outcome, records))
    return pickle.dumps(results, protocol=pickle.HIGHEST_PROTOCOL)


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
