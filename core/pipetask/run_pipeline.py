"""``pipetask run -p FILE[#subset] REPO``: options -> run plan -> runner.

This is where command-line text ends: ``-c label:NAME=VALUE`` and ``-C label:FILE`` are
split by label, ``--id`` tokens are parsed against the camera's keys, and everything
else travels as a frozen :class:`~pipetask.pipeline.plan.RunPlan`.
"""

from __future__ import annotations

import logging
import re
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


def loadPipeline(options: RunOptions, camera: Any) -> Pipeline:
    """The pipeline of ``-p FILE[#subset]`` (or the one-task pipeline of TASK)."""
    from .pipeline import Pipeline
    from .pipeline.pipeline_file import loadPipelineFile, splitLocation

    if options.pipeline:
        path, subset = splitLocation(options.pipeline)
        labels = loadPipelineFile(path).select(subset)
        overrides = labelledOverrides(options.overrides, labels)
        return Pipeline.fromFile(options.pipeline, camera, overrides)
    overrides = labelledOverrides(options.overrides, [options.task])
    return Pipeline.fromTask(options.task, camera, overrides)


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
