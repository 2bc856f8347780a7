"""``lsstDebug``: the LSST debug-variable module, so an LSST ``debug.py`` runs unchanged.

The talk's file works as written with ``pipetask run ... --debug``::

    import lsstDebug

    def DebugInfo(name):
        di = lsstDebug.getInfo(name)  # lsstDebug.Info(name) would call us recursively
        if name == "lsst.pipe.tasks.exampleCmdLineTask":
            di.display = 1
        return di

    lsstDebug.Info = DebugInfo

Everything here is :mod:`pipetask.debug`: ``getInfo`` is its ``getInfo`` and assigning
``lsstDebug.Info`` replaces ``pipetask.debug.Info``, which tasks consult. A task is asked
by its full name (``exampleTask``), its module and the LSST module it stands for.
"""

from __future__ import annotations

import sys
import types
from typing import Any

from pipetask import debug as _debug

getInfo = _debug.getInfo


def getDebugFrame(debugDisplay: Any, name: str) -> Any:
    """``debugDisplay[name]`` when ``debugDisplay`` is a container holding ``name``, else None."""
    try:
        found = name in debugDisplay
    except TypeError:  # not a container
        return None
    return debugDisplay[name] if found else None


class _Module(types.ModuleType):
    """Makes ``lsstDebug.Info`` read and write ``pipetask.debug.Info``."""

    @property
    def Info(self) -> Any:  # noqa: N802 - LSST name
        return _debug.Info

    @Info.setter
    def Info(self, value: Any) -> None:  # noqa: N802 - LSST name
        _debug.Info = value


sys.modules[__name__].__class__ = _Module
