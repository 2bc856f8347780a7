"""Running a ``--file`` plan: the runner's loop (:func:`~pipetask.pipeline.run.feed`) over
one work item per file, on any executor, without a repository: no lock, no registry, no
run record. Each file's outcome is logged as it arrives; a run of several files ends with
how many succeeded.
"""

from __future__ import annotations

import logging
from typing import Any

from ..execution.base import Outcome
from ..single_file import FileJob, fileItems
from .plan import FilePlan
from .run import executePlan, feed, runStatus

log = logging.getLogger("pipetask")


class FileState:
    """The outcomes of a ``--file`` run as they arrive."""

    def __init__(self, plan: FilePlan) -> None:
        self.plan = plan
        self.consumers: list = []
        self.failures: list[Outcome] = []
        self.seen: set[int] = set()

    def add(self, outcome: Outcome) -> None:
        """Log one file's outcome (its failure was logged where it ran)."""
        index = outcome.dataId.index  # the FileItem handed out
        self.seen.add(index)
        if outcome.ok:
            given = self.plan.files[index].given
            log.info("%s: processed %s in %.2f s", self.plan.taskName, given, outcome.duration)
        else:
            self.failures.append(outcome)
        for consumer in self.consumers:
            consumer(outcome)

    def dropPending(self) -> None:
        """Nothing to drop: a file run registers nothing."""


def executeFiles(plan: FilePlan, executor: Any) -> int:
    """Run a ``--file`` plan with an executor (which it closes); the exit status. Signals
    stop it as they stop any run."""
    return executePlan(plan, executor, _executeFiles)


def _executeFiles(plan: FilePlan, executor: Any) -> int:
    executor.start()
    state = FileState(plan)
    feed(state, FileJob(plan), fileItems(plan), executor, plan.settings)
    total = len(plan.files)
    notRun = total - len(state.seen)
    if total > 1:
        succeeded = len(state.seen) - len(state.failures)
        why = executor.stop.describe() or ("--doraise" if plan.settings.doraise else "")
        tail = f"; {notRun} not run ({why})" if notRun else ""
        log.info("%s: %d of %d files succeeded%s", plan.taskName, succeeded, total, tail)
    return runStatus(executor.stop, len(state.failures), notRun, "files", resumable=False)
