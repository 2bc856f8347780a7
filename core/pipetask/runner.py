"""The runner behind ``pipetask run``: config, selection, persistence, execution, summary.

Data moves one way: options -> config and data IDs -> stored-config check -> executor ->
outcomes -> summary and exit status. Nothing here parses command-line strings beyond
handing ``-c`` values to the config layer and ``--id`` tokens to the data-ID grammar.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigError, PipetaskError, osErrorLine
from .runlock import outputLock
from .show import ShowRequest

log = logging.getLogger("pipetask")

EXIT_USAGE = 2
MAX_FAILURE_STATUS = 100


@dataclass
class RunOptions:
    """Everything ``pipetask run`` was asked to do, independent of argparse."""

    task: str
    repo: str | None = None
    pipeline: str | None = None
    ids: list[list[str]] | None = None
    output: str | None = None
    calib: str | None = None
    file: list[str] | None = None
    overrides: list[tuple[str, str]] = field(default_factory=list)
    clobberConfig: bool = False
    noBackupConfig: bool = False
    noVersions: bool = False
    show: list[str] = field(default_factory=list)
    debug: bool = False
    debugFile: str | None = None
    doraise: bool = False
    logLevels: list[str] = field(default_factory=list)
    logFormat: str = "console"
    logFile: str | None = None
    processes: int = 1
    executor: str | None = None
    scheduler: str | None = None
    timeout: float | None = None
    skipExisting: bool = False
    clobberVersions: bool = False
    clobberOutput: bool = False
    profile: str | None = None

    @classmethod
    def fromArgs(cls, args: Any) -> RunOptions:
        """Options from the ``pipetask run`` argparse namespace."""
        logFormat = args.log_format or ("long" if args.longlog else "console")
        return cls(
            task=args.task or "",
            repo=args.repo,
            pipeline=getattr(args, "pipeline", None),
            ids=args.ids,
            output=args.output,
            calib=args.calib,
            file=args.file,
            overrides=list(args.overrides or []),
            clobberConfig=args.clobber_config,
            noBackupConfig=args.no_backup_config,
            noVersions=args.no_versions,
            show=[item for group in (args.show or []) for item in group],
            debug=args.debug or bool(args.debug_file),
            debugFile=args.debug_file,
            doraise=args.doraise,
            logLevels=[level for group in args.logLevels for level in group],
            logFormat=logFormat,
            logFile=args.log_file,
            processes=args.processes,
            executor=args.executor,
            scheduler=args.scheduler,
            timeout=args.timeout,
            skipExisting=args.skip_existing,
            clobberVersions=getattr(args, "clobber_versions", False),
            clobberOutput=getattr(args, "clobber_output", False),
            profile=getattr(args, "profile", None),
        )


def rootedPath(path: str | None, envName: str) -> str | None:
    """``path`` under ``$envName`` when it is relative and the variable is set."""
    if path is None:
        return None
    base = os.environ.get(envName)
    if base and not os.path.isabs(path):
        path = os.path.join(base, path)
    return os.path.abspath(path)


def runTask(options: RunOptions) -> int:
    """Run a command-line task as ``pipetask run`` does; returns the exit status."""
    from .logs import configureLogging

    severalProcesses = options.processes > 1 or options.executor not in (None, "serial")
    configureLogging(
        options.logLevels, options.logFormat, options.logFile, labelDataIds=severalProcesses
    )
    try:
        return _run(options)
    except PipetaskError as exc:
        log.debug("set-up failed", exc_info=True)
        print(f"pipetask: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        # Set-up touches the file system outside any data ID (the output, its lock, its
        # record); data IDs' own errors are outcomes and never reach here.
        log.debug("set-up failed", exc_info=True)
        print(f"pipetask: error: {osErrorLine(exc)}", file=sys.stderr)
        return EXIT_USAGE


def _run(options: RunOptions) -> int:
    from .plugins import catalog, load

    if options.pipeline:
        from .run_pipeline import runPipeline

        return runPipeline(options)
    from .setup import (
        applyOverrides,
        chooseExecutor,
        inputCamera,
        openButler,
        runPaths,
        taskWrites,
    )

    show = ShowRequest.parse(options.show)
    desc = catalog().get("task", options.task)
    taskClass = load(desc.target)
    if not callable(getattr(taskClass, "runDataRef", None)):
        cmdline = ", ".join(catalog().names("task", "cmdline")) or "none installed"
        raise ConfigError(
            f"task {options.task!r} is not a command-line task (it has no runDataRef); "
            f"command-line tasks: {cmdline}"
        )
    if options.file:
        from .single_file import fileCamera, runOnFiles

        def makeConfig(camera):
            return applyOverrides(taskClass, options, camera=camera)

        if show.any:
            camera, _ = fileCamera(os.path.abspath(options.file[0]), options.task)
            if _show(show, options, taskClass, makeConfig(camera), []):
                return 0
        return runOnFiles(taskClass, options, makeConfig)
    if not options.repo:
        hint = ""
        eaten = [t for tokens in options.ids or [] for t in tokens if "=" not in t]
        if eaten:
            hint = f" ({eaten[-1]!r} was read as an --id value: put REPO before the options)"
        raise ConfigError(
            f"a repository is required: pipetask run TASK REPO (or --file PATH){hint}"
        )
    paths = runPaths(options)
    camera = inputCamera(paths)
    _checkIds(options.ids, camera.keys)  # a bad --id is an error even for --show config
    config = applyOverrides(taskClass, options, camera=camera)
    stop = (show.config or show.history or show.tasks) and _show(
        show, options, taskClass, config, None
    )
    if stop and not show.data:
        return 0
    try:
        config.validate()
    except PipetaskError as exc:
        raise ConfigError(f"invalid config: {exc}") from None
    config.freeze()
    willRun = not (show.any and not show.run)
    # Everything the command line can get wrong is checked before anything is written.
    executor = chooseExecutor(taskClass, options) if willRun else None
    writes = willRun and taskWrites(taskClass)
    if options.clobberOutput and paths.outputGiven and willRun:
        from .clobber_output import clobberOutput

        clobberOutput(paths.repo, paths.output)
    # Lock first, then open (and perhaps create) the output: two runs started together
    # into one new output must not see each other's half-made repository.
    lock = outputLock(paths.output) if writes else contextlib.nullcontext()
    with lock:
        butler = openButler(paths)
        datasetType = getattr(taskClass, "inputDatasetType", None) or camera.rawDatasetType
        dataIds = butler.selectDataIds(options.ids, datasetType)
        _logSelection(dataIds, datasetType)
        if show.data:
            from .show import dataIdLine

            for dataId in dataIds:
                print(dataIdLine(dataId))
        if executor is None:
            return 0
        if not dataIds:
            log.warning(
                "Not running the task because there is no data to process; "
                "you may preview data with --show data"
            )
            return 0
        from .execute import execute

        return execute(taskClass, config, butler, dataIds, datasetType, options, executor)


def _checkIds(ids: list[list[str]] | None, keys: dict[str, type]) -> None:
    """Parse every ``--id`` against the camera's keys (no registry query); raise if bad."""
    from .dataid import parseId

    for tokens in ids or []:
        parseId(tokens, keys)


def _logSelection(dataIds: list[dict[str, Any]], datasetType: str) -> None:
    """At DEBUG: how many data IDs of which dataset type were selected, and each of them."""
    if not log.isEnabledFor(logging.DEBUG):
        return
    from .dataid import formatDataId

    log.debug("selected %d data IDs of dataset type %r", len(dataIds), datasetType)
    for dataId in dataIds:
        log.debug("selected %s", formatDataId(dataId))


def _show(show: ShowRequest, options: RunOptions, taskClass, config, dataIds) -> bool:
    """Print config, history and task tree requests; whether to stop here."""
    from .show import configText, historyText, taskTree

    for pattern in show.config:
        print(configText(config, pattern), end="" if pattern is None else "\n")
    for pattern in show.history:
        print(historyText(config, pattern))
    if show.tasks:
        print(taskTree(options.task, taskClass, config))
    return show.any and not show.run


def summarize(taskName: str, outcomes: list, total: int, elapsed: float, stopped: str = "") -> int:
    """Log the summary of a run (``stopped`` says why it stopped early); the failures."""
    from .dataid import formatDataId
    from .execution.base import FAILED, OK, SKIPPED

    counts = {OK: 0, FAILED: 0, SKIPPED: 0}
    for outcome in outcomes:
        counts[outcome.status] += 1
    notRun = total - len(outcomes)
    tail = ""
    if notRun:
        tail = f"; {notRun} not run" + (f" ({stopped})" if stopped else "")
    log.info(
        "%s: %d succeeded, %d failed, %d skipped of %d data IDs in %.2f s%s",
        taskName,
        counts[OK],
        counts[FAILED],
        counts[SKIPPED],
        total,
        elapsed,
        tail,
    )
    for outcome in outcomes:
        if outcome.status == FAILED:
            log.info("  failed %s: %s", formatDataId(outcome.dataId), outcome.error)
    return counts[FAILED]


def exitStatus(failures: int) -> int:
    """The number of failures, capped so it never wraps to 0."""
    return min(failures, MAX_FAILURE_STATUS)


def elapsedSince(start: float) -> float:
    """Seconds since ``start`` (a ``time.perf_counter`` value)."""
    return time.perf_counter() - start
