"""Executing a selected run: stored-config checks, the executor loop, summary, exit status."""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from typing import TYPE_CHECKING, Any

from . import progress
from .config.nested import targetPath
from .errors import osErrorLine
from .execution.base import FAILED, SKIPPED, Outcome
from .execution.job import Job
from .execution.stop import StopRequest
from .outcomes import OutcomeLog
from .profiling import profiling
from .progress import Progress
from .runner import EXIT_USAGE, exitStatus, summarize
from .setup import taskWrites

if TYPE_CHECKING:
    from .butler import Butler
    from .config import Config
    from .execution.base import Executor
    from .runner import RunOptions

log = logging.getLogger("pipetask")


def execute(
    taskClass: type,
    config: Config,
    butler: Butler,
    dataIds: list[dict[str, Any]],
    datasetType: str,
    options: RunOptions,
    executor: Executor,
) -> int:
    """Store or check config and versions, run every data ID, summarize; the exit status.

    The caller holds the output lock when the task writes. From here on SIGINT and
    SIGTERM stop the run cleanly (see :mod:`pipetask.execution.stop`): the summary is
    printed, the run record gets every outcome and its end, the exit status is 128 plus
    the signal number.
    """
    stop = executor.stop
    with stop.handleSignals():
        try:
            return _execute(taskClass, config, butler, dataIds, datasetType, options, executor)
        finally:
            executor.close()


def _execute(taskClass, config, butler, dataIds, datasetType, options, executor) -> int:
    taskName = options.task
    debugFile = _debugFile(options, taskClass, config)
    todo, skipped = dataIds, []
    if options.skipExisting:
        todo, skipped = splitExisting(butler, taskClass, taskName, dataIds)
    if todo:
        executor.start()  # a cluster that cannot start is a set-up error: nothing written yet
    writes = taskWrites(taskClass)
    if writes:
        butler.output  # noqa: B018 - create the output repository here, not in N workers
    if getattr(taskClass, "storeConfig", True):
        from .butler.provenance import checkConfig, checkPackages

        backup = not options.noBackupConfig
        checkConfig(butler, taskName, config, options.clobberConfig, backup)
        if not options.noVersions:
            checkPackages(
                butler,
                None,
                options.clobberConfig or options.clobberVersions,
                backup,
                hint="--clobber-versions (or --no-versions)",
            )
    job = Job(
        taskName=taskName,
        taskTarget=targetPath(taskClass),
        configText=config.toToml(),
        repo=str(butler.root),
        output=None if options.output is None else str(butler.outputRoot),
        calib=options.calib and str(butler._args[2]),
        datasetType=datasetType,
        storeMetadata=getattr(taskClass, "storeMetadata", True),
        doraise=options.doraise,
        debugFile=debugFile,
    )
    record = _openRecord(str(butler.outputRoot), taskName, writes)
    stop = executor.stop
    run = _Run(record, stop)
    run.begin(dataIds)
    outcomes = run.outcomes
    for dataId in skipped:
        run.add(Outcome(dataId, SKIPPED))
    if skipped:
        log.info("skipping %d data IDs whose outputs exist (--skip-existing)", len(skipped))
    for dataId in skipped if log.isEnabledFor(logging.DEBUG) else ():
        log.debug("skip %s: its outputs exist (--skip-existing)", dataId)
    start = time.perf_counter()
    bar = Progress(len(todo)) if progress.wanted(len(todo)) else contextlib.nullcontext()
    with bar, profiling(options.profile):
        run.collect(executor, job, todo, bar, options)
    elapsed = time.perf_counter() - start
    if writes:
        recoverWorkerWrites(butler)
    why = stop.describe()
    failures = summarize(taskName, outcomes, len(dataIds), elapsed, why)
    notRun = _listNotRun(dataIds, outcomes, str(butler.outputRoot))
    if stop.exitStatus is not None:
        status = stop.exitStatus
    elif stop.requested:
        print(
            f"pipetask: error: the run stopped: {stop.reason}; {notRun} data IDs not run "
            f"(--skip-existing runs them once the cause is fixed)",
            file=sys.stderr,
        )
        status = EXIT_USAGE
    else:
        status = exitStatus(failures)
    run.finish(status, why)
    return status


class _Run:
    """The outcomes of a run as they arrive, written to its record as they arrive.

    A record that can no longer be written (a full disk) stops the run: the outcomes
    that follow could not be accounted for.
    """

    def __init__(self, record: OutcomeLog | None, stop: StopRequest) -> None:
        self.record = record
        self.stop = stop
        self.outcomes: list[Outcome] = []

    def _write(self, method: str, *args: Any) -> None:
        if self.record is None:
            return
        try:
            getattr(self.record, method)(*args)
        except OSError as exc:
            log.error("cannot write the run record %s: %s", self.record.path, osErrorLine(exc))
            self.stop.request(f"the run record could not be written: {osErrorLine(exc)}")
            self.record.close()
            self.record = None

    def begin(self, dataIds: list[dict[str, Any]]) -> None:
        self._write("start", dataIds)

    def add(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)
        self._write("record", outcome)
        problem = outcome.extra.get("stopRun")
        if problem and not self.stop.requested:
            log.error("stopping the run: %s", problem)
            self.stop.request(problem)

    def collect(self, executor, job, todo, bar, options) -> None:
        """Gather outcomes as they arrive, until all are in or the run stops; the
        executor's workers have ended when this returns."""
        outcomes = executor.run(job, todo) if todo else iter(())
        try:
            for outcome in outcomes:
                self.add(outcome)
                if isinstance(bar, Progress):
                    bar.update(outcome.ok)
                if outcome.status == FAILED and options.doraise:
                    if outcome.traceback:
                        print(outcome.traceback.rstrip(), file=sys.stderr)
                    log.error("stopping at the first failure (--doraise)")
                    break
        except KeyboardInterrupt:  # a stop interrupted a task running in this process
            if not self.stop.requested:
                raise
        finally:
            close = getattr(outcomes, "close", None)
            if close is not None:
                close()  # ends the workers now, not when the generator is collected

    def finish(self, status: int, stopped: str) -> None:
        self._write("end", status, stopped)
        if self.record is not None:
            self.record.close()


def recoverWorkerWrites(butler: Butler) -> None:
    """Under the run's lock, once its workers have ended: resolve the pending registry rows
    they left (a worker that hit a full disk cannot drop its own row)."""
    left = butler.output.recoverAtShutdown()
    if left:
        log.warning(
            "%d interrupted writes could not be resolved (the disk is full); the next "
            "command that opens %s resolves them",
            left,
            butler.outputRoot,
        )


def _openRecord(outputRoot: str, taskName: str, writes: bool) -> OutcomeLog | None:
    """The run record; a run that writes nothing may go without one (read-only input)."""
    try:
        return OutcomeLog(outputRoot, taskName)
    except OSError as exc:
        if writes:
            raise
        log.warning("keeping no run record: %s (this task writes nothing else)", osErrorLine(exc))
        return None


#: Data IDs listed by name when a run stops before them (the rest are counted).
MAX_LISTED = 10


def _listNotRun(dataIds: list, outcomes: list[Outcome], outputRoot: str) -> int:
    """Log the data IDs without an outcome (the first few by name); how many."""
    from .dataid import formatDataId

    seen = {tuple(sorted(o.dataId.items())) for o in outcomes}
    notRun = [d for d in dataIds if tuple(sorted(d.items())) not in seen]
    for dataId in notRun[:MAX_LISTED]:
        log.info("  not run %s", formatDataId(dataId))
    if len(notRun) > MAX_LISTED:
        log.info(
            "  ... and %d more not run (pipetask report %s lists them all)",
            len(notRun) - MAX_LISTED,
            outputRoot,
        )
    return len(notRun)


def splitExisting(
    butler: Butler, taskClass: type, taskName: str, dataIds: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``(to run, to skip)``: skip data IDs whose outputs (and metadata) all exist."""
    needed = list(getattr(taskClass, "outputDatasetTypes", ()))
    if getattr(taskClass, "storeMetadata", True):
        needed.append(f"{taskName}_metadata")
    if not needed:
        return dataIds, []
    todo, skipped = [], []
    for dataId in dataIds:
        done = all(_exists(butler, name, dataId) for name in needed)
        (skipped if done else todo).append(dataId)
    return todo, skipped


def _exists(butler, datasetType: str, dataId: dict[str, Any]) -> bool:
    """Whether the output exists; one the registry lists but whose file was removed does
    not (it is run again, and its put replaces the stale entry)."""
    from .errors import ButlerError

    try:
        return butler.datasetExists(datasetType, dataId, write=True)
    except ButlerError:
        return False


def _debugFile(options: RunOptions, taskClass: type, config: Config) -> str | None:
    from .debug import checkTables, findDefaultFile, loadDebugFile, runNames

    if not options.debug:
        return None
    path = options.debugFile or findDefaultFile()
    if path is None:
        log.warning(
            "--debug: no debug.toml or debug.py in the working directory "
            "(nor a debug.py on $PYTHONPATH)"
        )
        return None
    loadDebugFile(path)  # fail early, in the parent, on a bad file
    checkTables(path, runNames(options.task, taskClass, config))
    log.info("debug variables from %s", path)
    return path
