"""One writing run per output repository at a time.

The lock is an ``flock`` on ``.pipetask-run.lock`` in the output directory, released by
the kernel when the holding process ends, however it ends. Worker processes never hold
it: the descriptor is closed in every forked child and not passed to spawned ones, so a
run that dies releases its output at once. The file names its holder (``pid host``)
while the lock is held and is removed when the run ends normally: a name found there by
the next run is that of a run that was killed, and the next run says that it takes over.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from collections.abc import Iterator

from .errors import ButlerError, osErrorLine
from .execution import lifeline

LOCK_NAME = ".pipetask-run.lock"

log = logging.getLogger("pipetask")


def _holderText() -> str:
    return f"{os.getpid()} {socket.gethostname()}"


def _alive(holder: str) -> bool | None:
    """Whether the ``pid host`` named ``holder`` runs (None: another host, unknown)."""
    pid, _, host = holder.partition(" ")
    if host and host != socket.gethostname():
        return None
    try:
        os.kill(int(pid), 0)
    except (ValueError, OverflowError):
        return None
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _holdersOf(path: str) -> list[int]:
    """Pids of this host's processes with ``path`` open (Linux ``/proc``; else none)."""
    pids = []
    target = os.stat(path)
    with contextlib.suppress(OSError):
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            with contextlib.suppress(OSError):
                for fd in os.scandir(f"/proc/{entry.name}/fd"):
                    with contextlib.suppress(OSError):
                        st = os.stat(fd.path)
                        if (st.st_dev, st.st_ino) == (target.st_dev, target.st_ino):
                            pids.append(int(entry.name))
                            break
    return pids


def _refusal(outputRoot: str, path: str, holder: str) -> ButlerError:
    alive = _alive(holder) if holder else None
    if alive is False:
        pids = ", ".join(str(p) for p in _holdersOf(path)) or "unknown"
        return ButlerError(
            f"the run lock of {outputRoot} is still held by process(es) {pids}, left over "
            f"from run pid {holder.split()[0]}, which is dead; end them and run again"
        )
    return ButlerError(
        f"another pipetask run (pid {holder or 'unknown'}) is writing to {outputRoot}; "
        f"wait for it to finish or use another --output"
    )


@contextlib.contextmanager
def outputLock(outputRoot: str) -> Iterator[None]:
    """Hold the run lock of ``outputRoot``; refuse at once if another run holds it.

    Creates ``outputRoot`` when needed; a directory created here that is still empty
    when the ``with`` block ends (a set-up error, no data) is removed again.
    """
    created = not os.path.isdir(outputRoot)
    try:
        os.makedirs(outputRoot, exist_ok=True)  # another run may create it at this moment
    except FileExistsError:
        raise ButlerError(f"output {outputRoot!r} exists and is not a directory") from None
    except OSError as exc:
        raise ButlerError(f"cannot create the output repository: {osErrorLine(exc)}") from None
    path = os.path.join(outputRoot, LOCK_NAME)
    fd = None
    try:
        fd = _acquire(outputRoot, path)
        yield
    finally:
        if fd is not None:
            _release(fd, path)
        if created:
            with contextlib.suppress(OSError):
                os.rmdir(outputRoot)  # only if empty: a set-up error or nothing to do


def _release(fd: int, path: str) -> None:
    # Removed while still locked: a run that opened it meanwhile sees that the file it
    # locked is no longer the lock file, and tries again.
    with contextlib.suppress(OSError):
        os.ftruncate(fd, 0)
    with contextlib.suppress(OSError):
        os.unlink(path)
    lifeline.keepInChild(fd)
    os.close(fd)


def _acquire(outputRoot: str, path: str) -> int:
    """The descriptor of the locked lock file (the file still at ``path``)."""
    import fcntl

    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        except OSError as exc:
            raise ButlerError(f"cannot create the run lock: {osErrorLine(exc)}") from None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.pread(fd, 256, 0).decode(errors="replace").strip()
                os.close(fd)
                raise _refusal(outputRoot, path, holder) from None
            try:
                same = os.fstat(fd).st_ino == os.stat(path).st_ino
            except FileNotFoundError:
                same = False
            if not same:  # removed by a run that gave up while we opened it: try again
                os.close(fd)
                continue
            previous = os.pread(fd, 256, 0).decode(errors="replace").strip()
            if previous:
                log.warning(
                    "taking over the run lock of %s from run pid %s, which ended without "
                    "releasing it (killed?); its record shows what it did not finish",
                    outputRoot,
                    previous.split()[0],
                )
            try:
                os.ftruncate(fd, 0)
                os.pwrite(fd, _holderText().encode(), 0)
            except OSError as exc:
                _release(fd, path)
                raise ButlerError(f"cannot write the run lock: {exc.strerror}: {path!r}") from None
            lifeline.closeInChild(fd)
            return fd
        except ButlerError:
            raise
        except BaseException:
            with contextlib.suppress(OSError):
                os.close(fd)
            raise
