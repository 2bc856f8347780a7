"""The serial executor: every data ID in this process, one after another."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from .base import Executor, Outcome
from .job import Job, workerFor


class SerialExecutor(Executor):
    """Run data IDs one at a time in the calling process."""

    name = "serial"

    def run(self, job: Job, dataIds: Sequence[dict[str, Any]]) -> Iterator[Outcome]:
        worker = workerFor(job)
        for dataId in dataIds:
            yield worker.process(dataId)
