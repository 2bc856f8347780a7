"""The run plan: everything one ``pipetask run`` will do, decided before anything runs.

The CLI turns options into a :class:`RunPlan` (pipeline, configs, graph, repositories,
settings); ``--show`` prints from it; the runner executes it. Nothing below the plan
parses command-line text, and a plan pickles, so any executor can ship it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .graph import QuantumGraph
from .pipeline import Pipeline


@dataclass(frozen=True)
class RunSettings:
    """How to run: the options of ``pipetask run`` that are not about what to run."""

    executor: str | None = None
    processes: int = 1
    timeout: float | None = None
    scheduler: str | None = None
    doraise: bool = False
    skipExisting: bool = False
    clobberConfig: bool = False
    clobberVersions: bool = False
    noBackupConfig: bool = False
    noVersions: bool = False
    debugFile: str | None = None
    logLevels: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunPlan:
    """A frozen run: the pipeline with its configs, the graph, where to read and write."""

    pipeline: Pipeline
    graph: QuantumGraph
    repo: str
    output: str
    calib: str | None
    settings: RunSettings
    name: str = ""

    @property
    def runName(self) -> str:
        """Name of the run's record folder: the task for a one-task pipeline, else the
        pipeline file's name."""
        if self.name:
            return self.name
        labels = self.pipeline.labels
        return labels[0] if len(labels) == 1 else "pipeline"
