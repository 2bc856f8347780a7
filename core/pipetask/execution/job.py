"""A job (what every worker needs, picklable) and the worker that runs it per data ID.

A worker builds the task and the Butler once, from the job, and then processes any number
of data IDs; executors keep one worker per process.
"""

from __future__ import annotations

import logging
import time
import traceback
import uuid
from dataclasses import dataclass, field
from typing import Any

from ..errors import storageError
from ..gather import DataIdGroup, groupRef
from ..logs import dataIdContext
from .base import FAILED, OK, Outcome
from .failure import failureOutcome

log = logging.getLogger("pipetask")


@dataclass(frozen=True)
class Job:
    """Everything needed to run one task over data IDs, in any process.

    The config travels as TOML text and the task as an import path, so a job pickles
    cheaply and each worker rebuilds exactly the parent's task.
    """

    taskName: str
    taskTarget: str
    configText: str
    repo: str
    output: str | None = None
    calib: str | None = None
    datasetType: str = "raw"
    storeMetadata: bool = True
    doraise: bool = False
    debugFile: str | None = None
    logLevels: tuple[str, ...] = ()
    key: str = field(default_factory=lambda: uuid.uuid4().hex)


class Worker:
    """Builds the task and Butler of a job once; :meth:`process` runs one data ID."""

    def __init__(self, job: Job) -> None:
        from ..butler import Butler
        from ..debug import loadDebugFile
        from ..plugins import load

        self.job = job
        if job.debugFile:
            loadDebugFile(job.debugFile)
        taskClass = load(job.taskTarget)
        config = taskClass.ConfigClass.fromToml(job.configText, source="<job>")
        self.task = taskClass(config=config)
        self.butler = Butler(job.repo, output=job.output, calib=job.calib)

    def process(self, dataId: dict[str, Any]) -> Outcome:
        """Run the task on one data ID; never raises for a failure of the task."""
        start = time.perf_counter()
        job, task = self.job, self.task
        with dataIdContext(dataId):
            taskTime = 0.0
            try:
                if isinstance(dataId, DataIdGroup):  # a gathering task (see pipetask.gather)
                    ref = groupRef(self.butler, job.datasetType, dataId)
                else:
                    ref = self.butler.dataRef(job.datasetType, dataId)
                task.emptyMetadata()
                t0 = time.perf_counter()
                try:
                    task.runDataRef(ref)
                finally:
                    taskTime = time.perf_counter() - t0
                outcome = Outcome(dataId, OK)
            except Exception as exc:  # a failing data ID must not stop the run
                outcome = self._failure(dataId, exc)
            if job.storeMetadata and outcome.ok:
                outcome = self._storeMetadata(dataId) or outcome
        outcome.taskTime = taskTime
        outcome.duration = time.perf_counter() - start
        return outcome

    def _failure(self, dataId: dict[str, Any], exc: Exception) -> Outcome:
        return failureOutcome(
            dataId, exc, f"dataId={dataId}", self.butler.outputRoot, self.job.doraise
        )

    def _storeMetadata(self, dataId: dict[str, Any]) -> Outcome | None:
        """Store the task's metadata; a failed outcome when the storage itself failed."""
        try:
            self.butler.put(self.task.getFullMetadata(), f"{self.job.taskName}_metadata", dataId)
        except Exception as exc:
            if storageError(exc) is not None:
                return self._failure(dataId, exc)
            log.warning("Could not persist metadata for dataId=%s: %s", dataId, exc)
        return None


_workers: dict[str, Worker] = {}


def workerFor(job: Job) -> Worker:
    """The worker of ``job`` in this process, built on first use."""
    worker = _workers.get(job.key)
    if worker is None:
        _workers.clear()
        make = getattr(job, "makeWorker", None)  # a pipeline job brings its own worker
        worker = _workers[job.key] = make() if make else Worker(job)
    return worker


def setupFailure(dataId: dict[str, Any], exc: Exception) -> Outcome:
    """The outcome of a data ID whose worker could not be built (task, config or Butler)."""
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
    """Run one data ID of ``job`` in this process (the unit executors ship to workers);
    never raises for a failure of the task or of building it."""
    try:
        worker = workerFor(job)
    except Exception as exc:
        return setupFailure(dataId, exc)
    return worker.process(dataId)
