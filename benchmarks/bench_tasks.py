"""Tasks the benchmarks run: a trivial one, a pure-CPU one and a numpy-heavy one.

They reach ``pipetask`` through the throwaway plugin that :mod:`_bench` records in a
temporary directory (``bench_plugin``); nothing is installed.
"""

from __future__ import annotations

import time

from pipetask import Config, ConfigurableField, Field, Struct, Task


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
