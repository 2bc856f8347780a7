"""Test-only pipeline tasks for the ``synth`` camera (keys visit, ccd).

``ptCopy`` copies a record one-to-one, ``ptGather`` gathers a visit's records, ``ptCalib``
needs a ``bias`` prerequisite, ``ptPair`` reads two inputs. Tests load this module as a
plugin: in process by registering it, in a ``pipetask`` subprocess through a
``.dist-info`` record on ``PYTHONPATH``.
"""

from __future__ import annotations

import time

from pipetask import Config, Field, Task
from pipetask.pipeline import Connections, Input, Output, PrerequisiteInput
from pipetask.plugins import Description, hookimpl


class CopyConnections(Connections):
    inputs = Input("raw", doc="what is copied")
    outputs = Output("ptStep1", doc="the copy")


class CopyConfig(Config):
    connections = CopyConnections.makeField()
    threshold = Field(doc="a number for contracts", dtype=float, default=5.0)
    failVisit = Field(doc="fail the quanta of this visit (-1: none)", dtype=int, default=-1)
    sleep = Field(doc="seconds to sleep per quantum", dtype=float, default=0.0)


class CopyTask(Task):
    ConfigClass = CopyConfig
    _DefaultName = "ptCopy"

    def runQuantum(self, butlerQC, inputRefs, outputRefs):
        time.sleep(self.config.sleep)
        if butlerQC.dataId.get("visit") == self.config.failVisit:
            raise RuntimeError(f"failing visit {self.config.failVisit} by request")
        butlerQC.put({"dataId": butlerQC.dataId, "label": self.getName()}, outputRefs.outputs)


class GatherConnections(Connections, dimensions=("visit",)):
    inputs = Input("ptStep1", doc="every CCD of the visit", multiple=True)
    summary = Output("ptVisit", doc="one record per visit")


class GatherConfig(Config):
    connections = GatherConnections.makeField()
    threshold = Field(doc="a number for contracts", dtype=float, default=5.0)


class GatherTask(Task):
    ConfigClass = GatherConfig
    _DefaultName = "ptGather"

    def runQuantum(self, butlerQC, inputRefs, outputRefs):
        records = butlerQC.get(inputRefs.inputs)
        butlerQC.put({"ccds": sorted(r["dataId"]["ccd"] for r in records)}, outputRefs.summary)


class CalibConnections(Connections):
    inputs = Input("raw", doc="the exposure")
    bias = PrerequisiteInput("bias", doc="master bias of the CCD")
    outputs = Output("ptCalibrated", doc="the result")


class CalibConfig(Config):
    connections = CalibConnections.makeField()


class CalibTask(Task):
    ConfigClass = CalibConfig
    _DefaultName = "ptCalib"

    def runQuantum(self, butlerQC, inputRefs, outputRefs):
        butlerQC.put({"bias": inputRefs.bias.dataId}, outputRefs.outputs)


class PairConnections(Connections):
    first = Input("raw", doc="first input")
    second = Input("ptStep1", doc="second input")
    outputs = Output("ptPair", doc="the pair")


class PairConfig(Config):
    connections = PairConnections.makeField()


class PairTask(Task):
    ConfigClass = PairConfig
    _DefaultName = "ptPair"

    def runQuantum(self, butlerQC, inputRefs, outputRefs):
        butlerQC.put({"second": butlerQC.get(inputRefs.second)}, outputRefs.outputs)


@hookimpl
def pipetask_tasks():
    return [
        Description("ptCopy", "pipetask_pipetest:CopyTask", "copies a record"),
        Description("ptGather", "pipetask_pipetest:GatherTask", "gathers a visit"),
        Description("ptCalib", "pipetask_pipetest:CalibTask", "needs a bias"),
        Description("ptPair", "pipetask_pipetest:PairTask", "reads two inputs"),
    ]
