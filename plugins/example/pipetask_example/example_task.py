"""``exampleTask``: compute statistics of each raw image with a retargetable subtask."""

from __future__ import annotations

import os

from pipetask import Config, ConfigurableField, Field, Struct, Task, TaskError, debug, timeMethod
from pipetask.pipeline import Connections, Input
from pipetask.plugins import load_item
from pipetask_stats import SigmaClippedStatsTask


class ExampleConnections(Connections):
    """One quantum per raw image; nothing is written."""

    raw = Input("raw", doc="the raw image whose statistics are computed")


class ExampleConfig(Config):
    """Config of :class:`ExampleTask`."""

    connections = ExampleConnections.makeField()
    stats = ConfigurableField(
        doc="Subtask that computes the image statistics (retarget to simpleStats for plain "
        "mean and standard deviation)",
        target=SigmaClippedStatsTask,
    )
    doFail = Field(
        doc="Raise a TaskError for every data ID, to show failure reporting and --doraise",
        dtype=bool,
        default=False,
    )


class ExampleTask(Task):
    """Read the ``raw`` of each data ID, log it, and compute its statistics.

    Like the original, it stores neither its config nor metadata, so a user can run it
    again and again on one repository with different configs. With ``--debug`` and the
    debug variable ``display`` on (``[exampleTask] display = true``), it writes a
    zscale-stretched PNG of each image into the output repository.
    """

    ConfigClass = ExampleConfig
    _DefaultName = "exampleTask"
    storeConfig = False
    storeMetadata = False
    #: Also answer to the LSST task's module in debug files (an LSST ``debug.py`` tests it).
    debugNames = ("lsst.pipe.tasks.exampleCmdLineTask",)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.makeSubtask("stats")

    @timeMethod
    def runDataRef(self, dataRef) -> Struct:
        """Compute the statistics of the raw image of ``dataRef``."""
        self.log.info("Processing data ID %s", dataRef.dataId)
        if self.config.doFail:
            raise TaskError("Raising TaskError by request (config.doFail=True)")
        exposure = dataRef.get(self.config.connections.raw)
        self.showImage(exposure, dataRef)
        return self.stats.run(exposure.getMaskedImage())

    def showImage(self, exposure, dataRef) -> None:
        """Display the image when the debug variable ``display`` is on."""
        info = debug.taskInfo(self)
        if not info.display:
            return
        backend = info.display if isinstance(info.display, str) else "png"
        show = load_item("display", backend)
        butler = getattr(dataRef, "getButler", None)
        root = str(butler().outputRoot) if butler else getattr(dataRef, "outputDir", ".")
        title = "exampleTask " + " ".join(f"{k}={v}" for k, v in dataRef.dataId.items())
        outputDir = os.path.join(root, "display")
        where = show(exposure.getMaskedImage(), title=title, outputDir=outputDir)
        self.log.info("display: %s", where)
