"""Plugin hooks of pipetask-stats-numba; imports no numba (the kernel loads when used)."""

from __future__ import annotations

from pipetask.plugins import Description, hookimpl


@hookimpl
def pipetask_kernels() -> list[Description]:
    return [
        Description(
            "sigmaClippedScan",
            "pipetask_stats_numba.scan",
            "the loops of the sigma-clipped statistics, compiled with numba",
        )
    ]
