"""Running quanta in a worker: what a task sees of its inputs and outputs.

A worker loads the run's quantum graph once (from the output repository), builds each
label's task the first time it needs it, and runs quanta it is handed as
:class:`QuantumItem` (a quantum's data ID that also knows its label and index). Outputs
are written atomically by the worker and *not* registered: the outcome carries what was
written and the run's main process, the only writer of the registry, registers it.

A task offers ``runQuantum(butlerQC, inputRefs, outputRefs)``::

    def runQuantum(self, butlerQC, inputRefs, outputRefs):
        exposures = butlerQC.get(inputRefs.calexps)   # a list for a multiple input
        butlerQC.put(self.run(exposures).table, outputRefs.summary)

or, like a command-line task, ``runDataRef(dataRef)``: the data reference reads through
the Butler and writes through the quantum.
"""

from __future__ import annotations

import hashlib
import logging
import resource
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from ..butler.butler import DataRef
from ..execution.base import OK, Outcome
from ..execution.failure import failureOutcome
from ..logs import dataIdContext
from ..struct import Struct

log = logging.getLogger("pipetask")
_RSS_UNIT = 1 if sys.platform == "darwin" else 1024


class QuantumItem(dict):
    """The data ID of one quantum (a dict, so logs and records show it as usual) with its
    ``label`` and ``index`` in the graph: what executors hand to workers."""

    def __init__(self, label: str, index: int, dataId: dict[str, Any]) -> None:
        super().__init__(dataId)
        self.label = label
        self.index = index

    def __reduce__(self):
        return (QuantumItem, (self.label, self.index, dict(self)))

    @property
    def key(self) -> tuple[str, int]:
        """``(label, index)``."""
        return (self.label, self.index)


@dataclass(frozen=True)
class DatasetRef:
    """One dataset a quantum reads or writes."""

    datasetType: str
    dataId: dict[str, Any]


class QuantumContext:
    """The Butler as one quantum sees it (``butlerQC``): reads by reference, writes
    files without registering them, and remembers what it wrote."""

    def __init__(self, butler: Any, dataId: dict[str, Any]) -> None:
        self.butler = butler
        self.dataId = dict(dataId)
        self.written: list[tuple[str, dict[str, Any], str]] = []

    def get(self, ref: DatasetRef | list[DatasetRef]) -> Any:
        """The dataset of a reference (a list for a list of references)."""
        if isinstance(ref, list):
            return [self.butler.get(r.datasetType, r.dataId) for r in ref]
        return self.butler.get(ref.datasetType, ref.dataId)

    def put(self, obj: Any, ref: DatasetRef) -> None:
        """Write ``obj`` as the output ``ref``."""
        path = self.butler.writeFile(obj, ref.datasetType, ref.dataId)
        self.written.append((ref.datasetType, dict(ref.dataId), path))


class QuantumDataRef(DataRef):
    """The data reference a ``runDataRef`` task gets: reads as usual, writes through the
    quantum (so the run's main process registers what it wrote)."""

    def __init__(
        self, context: QuantumContext, datasetType: str, dataId: dict[str, Any] | None = None
    ) -> None:
        super().__init__(context.butler, datasetType, context.dataId if dataId is None else dataId)
        self._context = context

    def put(self, obj: Any, datasetType: str | None = None, **kw: Any) -> Any:
        ref = DatasetRef(datasetType or self.datasetType, {**self._dataId, **kw})
        self._context.put(obj, ref)
        return self._butler.outputRoot / self._context.written[-1][2]


@dataclass(frozen=True)
class PipelineJob:
    """Everything a worker needs to run quanta of a graph, in any process (picklable)."""

    graphPath: str
    repo: str
    output: str
    calib: str | None = None
    doraise: bool = False
    debugFile: str | None = None
    logLevels: tuple[str, ...] = ()
    #: ``(name, template, format, python, calib)`` of the run-time dataset types: workers
    #: open no registry (see :mod:`pipetask.butler.worker_butler`)
    datasetTypes: tuple[tuple[str, str, str, str, bool], ...] = ()
    key: str = field(default_factory=lambda: uuid.uuid4().hex)

    def makeWorker(self) -> QuantumWorker:
        """The worker of this job (one per process)."""
        return QuantumWorker(self)


def configHash(configText: str) -> str:
    """A short hash of a label's config TOML, recorded with each quantum."""
    return hashlib.sha256(configText.encode()).hexdigest()[:16]


class QuantumWorker:
    """Runs quanta of one job: the graph and Butler built once, each task on first use."""

    def __init__(self, job: PipelineJob) -> None:
        from ..butler.worker_butler import WorkerButler
        from ..debug import loadDebugFile
        from .graph_io import loadGraph

        self.job = job
        if job.debugFile:
            loadDebugFile(job.debugFile)
        self.graph = loadGraph(job.graphPath)
        # No registry: the run's main process registers what this worker writes.
        self.butler = WorkerButler(job.repo, job.output, job.calib, job.datasetTypes)
        self.tasks: dict[str, Any] = {}
        #: a sweep's labels that write into a sub-output of the run's output, and their Butlers
        self.outputs: dict[str, str] = self.graph.meta.get("outputs") or {}
        self.butlers: dict[str, Any] = {}

    def butlerOf(self, label: str) -> Any:
        """The Butler a label reads and writes through (a sweep variant's own output,
        chained to the run's output, or the run's output)."""
        folder = self.outputs.get(label)
        if folder is None:
            return self.butler
        butler = self.butlers.get(folder)
        if butler is None:
            from ..butler.worker_butler import WorkerButler

            output = f"{self.job.output}/{folder}"
            butler = self.butlers[folder] = WorkerButler(
                self.job.output, output, self.job.calib, self.job.datasetTypes
            )
        return butler

    def inputIds(self, label: str, index: int) -> dict[str, list[dict[str, Any]]]:
        """Dataset type -> data IDs of what quantum ``index`` of ``label`` reads, as the
        graph found them. A prerequisite looked up only when the quantum runs (optional,
        or a calibration valid at the raw's date) points at the quantum's own data ID in
        the graph, found or not: it is left out."""
        graph = self.graph
        spec = graph.tasks[label]
        inputs: dict[str, list[dict[str, Any]]] = {}
        prerequisites = {conn.name for conn in spec.connections.prerequisites}
        for conn in spec.connections.inputs + spec.connections.prerequisites:
            edge = spec.edges.get(conn.name)
            if edge is None or (conn.name in prerequisites and edge.source == spec.quanta):
                continue
            ids = [graph.rowDataId(edge.source, r) for r in edge.rows(index)]
            inputs.setdefault(conn.datasetType, []).extend(ids)
        return inputs

    def task(self, label: str) -> Any:
        """The task of ``label``, built once."""
        task = self.tasks.get(label)
        if task is None:
            from ..plugins import load

            spec = self.graph.tasks[label]
            taskClass = load(spec.target)
            config = taskClass.ConfigClass.fromToml(spec.configText, source=f"<label {label}>")
            task = self.tasks[label] = taskClass(config=config, name=label)
        return task

    def refs(self, label: str, index: int) -> tuple[Struct, Struct]:
        """``(inputRefs, outputRefs)`` of a quantum: one attribute per connection."""
        graph = self.graph
        spec = graph.tasks[label]
        dataId = graph.dataId(label, index)
        inputs: dict[str, Any] = {}
        for conn in spec.connections.inputs + spec.connections.prerequisites:
            edge = spec.edges[conn.name]
            refs = [
                DatasetRef(conn.datasetType, graph.rowDataId(edge.source, r))
                for r in edge.rows(index)
            ]
            inputs[conn.name] = refs if conn.multiple else refs[0]
        outputs = {c.name: DatasetRef(c.datasetType, dataId) for c in spec.connections.outputs}
        return Struct(**inputs), Struct(**outputs)

    def dataRef(self, context: QuantumContext, label: str, index: int) -> QuantumDataRef:
        """What a ``runDataRef`` task gets: a reference to its first input; for a gather
        (see :func:`~pipetask.pipeline.connections.gatherDimensions`) its ``members``
        refer to each gathered data ID."""
        spec = self.graph.tasks[label]
        first = spec.connections.inputs[0]
        ref = QuantumDataRef(context, first.datasetType)
        if first.multiple:
            edge = spec.edges[first.name]
            ref.members = [
                QuantumDataRef(context, first.datasetType, self.graph.rowDataId(edge.source, r))
                for r in edge.rows(index)
            ]
        return ref

    def process(self, item: QuantumItem) -> Outcome:
        """Run one quantum; never raises for a failure of the task."""
        start = time.perf_counter()
        label, index = item.label, item.index
        extra: dict[str, Any] = {"label": label, "quantum": index}
        taskTime = 0.0
        with dataIdContext(dict(item)):
            try:
                task = self.task(label)
                butler = self.butlerOf(label)
                butler.setQuantumInputs(self.inputIds(label, index))
                context = QuantumContext(butler, dict(item))
                task.emptyMetadata()
                t0 = time.perf_counter()
                try:
                    if callable(getattr(task, "runQuantum", None)):
                        inputRefs, outputRefs = self.refs(label, index)
                        task.runQuantum(context, inputRefs, outputRefs)
                    else:
                        task.runDataRef(self.dataRef(context, label, index))
                finally:
                    taskTime = time.perf_counter() - t0
                extra["written"] = context.written
                extra["metadata"] = task.getFullMetadata()
                outcome = Outcome(item, OK, extra=extra)
            except Exception as exc:  # a failing quantum must not stop the run
                outcome = self._failure(item, exc, extra)
        extra["maxRss"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * _RSS_UNIT
        outcome.taskTime = taskTime
        outcome.duration = time.perf_counter() - start
        return outcome

    def _failure(self, item: QuantumItem, exc: Exception, extra: dict[str, Any]) -> Outcome:
        # A one-task run's quanta are its data IDs, and are named so.
        one = len(self.graph.tasks) == 1
        where = f"dataId={dict(item)}" if one else f"quantum {item.label} {dict(item)}"
        output = self.butlerOf(item.label).outputRoot
        return failureOutcome(item, exc, where, output, self.job.doraise, extra)
