"""Tasks the benchmarks run: a trivial one, a pure-CPU one, a numpy-heavy one, the
steps of a three-task pipeline (:data:`GRAPH_PIPELINE`), and a job of no-op items for
executors' dispatch (:class:`NoopJob`).

They reach ``pipetask`` through the throwaway plugin that :mod:`_bench` records in a
temporary directory (``bench_plugin``); nothing is installed.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

from pipetask import Config, ConfigurableField, Field, Struct, Task
from pipetask.execution.base import OK, Outcome
from pipetask.pipeline import Connections, Input, Output


class TrivialTask(Task):
    """Returns at once: what is left of a run's time is the framework's (it stores its
    config and per-data-ID metadata, as tasks do by default)."""

    ConfigClass = Config
    _DefaultName = "trivial"

    def runDataRef(self, dataRef):
        return Struct(dataId=dataRef.dataId)


class BurnConfig(Config):
    seconds = Field(doc="CPU seconds per data ID", dtype=float, default=1.0)


class BurnTask(Task):
    """Spends ``seconds`` of CPU time in plain Python per data ID (no memory traffic)."""

    ConfigClass = BurnConfig
    _DefaultName = "burn"
    storeConfig = False
    storeMetadata = False

    def runDataRef(self, dataRef):
        end = time.process_time() + self.config.seconds
        total = 0
        while time.process_time() < end:
            total += sum(range(1000))
        return Struct(total=total)


class ClipStatsConfig(Config):
    stats = ConfigurableField(
        doc="statistics subtask", target="pipetask_stats.sigma_clipped:SigmaClippedStatsTask"
    )
    repeat = Field(doc="times the statistics are computed per data ID", dtype=int, default=40)


class ClipStatsTask(Task):
    """Reads the raw, then computes its sigma-clipped statistics ``repeat`` times."""

    ConfigClass = ClipStatsConfig
    _DefaultName = "clipStats"
    storeConfig = False
    storeMetadata = False

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.makeSubtask("stats")

    def runDataRef(self, dataRef):
        image = dataRef.get("raw").getMaskedImage()
        for _ in range(self.config.repeat):
            result = self.stats.run(image)
        return result


# -- a three-step pipeline: two one-to-one steps and a per-visit gather -----------------
class StepConnections(Connections):
    """One quantum per input data ID."""

    inputs = Input("raw", doc="what the step reads")
    outputs = Output("benchStep1", doc="what the step writes")


class StepConfig(Config):
    connections = StepConnections.makeField()


class StepTask(Task):
    """Copies a tiny record from its input to its output (a trivial quantum)."""

    ConfigClass = StepConfig
    _DefaultName = "benchStep"

    def runQuantum(self, butlerQC, inputRefs, outputRefs):
        butlerQC.put({"dataId": butlerQC.dataId}, outputRefs.outputs)


class GatherConnections(Connections, dimensions=("visit",)):
    """One quantum per visit, reading every CCD's record."""

    inputs = Input("benchStep2", doc="every CCD of the visit", multiple=True)
    summary = Output("benchVisitSummary", doc="one record per visit")


class GatherConfig(Config):
    connections = GatherConnections.makeField()


class GatherTask(Task):
    """Counts the records of a visit."""

    ConfigClass = GatherConfig
    _DefaultName = "benchGather"

    def runQuantum(self, butlerQC, inputRefs, outputRefs):
        records = butlerQC.get(inputRefs.inputs)
        butlerQC.put({"count": len(records)}, outputRefs.summary)


class NoopConnections(Connections):
    """One quantum per raw; nothing read, nothing written."""

    raw = Input("raw", doc="the data ID's raw (not read)")


class NoopConfig(Config):
    connections = NoopConnections.makeField()


class NoopTask(Task):
    """A pipeline task that returns at once and writes nothing: what is left of a run's
    time is the framework's."""

    ConfigClass = NoopConfig
    _DefaultName = "benchNoop"
    storeConfig = False

    def runQuantum(self, butlerQC, inputRefs, outputRefs):
        return None


GRAPH_PIPELINE = """\
description = "two one-to-one steps and a per-visit gather"
[tasks.step1]
task = "benchStep"
[tasks.step2]
task = "benchStep"
connections = { inputs = "benchStep1", outputs = "benchStep2" }
[tasks.gather]
task = "benchGather"
"""


@dataclass(frozen=True)
class NoopJob:
    """An executor job whose items do nothing: what is left of its run is dispatch (the
    executor's cost per item), measured straight through an executor's ``run``."""

    key: str = field(default_factory=lambda: uuid.uuid4().hex)

    def makeWorker(self) -> NoopWorker:
        return NoopWorker(self)


@dataclass
class NoopWorker:
    job: NoopJob

    def process(self, item: dict) -> Outcome:
        return Outcome(item, OK)
