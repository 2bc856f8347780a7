"""Executing a selected run: stored-config checks, the executor loop, summary, exit status."""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from typing import TYPE_CHECKING, Any

from . import progress
from .config.nested import targetPath
from .execution.base import FAILED, SKIPPED, Outcome
from .execution.job import Job
from .outcomes import OutcomeLog
from .profiling import profiling
from .progress import Progress
from .runlock import outputLock
from .runner import EXIT_INTERRUPTED, exitStatus, summarize

if TYPE_CHECKING:
    from .butler import Butler
    from .config import Config
    from .execution.base import Executor
    from .runner import RunOptions

log = logging.getLogger("pipetask")


def chooseExecutor(taskClass: type, options: RunOptions) -> Executor:
    """The executor the options ask for: ``--executor``, else ``process`` for ``-j N > 1``."""
    from .plugins import load_item

    name = options.executor or ("process" if options.processes > 1 else "serial")
    why = "--executor" if options.executor else f"-j {options.processes}"
    if name == "process" and options.timeout is None and options.processes == 1:
        name, why = "serial", "one process and no --timeout"
    if name != "serial" and not getattr(taskClass, "canMultiprocess", True):
        log.warning("This task does not support multiprocessing; using one process")
        name, why = "serial", "the task cannot run in parallel"
    if name == "serial" and options.timeout:
        # A timeout needs a process that can be stopped: one worker process.
        name, why = "process", "--timeout needs a worker process that can be stopped"
    executorClass = load_item("executor", name)
    settings: dict[str, Any] = {"timeout": options.timeout}
    if options.scheduler:
        settings["scheduler"] = options.scheduler
    log.debug(
        "executor %s (%s): %d process(es), settings %s", name, why, options.processes, settings
    )
    return executorClass(processes=options.processes, **settings)


def execute(
    taskClass: type,
    config: Config,
    butler: Butler,
    dataIds: list[dict[str, Any]],
    datasetType: str,
    options: RunOptions,
) -> int:
    """Check stored config and versions, run every data ID, summarize; the exit status."""
    writes = any(
        getattr(taskClass, attr, default)
        for attr, default in (("storeConfig", True), ("storeMetadata", True))
    ) or bool(getattr(taskClass, "outputDatasetTypes", ()))
    outputRoot = str(butler.outputRoot)
    lock = outputLock(outputRoot) if writes else contextlib.nullcontext()
    with lock:
        if writes:
            butler.output  # noqa: B018 - create the output repository here, not in N workers
        return _execute(taskClass, config, butler, dataIds, datasetType, options)


def _execute(taskClass, config, butler, dataIds, datasetType, options) -> int:
    taskName = options.task
    debugFile = _debugFile(options, taskClass, config)
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
    outcomes: list[Outcome] = []
    record = OutcomeLog(str(butler.outputRoot), taskName)
    todo = dataIds
    if options.skipExisting:
        todo, skipped = splitExisting(butler, taskClass, taskName, dataIds)
        for dataId in skipped:
            outcome = Outcome(dataId, SKIPPED)
            outcomes.append(outcome)
            record.record(outcome)
        if skipped:
            log.info("skipping %d data IDs whose outputs exist (--skip-existing)", len(skipped))
        for dataId in skipped if log.isEnabledFor(logging.DEBUG) else ():
            log.debug("skip %s: its outputs exist (--skip-existing)", dataId)
    executor = chooseExecutor(taskClass, options) if todo else None
    start = time.perf_counter()
    interrupted = False
    bar = Progress(len(todo)) if progress.wanted(len(todo)) else contextlib.nullcontext()
    try:
        with bar, profiling(options.profile):
            interrupted = _collect(executor, job, todo, outcomes, record, bar, options)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        if executor is not None:
            executor.close()
        record.close()
    elapsed = time.perf_counter() - start
    failures = summarize(taskName, outcomes, len(dataIds), elapsed, interrupted)
    if interrupted:
        return EXIT_INTERRUPTED
    return exitStatus(failures)


def _collect(executor, job, todo, outcomes, record, bar, options) -> bool:
    """Gather outcomes as they arrive; whether the run was interrupted."""
    try:
        for outcome in executor.run(job, todo) if executor else ():
            outcomes.append(outcome)
            record.record(outcome)
            if isinstance(bar, Progress):
                bar.update(outcome.ok)
            if outcome.status == FAILED and options.doraise:
                if outcome.traceback:
                    print(outcome.traceback.rstrip(), file=sys.stderr)
                log.error("stopping at the first failure (--doraise)")
                break
    except KeyboardInterrupt:
        return True
    return False


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
        log.warning("--debug: no debug.toml or debug.py in the working directory")
        return None
    loadDebugFile(path)  # fail early, in the parent, on a bad file
    checkTables(path, runNames(options.task, taskClass, config))
    log.info("debug variables from %s", path)
    return path
