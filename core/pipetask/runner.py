"""The runner behind ``pipetask run``: config, selection, persistence, execution, summary.

Data moves one way: options -> config and data IDs -> stored-config check -> executor ->
outcomes -> summary and exit status. Nothing here parses command-line strings beyond
handing ``-c`` values to the config layer and ``--id`` tokens to the data-ID grammar.
"""

from __future__ import annotations

import logging
import os
import sys

from .errors import EXIT_USAGE, ConfigError, PipetaskError, osErrorLine
from .options import RunOptions
from .setup import rootedPath  # noqa: F401 - the CLI's commands take it from here
from .show import ShowRequest

log = logging.getLogger("pipetask")


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

    if not options.pipeline:
        taskClass = load(catalog().get("task", options.task).target)
        if not any(callable(getattr(taskClass, m, None)) for m in ("runDataRef", "runQuantum")):
            cmdline = ", ".join(catalog().names("task", "cmdline")) or "none installed"
            raise ConfigError(
                f"task {options.task!r} is not a command-line task (it has no runDataRef); "
                f"command-line tasks: {cmdline}"
            )
        if options.file and not options.sweeps:
            return _runOnFiles(options, taskClass)
    if not options.repo and not options.file:
        hint = ""
        eaten = [t for tokens in options.ids or [] for t in tokens if "=" not in t]
        if eaten:
            hint = f" ({eaten[-1]!r} was read as an --id value: put REPO before the options)"
        what = "-p FILE REPO" if options.pipeline else "TASK REPO (or --file PATH)"
        raise ConfigError(f"a repository is required: pipetask run {what}{hint}")
    from .run_pipeline import runPipeline

    return runPipeline(options)


def _runOnFiles(options: RunOptions, taskClass: type) -> int:
    """``pipetask run TASK --file PATH ...``."""
    from .pipeline.pipeline import labelledOverrides, taskConfig
    from .single_file import fileCamera, runOnFiles

    overrides = labelledOverrides(options.overrides, [options.task])

    def makeConfig(camera):
        return taskConfig(options.task, camera, overrides)

    show = ShowRequest.parse(options.show)
    if show.any:
        camera, _ = fileCamera(os.path.abspath(options.file[0]), options.task)
        if _show(show, options, taskClass, makeConfig(camera)):
            return 0
    return runOnFiles(taskClass, options, makeConfig)


def _show(show: ShowRequest, options: RunOptions, taskClass, config) -> bool:
    """Print config, history and task tree requests; whether to stop here."""
    from .show import configText, historyText, taskTree

    for pattern in show.config:
        print(configText(config, pattern, options.task), end="" if pattern is None else "\n")
    for pattern in show.history:
        print(historyText(config, pattern))
    if show.tasks:
        print(taskTree(options.task, taskClass, config))
    return show.any and not show.run
