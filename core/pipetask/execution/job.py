"""A job (what every worker needs, picklable) and the one worker per process that runs it.

A job builds its worker once per process (:meth:`Job.makeWorker`: for a pipeline run,
the stored graph, the Butler, each task on first use); the worker then processes any
number of items. Executors keep one worker per process.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any, Protocol

from ..logs import dataIdContext
from .base import FAILED, Outcome

log = logging.getLogger("pipetask")


class Worker(Protocol):
    """What a job's worker offers: :meth:`process` runs one item, never raising for a
    failure of the task."""

    job: Any

    def process(self, item: dict[str, Any]) -> Outcome: ...


class Job(Protocol):
    """What an executor ships to its workers (see
    :class:`~pipetask.pipeline.quantum.PipelineJob`): picklable, with a ``key`` unique to
    the run and :meth:`makeWorker`."""

    key: str

    def makeWorker(self) -> Worker: ...


_workers: dict[str, Worker] = {}


def workerFor(job: Job) -> Worker:
    """The worker of ``job`` in this process, built on first use."""
    worker = _workers.get(job.key)
    if worker is None:
        _workers.clear()
        worker = _workers[job.key] = job.makeWorker()
    return worker


def setupFailure(dataId: dict[str, Any], exc: Exception) -> Outcome:
    """The outcome of an item whose worker could not be built (task, config or Butler)."""
    outcome = Outcome(
        dataId,
        FAILED,
        error=f"{type(exc).__name__}: {exc}",
        traceback="".join(traceback.format_exception(exc)),
    )
    with dataIdContext(dataId):
        log.error("Failed on dataId=%s: %s", dataId, outcome.error)
    return outcome


def processOne(job: Job, dataId: dict[str, Any]) -> Outcome:
    """Run one item of ``job`` in this process (the unit executors ship to workers);
    never raises for a failure of the task or of building it."""
    try:
        worker = workerFor(job)
    except Exception as exc:
        return setupFailure(dataId, exc)
    return worker.process(dataId)
