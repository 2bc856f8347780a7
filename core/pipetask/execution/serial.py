"""The serial executor: every data ID in this process, one after another."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from .base import Executor, Outcome
from .job import Job, workerFor


class SerialExecutor(Executor):
    """Run data IDs one at a time in the calling process (no ``-j``, no ``--timeout``:
    a task in this process cannot be stopped from outside)."""

    name = "serial"
    supports = frozenset()
    inProcess = True

    def run(self, job: Job, dataIds: Sequence[dict[str, Any]]) -> Iterator[Outcome]:
        worker = workerFor(job)
        for dataId in dataIds:
            if self.stop.requested:
                return
            with self.stop.interruptible():
                outcome = worker.process(dataId)
            yield outcome
