"""``--profile FILE``: a cProfile of a run's processing loop."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator

log = logging.getLogger("pipetask")


@contextlib.contextmanager
def profiling(path: str | None) -> Iterator[None]:
    """Profile the block with cProfile and write the statistics to ``path`` (if given).

    Only this process is profiled (with ``-j N`` the workers are not, as in the original).
    The file is written atomically, also when the block raises; ``python -m pstats FILE``
    reads it.
    """
    if not path:
        yield
        return
    import cProfile

    from .butler.atomic import writeAtomic

    profiler = cProfile.Profile()
    profiler.enable()
    try:
        yield
    finally:
        profiler.disable()
        try:
            writeAtomic(os.path.abspath(path), profiler.dump_stats)
            log.info("profile of the processing loop written to %s", path)
        except OSError as exc:
            log.error("--profile %s: cannot write the profile: %s", path, exc.strerror or exc)
