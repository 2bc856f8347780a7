"""``pipetask run -p FILE[#subset] REPO``: options -> run plan -> runner.

This is where command-line text ends: ``-c label:NAME=VALUE`` and ``-C label:FILE`` are
split by label, ``--id`` tokens are parsed against the camera's keys, and everything
else travels as a frozen :class:`~pipetask.pipeline.plan.RunPlan`.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import ConfigError
from .show import ShowRequest

if TYPE_CHECKING:
    from .pipeline import Pipeline
    from .pipeline.pipeline import Override
    from .runner import RunOptions

log = logging.getLogger("pipetask")
_LABEL = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*):(.*)$", re.DOTALL)


def labelledOverrides(overrides: list[tuple[str, str]], labels: list[str]) -> list[Override]:
    """``-c``/``-C`` values split into label and value. ``label:`` may be left out when
    the pipeline has one label."""
    from .pipeline.pipeline import Override

    out = []
    for kind, value in overrides:
        flag = "-C" if kind == "file" else "-c"
        head = value if kind == "file" else value.partition("=")[0]
        found = _LABEL.match(value) if ":" in head else None
        if found is not None and (found.group(1) in labels or len(labels) > 1):
            out.append(Override(found.group(1), kind, found.group(2)))
        elif len(labels) == 1:
            out.append(Override(labels[0], kind, value))
        else:
            form = "LABEL:FILE" if kind == "file" else "LABEL:NAME=VALUE"
            raise ConfigError(
                f"{flag} {value}: name the label, {flag} {form} (labels: {', '.join(labels)})"
            )
    return out


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
    """``--show config``/``history``/``tasks`` for each label, headed by its label."""
    from .show import configText, historyText, taskTree

    many = len(pipeline.nodes) > 1
    for label, node in pipeline.nodes.items():
        if many and (show.config or show.history or show.tasks):
            print(f"# label {label} ({node.taskName})")
        for pattern in show.config:
            print(configText(node.config, pattern), end="" if pattern is None else "\n")
        for pattern in show.history:
            print(historyText(node.config, pattern))
        if show.tasks:
            print(taskTree(label, node.taskClass, node.config))


def runPipeline(options: RunOptions) -> int:
    """``pipetask run -p FILE REPO ...``: build the plan, show or run it; the exit status."""
    from .butler import Butler
    from .dataid import parseId
    from .pipeline import buildGraph
    from .pipeline.pipeline_file import splitLocation
    from .pipeline.plan import RunPlan, RunSettings
    from .pipeline.run import executePlan
    from .pipeline.show import graphText
    from .setup import inputCamera, runPaths

    show = ShowRequest.parse(options.show)
    if options.file:
        raise ConfigError("--file runs one task on one file; it does not combine with -p")
    if not options.repo:
        raise ConfigError("a repository is required: pipetask run -p FILE REPO")
    paths = runPaths(options)
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
        return 0
    willRun = not (show.any and not show.run)
    # Everything the command line can get wrong is checked before anything is written.
    executor = _executor(pipeline, options) if willRun else None
    # Read-only here: the output is opened for writing only under the run's lock.
    output = paths.output if paths.outputGiven else None
    butler = Butler(paths.repo, output=output, calib=paths.calib, registryWrites=False)
    graph = None
    if options.skipExisting and sweep is None:
        from .pipeline.resume import storedGraph

        graph = storedGraph(pipeline, queries, paths.output)
    if graph is None:
        graph = buildGraph(pipeline, butler, queries)
    if sweep is not None:
        from .pipeline.sweep import combinedGraph

        graph = combinedGraph(graph, *sweep)
    settings = RunSettings(
        executor=options.executor,
        processes=options.processes,
        timeout=options.timeout,
        scheduler=options.scheduler,
        doraise=options.doraise,
        skipExisting=options.skipExisting,
        clobberConfig=options.clobberConfig,
        noBackupConfig=options.noBackupConfig,
        noVersions=options.noVersions,
        debugFile=_debugFile(options, pipeline),
        logLevels=tuple(options.logLevels),
        extra={"profile": getattr(options, "profile", None)},
    )
    name = Path(splitLocation(options.pipeline)[0]).stem if options.pipeline else options.task
    plan = RunPlan(pipeline, graph, paths.repo, paths.output, paths.calib, settings, name)
    if show.data:
        from .show import dataIdLine

        for label, i in graph.quanta():
            print(f"{label} {dataIdLine(graph.dataId(label, i))}")
    if show.graph:
        if sweep is not None:
            from .pipeline.sweep_run import sweepDone

            print(graphText(graph, sweepDone(plan, butler, *sweep), resuming=True))
        else:
            print(graphText(graph, resumedQuanta(plan, butler), resuming=options.skipExisting))
    butler.close()
    if executor is None:
        return 0
    if getattr(options, "clobberOutput", False) and paths.outputGiven:
        from .clobber_output import clobberOutput

        clobberOutput(paths.repo, paths.output)
    if sweep is not None:
        from .pipeline.sweep_run import executeSweep

        return executeSweep(plan, *sweep, executor)
    return executePlan(plan, executor)


def resumedQuanta(plan: Any, butler: Any) -> list:
    """What ``--skip-existing`` would skip (nothing without it)."""
    if not plan.settings.skipExisting:
        return []
    from .pipeline.resume import doneQuanta

    return doneQuanta(plan.graph, butler)[0]


def _executor(pipeline: Pipeline, options: RunOptions) -> Any:
    """The executor; a label whose task cannot run in parallel makes the run serial."""
    from .setup import chooseExecutor

    serialOnly = [
        n for n in pipeline.nodes.values() if not getattr(n.taskClass, "canMultiprocess", True)
    ]
    taskClass = (
        serialOnly[0].taskClass if serialOnly else next(iter(pipeline.nodes.values())).taskClass
    )
    return chooseExecutor(taskClass, options)


def _debugFile(options: RunOptions, pipeline: Pipeline) -> str | None:
    """The ``--debug`` file, loaded once here so a bad one fails before anything runs."""
    from .debug import checkTables, findDefaultFile, loadDebugFile, runNames

    if not options.debug:
        return None
    path = options.debugFile or findDefaultFile()
    if path is None:
        log.warning("--debug: no debug.toml or debug.py in the working directory")
        return None
    loadDebugFile(path)
    names = [
        name
        for label, node in pipeline.nodes.items()
        for name in runNames(label, node.taskClass, node.config)
    ]
    checkTables(path, names)
    log.info("debug variables from %s", path)
    return path
