"""Worker processes end when the process that started them dies, however it dies.

A worker calls :func:`dieWithParent` once at start. On Linux the kernel then sends it
SIGTERM the moment its parent ends (``prctl(PR_SET_PDEATHSIG)``); everywhere, a small
thread also watches the parent's pid and does the same. SIGTERM lets the worker unwind
(writes in progress remove their temporary files); a worker that has not ended
:data:`GRACE_SECONDS` later is ended at once.

:func:`closeInChild` names file descriptors that a forked child must not keep: the
parent's ends of other workers' pipes (a worker holding them would keep its siblings
from ever seeing end-of-file) and the run lock (a worker holding it would keep the
output locked after the run died).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time

#: Seconds a worker whose parent died has to unwind before it ends at once.
GRACE_SECONDS = 3.0
#: Seconds between two looks at the parent's pid.
WATCH_SECONDS = 0.5
_PR_SET_PDEATHSIG = 1

_closeInChild: set[int] = set()


def closeInChild(fd: int) -> None:
    """Close ``fd`` in every child forked from now on (until :func:`keepInChild`)."""
    _closeInChild.add(fd)


def keepInChild(fd: int) -> None:
    """Forget ``fd`` (it was closed in this process)."""
    _closeInChild.discard(fd)


def _afterFork() -> None:
    for fd in list(_closeInChild):
        with contextlib.suppress(OSError):
            os.close(fd)
    _closeInChild.clear()


os.register_at_fork(after_in_child=_afterFork)


def _parentDeathSignal(signum: int) -> bool:
    """Ask the Linux kernel for ``signum`` when the parent ends; whether it was set."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return libc.prctl(_PR_SET_PDEATHSIG, signum, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def dieWithParent(parentPid: int) -> None:
    """End this process (SIGTERM, then at once) when process ``parentPid`` ends."""
    _parentDeathSignal(signal.SIGTERM)
    if os.getppid() != parentPid:  # the parent died before the kernel was told
        _end()
    thread = threading.Thread(
        target=_watch, args=(parentPid,), name="pipetask-lifeline", daemon=True
    )
    thread.start()


def _watch(parentPid: int) -> None:
    while os.getppid() == parentPid:
        time.sleep(WATCH_SECONDS)
    _end()


def _end() -> None:
    with contextlib.suppress(OSError):
        os.kill(os.getpid(), signal.SIGTERM)
    deadline = time.monotonic() + GRACE_SECONDS
    while time.monotonic() < deadline:
        time.sleep(0.05)
    os._exit(1)
