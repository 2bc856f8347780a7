"""The run plan: everything one ``pipetask run`` will do, decided before anything runs.

The CLI turns options into a :class:`RunPlan` (pipeline, configs, graph, repositories,
settings), or for ``--file`` into a :class:`FilePlan` (the task, its config per camera,
the files); ``--show`` prints from it; the runner executes either with the same loop and
executors. Nothing below the plan parses command-line text, and a plan pickles, so any
executor can ship it.
"""

from __future__ import annotations

from dataclasses import dataclass
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
    #: ``--profile FILE``: a cProfile of the run's processing loop goes there
    profile: str | None = None


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


@dataclass(frozen=True)
class FileInput:
    """One ``--file``: the path as given and absolute, the data ID and camera (by name;
    None when no installed camera recognises the file) it was given, where its outputs
    go."""

    given: str
    path: str
    dataId: dict[str, Any]
    camera: str | None
    outputDir: str


@dataclass(frozen=True)
class FilePlan:
    """A run of one task on files, without a repository: one work item per file.

    ``configs`` holds the frozen config for each camera the files belong to (key None:
    files no camera recognises); ``target`` imports the task class.
    """

    taskName: str
    target: str
    configs: dict[str | None, Any]
    files: tuple[FileInput, ...]
    output: str
    settings: RunSettings
    #: the dataset type the task reads (the file itself), when the task names one
    inputType: str | None = None

    @property
    def runName(self) -> str:
        """The task's name."""
        return self.taskName
