"""``statsWriter``: the production-style sibling of exampleTask; writes ``imageStats``."""

from __future__ import annotations

from pipetask import Config, ConfigurableField, Struct, Task, timeMethod
from pipetask.pipeline import Connections, Input, Output
from pipetask_stats import SigmaClippedStatsTask


class StatsWriterConnections(Connections):
    """One quantum per raw image, writing one ``imageStats`` dataset."""

    raw = Input("raw", doc="the raw image whose statistics are computed")
    imageStats = Output("imageStats", doc="the statistics, as a JSON dataset")


class StatsWriterConfig(Config):
    """Config of :class:`StatsWriterTask`."""

    connections = StatsWriterConnections.makeField()
    stats = ConfigurableField(
        doc="Subtask that computes the image statistics", target=SigmaClippedStatsTask
    )


class StatsWriterTask(Task):
    """Compute the statistics of each raw image and write them as ``imageStats``.

    A production-style task: it stores its config, the package versions and per-data-ID
    metadata in the output repository, so a second run with a different config into the
    same output is refused (``--clobber-config`` replaces it).
    """

    ConfigClass = StatsWriterConfig
    _DefaultName = "statsWriter"
    outputDatasetTypes = ("imageStats",)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.makeSubtask("stats")

    @timeMethod
    def runDataRef(self, dataRef) -> Struct:
        """Compute and write the statistics of the raw image of ``dataRef``."""
        self.log.info("Processing data ID %s", dataRef.dataId)
        names = self.config.connections
        result = self.stats.run(dataRef.get(names.raw).getMaskedImage())
        values = {k: float(v) for k, v in result.getDict().items()}
        dataRef.put(values, names.imageStats)
        return result
