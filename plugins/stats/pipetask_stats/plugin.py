"""Plugin hooks of pipetask-stats; imports nothing heavy (targets load when used)."""

from __future__ import annotations

from pipetask.plugins import Description, hookimpl


@hookimpl
def pipetask_tasks() -> list[Description]:
    return [
        Description(
            "simpleStats",
            "pipetask_stats.simple:SimpleStatsTask",
            "mean, standard deviation and their errors over all finite pixels",
            kind="stats",
        ),
        Description(
            "sigmaClippedStats",
            "pipetask_stats.sigma_clipped:SigmaClippedStatsTask",
            "LSST afw sigma-clipped mean and standard deviation with their errors",
            kind="stats",
        ),
    ]
