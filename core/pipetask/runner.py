"""``pipetask run``: from the options to a run plan, then to the runner.

``pipetask run TASK REPO`` and ``-p FILE REPO`` become a
:class:`~pipetask.pipeline.plan.RunPlan` (:mod:`pipetask.run_pipeline`); ``--file`` a
:class:`~pipetask.pipeline.plan.FilePlan` (here). Both run through the runner's one loop
(:func:`pipetask.pipeline.run.feed`) on the executor the options ask for. The options end
here: nothing below the plan sees them, nor parses command-line text.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import TYPE_CHECKING, Any

from .errors import EXIT_USAGE, ConfigError, PipetaskError, osErrorLine
from .options import RunOptions
from .show import ShowRequest

if TYPE_CHECKING:
    from .pipeline.plan import FilePlan

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
        taskClass = load(catalog().get("task", options.task, among="cmdline").target)
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
    """``pipetask run TASK --file PATH ...``: a :class:`~pipetask.pipeline.plan.FilePlan`,
    shown or run by the runner's loop on the executor the options ask for."""
    from .pipeline.file_run import executeFiles
    from .run_pipeline import executorFor

    if not callable(getattr(taskClass, "runDataRef", None)):
        raise ConfigError(
            f"--file: task {options.task!r} has no runDataRef (it reads its inputs from a "
            "repository); run it on a repository"
        )
    if options.ids:
        raise ConfigError("--id selects data IDs of a repository; with --file, the files are")
    if options.skipExisting:
        raise ConfigError("--skip-existing resumes a run into a repository; a --file run has none")
    show = ShowRequest.parse(options.show)
    plan = planFiles(options, taskClass)
    if show.any:
        _show(show, plan, taskClass)
        if not show.run:
            return 0
    executor = executorFor(options, {options.task: taskClass})
    for config in plan.configs.values():  # a task its config cannot build: a set-up error
        taskClass(config=config)
    return executeFiles(plan, executor)


def planFiles(options: RunOptions, taskClass: type) -> FilePlan:
    """The plan of a ``--file`` run: each file's camera (the installed one that recognises
    it) and data ID, the task's config for each camera, where each file's outputs go
    (``OUT`` for one file, ``OUT/<file name>`` for each of several)."""
    from .debug import runNames
    from .errors import ButlerError
    from .pipeline.pipeline import labelledOverrides, taskConfig
    from .pipeline.plan import FileInput, FilePlan
    from .run_pipeline import debugFile, runSettings
    from .single_file import fileCamera, fileStem

    given = options.file or []
    paths = [os.path.abspath(p) for p in given]
    for name, path in zip(given, paths, strict=True):
        if not os.path.isfile(path):
            raise ButlerError(f"--file {name}: no such file")
    if len(set(paths)) != len(paths):
        raise ConfigError("--file: the same file is given more than once")
    overrides = labelledOverrides(options.overrides, [options.task])
    output = os.path.abspath(options.output or ".")
    configs: dict[str | None, Any] = {}
    files = []
    for name, path in zip(given, paths, strict=True):
        camera, dataId = fileCamera(path, options.task)
        key = None if camera is None else camera.name
        if key not in configs:
            configs[key] = taskConfig(options.task, camera, overrides)
        outputDir = output if len(paths) == 1 else os.path.join(output, fileStem(path))
        files.append(FileInput(name, path, dataId or {}, key, outputDir))
    first = configs[files[0].camera]
    debug = debugFile(options, runNames(options.task, taskClass, first)) if options.debug else None
    return FilePlan(
        taskName=options.task,
        target=f"{taskClass.__module__}:{taskClass.__qualname__}",
        configs=configs,
        files=tuple(files),
        output=output,
        settings=runSettings(options, debug),
        inputType=getattr(taskClass, "inputDatasetType", None),
    )


def _show(show: ShowRequest, plan: FilePlan, taskClass: type) -> None:
    """``--show`` for a file run: the config, history and task tree of the first file's
    config; one line per file's data ID."""
    from .show import configText, dataIdLine, historyText, taskTree
    from .single_file import fileItems

    config = plan.configs[plan.files[0].camera]
    for pattern in show.config:
        print(configText(config, pattern, plan.taskName), end="" if pattern is None else "\n")
    for pattern in show.history:
        print(historyText(config, pattern))
    if show.tasks:
        print(taskTree(plan.taskName, taskClass, config))
    if show.data:
        for item in fileItems(plan):
            print(dataIdLine(item))
