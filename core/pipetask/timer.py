"""``timeMethod``: record wall time, CPU time and peak memory of a method in metadata."""

from __future__ import annotations

import functools
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


def timeMethod(func: F) -> F:
    """Decorate a task method to record its resource use in ``self.metadata``.

    Items ``<method>Start*`` and ``<method>End*`` are written (see :func:`recordResources`)
    and ``<method>Duration`` holds the wall time in seconds, even when the method raises.
    """

    @functools.wraps(func)
    def wrapper(self, *args: Any, **kwargs: Any) -> Any:
        name = func.__name__
        metadata = self.metadata
        recordResources(metadata, name + "Start")
        try:
            return func(self, *args, **kwargs)
        finally:
            recordResources(metadata, name + "End")
            metadata[name + "Duration"] = (
                metadata[name + "EndWallTime"] - metadata[name + "StartWallTime"]
            )

    return wrapper  # type: ignore[return-value]
