"""One writing run per output repository at a time."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator

from .errors import ButlerError

LOCK_NAME = ".pipetask-run.lock"


@contextlib.contextmanager
def outputLock(outputRoot: str) -> Iterator[None]:
    """Hold the run lock of ``outputRoot``; refuse at once if another run holds it.

    The lock is an ``flock`` on a file in the repository, released by the kernel when the
    holding process ends, however it ends.
    """
    os.makedirs(outputRoot, exist_ok=True)
    path = os.path.join(outputRoot, LOCK_NAME)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            raise ButlerError(
                f"another pipetask run (pid {holder}) is writing to {outputRoot}; "
                f"wait for it to finish or use another --output"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)
