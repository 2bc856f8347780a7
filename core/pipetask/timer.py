"""``timeMethod``: record wall time, CPU time and peak memory of a method in metadata."""

from __future__ import annotations

import functools
import logging
import resource
import sys
import time
from collections.abc import Callable, MutableMapping
from datetime import UTC, datetime
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

# ru_maxrss is in KiB on Linux and in bytes on macOS.
_RSS_UNIT = 1 if sys.platform == "darwin" else 1024


def recordResources(metadata: MutableMapping[str, Any], prefix: str) -> None:
    """Write ``<prefix>Utc``, ``WallTime``, ``CpuTime``, ``UserTime``, ``SystemTime`` and
    ``MaxResidentSetSize`` (bytes, the process's peak so far) into ``metadata``."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    metadata[prefix + "Utc"] = datetime.now(UTC).isoformat()
    metadata[prefix + "WallTime"] = time.perf_counter()
    metadata[prefix + "CpuTime"] = time.process_time()
    metadata[prefix + "UserTime"] = usage.ru_utime
    metadata[prefix + "SystemTime"] = usage.ru_stime
    metadata[prefix + "MaxResidentSetSize"] = usage.ru_maxrss * _RSS_UNIT


_LOGGED = ("Utc", "WallTime", "CpuTime", "UserTime", "SystemTime", "MaxResidentSetSize")


def logResources(log: Any, metadata: MutableMapping[str, Any], prefix: str) -> None:
    """Log the items :func:`recordResources` wrote, at DEBUG, as ``key=value; key=value``
    (as the original did); nothing is formatted unless DEBUG is enabled for ``log``."""
    if log is None or not log.isEnabledFor(logging.DEBUG):
        return
    log.debug("; ".join(f"{prefix}{k}={metadata[prefix + k]}" for k in _LOGGED))


def timeMethod(func: F) -> F:
    """Decorate a task method to record its resource use in ``self.metadata``.

    Items ``<method>Start*`` and ``<method>End*`` are written (see :func:`recordResources`)
    and ``<method>Duration`` holds the wall time in seconds, even when the method raises.
    With the task's logger at DEBUG, both sets and the duration are logged too.
    """

    @functools.wraps(func)
    def wrapper(self, *args: Any, **kwargs: Any) -> Any:
        name = func.__name__
        metadata = self.metadata
        log = getattr(self, "log", None)
        recordResources(metadata, name + "Start")
        logResources(log, metadata, name + "Start")
        try:
            return func(self, *args, **kwargs)
        finally:
            recordResources(metadata, name + "End")
            metadata[name + "Duration"] = (
                metadata[name + "EndWallTime"] - metadata[name + "StartWallTime"]
            )
            logResources(log, metadata, name + "End")
            if log is not None and log.isEnabledFor(logging.DEBUG):
                log.debug("%sDuration=%.6f s", name, metadata[name + "Duration"])

    return wrapper  # type: ignore[return-value]
