"""pipetask-isr: instrument signature removal and master calibrations.

``isrTask`` (overscan, assembly, gain, saturation, bias, flat, defects, variance,
interpolation) writes ``postISRCCD``; ``makeBias`` and ``makeFlat`` combine frames into
master calibrations; :class:`Defects` is the bad-pixel list calibration.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: importing typing costs `pipetask list` start-up
if TYPE_CHECKING:
    from typing import Any

_WHERE = {
    "IsrTask": "isr_task",
    "IsrTaskConfig": "isr_task",
    "OverscanTask": "overscan",
    "OverscanConfig": "overscan",
    "AssembleCcdTask": "assemble",
    "AssembleCcdConfig": "assemble",
    "Defects": "defects",
    "MakeBiasTask": "calib_tasks",
    "MakeFlatTask": "calib_tasks",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'pipetask_isr' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
