"""``pipetask run -p FILE[#subset] REPO``: options -> run plan -> runner.

This is where command-line text ends: ``-c label:NAME=VALUE`` and ``-C label:FILE`` are
split by label, ``--id`` tokens are parsed against the camera's keys, and everything
else travels as a frozen :class:`~pipetask.pipeline.plan.RunPlan`.
"""

from __future__ import annotations

import contextlib
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ConfigError
from .show import ShowRequest

if TYPE_CHECKING:
    from .options import RunOptions
    from .pipeline import Pipeline
    from .pipeline.pipeline import Override
    from .pipeline.plan import RunSettings

log = logging.getLogger("pipetask")


def pipelineLabels(options: RunOptions) -> list[str]:
    """The labels ``-p FILE[#subset]`` selects (TASK for a one-task pipeline)."""
    from .pipeline.pipeline_file import loadPipelineFile, splitLocation

    if options.pipeline:
        path, subset = splitLocation(options.pipeline)
        return loadPipelineFile(path).select(subset)
    return [options.task]


def loadPipeline(options: RunOptions, camera: Any, extra: list[Override] | None = None) -> Pipeline:
    """The pipeline of ``-p FILE[#subset]`` (or the one-task pipeline of TASK); ``extra``
    overrides apply after the command line's (a sweep variant's values)."""
    from .pipeline import Pipeline
    from .pipeline.pipeline import labelledOverrides

    overrides = labelledOverrides(options.overrides, pipelineLabels(options)) + list(extra or [])
    if options.pipeline:
        return Pipeline.fromFile(options.pipeline, camera, overrides)
    return Pipeline.fromTask(options.task, camera, overrides)


def planSweep(
    options: RunOptions, camera: Any, output: str | None, pipeline: Pipeline
) -> tuple[list, list]:
    """``(varying labels, variants)`` of ``--sweep``: every variant built and checked."""
    from .pipeline.sweep import buildVariants, expandVariants, parseAxes, varyingLabels

    if output is None:
        raise ConfigError("--sweep needs --output OUT (each variant writes OUT/sweep/VARIANT)")
    labels = pipeline.labels
    axes = parseAxes(options.sweeps, labels)
    variants = expandVariants(axes, options.sweepZip, len(labels) > 1)

    def build(extra: list[Override]) -> Pipeline:
        return loadPipeline(options, camera, extra)

    buildVariants(variants, build, axes, output)
    return varyingLabels(pipeline, {a.label for a in axes}), variants


def showPipelineConfig(show: ShowRequest, pipeline: Pipeline) -> None:
    """``--show config``/``history``/``tasks`` for each label, headed by its label. A
    pattern applies to every label (those without a match are left out) or, written
    ``LABEL:PATTERN``, to one; a pattern no label matches is an error, before anything
    is printed."""
    from .errors import ConfigError
    from .show import configText, historyText, taskTree

    def scoped(pattern: str | None, label: str) -> tuple[bool, str | None]:
        """Whether ``pattern`` applies to ``label``, and the pattern without its label."""
        if pattern is not None and ":" in pattern:
            named, _, rest = pattern.partition(":")
            if named in pipeline.nodes:
                return named == label, rest
        return True, pattern

    def attempt(make, *args) -> str | None:
        try:
            return make(*args)
        except ConfigError:  # no field of this label matches
            return None

    blocks: dict[str, list[str]] = {label: [] for label in pipeline.nodes}
    requests = [("config", p) for p in show.config] + [("history", p) for p in show.history]
    for kind, pattern in requests:
        found = False
        for label, node in pipeline.nodes.items():
            applies, own = scoped(pattern, label)
            if not applies:
                continue
            if kind == "config":
                text = attempt(configText, node.config, own, node.taskName)
                if text is not None and own is not None:
                    text += "\n"
            else:
                text = attempt(historyText, node.config, own) if own else None
                text = None if text is None else text + "\n"
            if text is not None:
                blocks[label].append(text)
                found = True
        if not found:
            where = " in any label" if len(pipeline.nodes) > 1 else ""
            raise ConfigError(f"--show {kind}={pattern}: no config field matches{where}")
    if show.tasks:
        for label, node in pipeline.nodes.items():
            blocks[label].append(taskTree(label, node.taskClass, node.config) + "\n")
    many = len(pipeline.nodes) > 1
    for label, texts in blocks.items():
        if many and texts:
            print(f"# label {label} ({pipeline.nodes[label].taskName})")
        for text in texts:
            print(text, end="")


def runPipeline(options: RunOptions) -> int:
    """``pipetask run -p FILE REPO ...`` and ``pipetask run TASK REPO ...`` (a one-task
    pipeline): build the plan, show or run it; the exit status."""
    from .dataid import parseId
    from .pipeline.run import pipelineWrites
    from .runlock import outputLock
    from .setup import inputCamera, runPaths

    show = ShowRequest.parse(options.show)
    oneTask = not options.pipeline
    if options.file:
        raise ConfigError("--file runs one task on one file; it does not combine with -p")
    if not options.repo:
        raise ConfigError("a repository is required: pipetask run -p FILE REPO")
    paths = runPaths(options.repo, options.output, options.calib)
    camera = inputCamera(paths)
    queries = [parseId(tokens, camera.keys) for tokens in options.ids or []]
    pipeline = loadPipeline(options, camera)
    output = paths.output if paths.outputGiven else None
    sweep = planSweep(options, camera, output, pipeline) if options.sweeps else None
    if show.pipeline:
        print(pipeline.describe())
    showPipelineConfig(show, pipeline)
    if not (show.data or show.graph or not show.any or show.run):
        return 0
    if not options.ids:
        log.warning("no --id given: nothing to process (use --id with no values to select all)")
        if oneTask:
            log.warning(NOTHING_TO_DO)
        return 0
    willRun = not (show.any and not show.run)
    # Everything the command line can get wrong is checked before anything is written.
    executor = _executor(pipeline, options) if willRun else None
    if willRun:
        _buildTasks(pipeline)
    if options.clobberOutput and paths.outputGiven and willRun:
        from .clobber_output import clobberOutput

        clobberOutput(paths.repo, paths.output)  # before the graph: the old output is gone
    # Lock first, then open the output (read-only here, for the graph): a run being made
    # by another run into the same output is refused, never read half-made.
    lock = contextlib.nullcontext()
    if willRun and sweep is None and pipelineWrites(pipeline):
        lock = outputLock(paths.output)
    with lock:
        return _planAndRun(options, pipeline, paths, queries, sweep, executor, show)


def _planAndRun(options, pipeline, paths, queries, sweep, executor, show) -> int:
    """Build the graph and the plan; show or run it (the caller holds the output's lock
    when the run writes)."""
    from .butler import Butler
    from .pipeline.graph import EmptyGraphError
    from .pipeline.pipeline_file import splitLocation
    from .pipeline.plan import RunPlan
    from .pipeline.run import executePlan
    from .pipeline.show import graphText

    oneTask = not options.pipeline
    output = paths.output if paths.outputGiven else None
    butler = Butler(paths.repo, output=output, calib=paths.calib, registryWrites=False)
    try:
        graph = _graph(options, pipeline, butler, queries, paths.output, sweep)
    except EmptyGraphError as exc:
        if not oneTask:
            raise
        log.warning("no data found: %s", exc)
        log.warning(NOTHING_TO_DO)
        return 0
    settings = runSettings(options, _debugFile(options, pipeline))
    name = Path(splitLocation(options.pipeline)[0]).stem if options.pipeline else options.task
    plan = RunPlan(pipeline, graph, paths.repo, paths.output, paths.calib, settings, name)
    if show.data:
        from .show import dataIdLine

        for label, i in graph.quanta():
            line = dataIdLine(graph.dataId(label, i))
            print(line if oneTask else f"{label} {line}")
    if show.graph:
        if sweep is not None:
            from .pipeline.sweep_run import sweepDone

            print(graphText(graph, sweepDone(plan, butler, *sweep), resuming=True))
        else:
            why: dict = {}
            done = resumedQuanta(plan, butler, why)
            print(graphText(graph, done, resuming=options.skipExisting, why=why))
    butler.close()
    if executor is None:
        return 0
    if sweep is not None:
        from .pipeline.sweep_run import executeSweep

        return executeSweep(plan, *sweep, executor)
    return executePlan(plan, executor, locked=True)


def runSettings(options: RunOptions, debugFile: str | None) -> RunSettings:
    """How to run, from the options: what a plan carries of them."""
    from .pipeline.plan import RunSettings

    return RunSettings(
        executor=options.executor,
        processes=options.processes,
        timeout=options.timeout,
        scheduler=options.scheduler,
        doraise=options.doraise,
        skipExisting=options.skipExisting,
        clobberConfig=options.clobberConfig,
        clobberVersions=options.clobberVersions,
        noBackupConfig=options.noBackupConfig,
        noVersions=options.noVersions,
        debugFile=debugFile,
        profile=options.profile,
    )


#: What a one-task run says when its selection is empty (as LSST's command-line tasks do).
NOTHING_TO_DO = (
    "Not running the task because there is no data to process; "
    "you may preview data with --show data"
)


def _graph(options: RunOptions, pipeline: Pipeline, butler: Any, queries, output, sweep):
    """The run's graph: the stored one when resuming a run it fits, else built."""
    from .pipeline import buildGraph

    graph = None
    if options.skipExisting and sweep is None:
        from .pipeline.resume import storedGraph

        graph = storedGraph(pipeline, queries, output)
    if graph is None:
        graph = buildGraph(pipeline, butler, queries)
        _logSelection(graph)
    if sweep is not None:
        from .pipeline.sweep import combinedGraph

        graph = combinedGraph(graph, *sweep)
    return graph


def _logSelection(graph: Any) -> None:
    """At DEBUG: how many quanta of each label were selected, and each of them."""
    if not log.isEnabledFor(logging.DEBUG):
        return
    from .dataid import formatDataId

    for label in graph.tasks:
        log.debug("selected %d data IDs for %s", graph.count(label), label)
        for i in range(graph.count(label)):
            log.debug("selected %s", formatDataId(graph.dataId(label, i)))


def resumedQuanta(plan: Any, butler: Any, why: dict | None = None) -> list:
    """What ``--skip-existing`` would skip (nothing without it), with the reason of each
    quantum it would run in ``why``. A label whose stored config differs is redone with
    ``--clobber-config`` and otherwise refused when the run starts (said here)."""
    if not plan.settings.skipExisting:
        return []
    from .butler.provenance import readStoredConfig
    from .pipeline.record import previousQuanta
    from .pipeline.resume import doneQuanta

    changed = []
    for label, node in plan.pipeline.nodes.items():
        if not getattr(node.taskClass, "storeConfig", True):
            continue
        stored = readStoredConfig(butler, label, type(node.config))
        if stored is not None and stored.differences(node.config):
            changed.append(label)
    if changed and not plan.settings.clobberConfig:
        log.warning(
            "the config of %s differs from the one stored in the output: the run refuses to "
            "start without --clobber-config (which redoes its quanta)",
            ", ".join(changed),
        )
    succeeded = previousQuanta(butler.outputRoot, plan.runName)[1]
    return doneQuanta(plan.graph, butler, succeeded, changed, why=why)[0]


def _buildTasks(pipeline: Pipeline) -> None:
    """Build each label's task once here, so a task that cannot be built with its config
    (a retargeted subtask whose library is missing) is a set-up error, before anything is
    written, and not a failure of every quantum."""
    for label, node in pipeline.nodes.items():
        node.taskClass(config=node.config, name=label)


def _executor(pipeline: Pipeline, options: RunOptions) -> Any:
    """The executor; a label whose task cannot run in parallel makes the run serial."""
    return executorFor(options, {n.label: n.taskClass for n in pipeline.nodes.values()})


def executorFor(options: RunOptions, tasks: dict[str, type]) -> Any:
    """The executor ``-j``/``--executor``/``--timeout``/``--scheduler`` ask for; a label
    (of ``tasks``: label -> task class) whose task cannot run in parallel makes the run
    serial."""
    from .setup import ExecutorRequest, chooseExecutor

    serialOnly = [label for label, t in tasks.items() if not getattr(t, "canMultiprocess", True)]
    request = ExecutorRequest(
        options.executor, options.processes, options.timeout, options.scheduler
    )
    return chooseExecutor(request, serialOnly[0] if serialOnly else None)


def _debugFile(options: RunOptions, pipeline: Pipeline) -> str | None:
    """The ``--debug`` file of a pipeline run (see :func:`debugFile`)."""
    from .debug import runNames

    if not options.debug:
        return None
    nodes = pipeline.nodes.items()
    return debugFile(
        options, [name for label, n in nodes for name in runNames(label, n.taskClass, n.config)]
    )


def debugFile(options: RunOptions, names: list[str]) -> str | None:
    """The ``--debug`` file, loaded once here so a bad one fails before anything runs
    (its tables checked against ``names``, those of every task and subtask of the run)."""
    from .debug import checkTables, findDefaultFile, loadDebugFile

    if not options.debug:
        return None
    path = options.debugFile or findDefaultFile()
    if path is None:
        log.warning(
            "--debug: no debug.toml or debug.py in the working directory "
            "(nor a debug.py on $PYTHONPATH)"
        )
        return None
    loadDebugFile(path)
    checkTables(path, names)
    log.info("debug variables from %s", path)
    return path
