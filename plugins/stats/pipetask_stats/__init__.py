"""pipetask-stats: image statistics tasks.

``SimpleStatsTask`` (all finite pixels) and ``SigmaClippedStatsTask`` (the LSST afw
clipped mean, exactly) each return ``Struct(mean, meanErr, stdDev, stdDevErr)``.
The task classes load lazily, so ``import pipetask_stats`` stays cheap.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: importing typing costs `pipetask list` start-up
if TYPE_CHECKING:
    from typing import Any

__all__ = ["SigmaClippedStatsConfig", "SigmaClippedStatsTask", "SimpleStatsTask"]


def __getattr__(name: str) -> Any:
    if name in ("SigmaClippedStatsConfig", "SigmaClippedStatsTask"):
        from . import sigma_clipped

        return getattr(sigma_clipped, name)
    if name in ("SimpleStatsConfig", "SimpleStatsTask"):
        from . import simple

        return getattr(simple, name)
    raise AttributeError(f"module 'pipetask_stats' has no attribute {name!r}")
