"""``statsWriter``: the production-style sibling of exampleTask; writes ``imageStats``."""

from __future__ import annotations

from pipetask import Config, ConfigurableField, Struct, Task, timeMethod
from pipetask_stats import SigmaClippedStatsTask


class StatsWriterConfig(Config):
    """Config of :class:`StatsWriterTask`."""

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
        result = self.stats.run(dataRef.get("raw").getMaskedImage())
        values = {k: float(v) for k, v in result.getDict().items()}
        dataRef.put(values, "imageStats")
        return result
