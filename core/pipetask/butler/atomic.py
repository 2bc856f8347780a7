"""Atomic file writes: a temporary name in the final directory, fsync, then rename.

Temporary names keep the final name and extension (``.tmp-<owner>-<random>-raw.fits.gz``)
so that writers that choose compression by extension still work, and start with ``.`` so
that they are never mistaken for datasets. ``<owner>`` names the host and process, which
lets a later process tell leftovers of a dead writer from files a live one is writing.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
from collections.abc import Callable
from pathlib import Path

TMP_PREFIX = ".tmp-"
#: Environment variable that turns on fsync of every write (survives power loss).
FSYNC_VARIABLE = "PIPETASK_FSYNC"


def durable() -> bool:
    """Whether writes are flushed to disk before they count (``PIPETASK_FSYNC=1``).

    Without it, writes are still atomic: a killed process never leaves a partial dataset
    or a registry row without its file. With it, they also survive a power cut, at the
    cost of a few milliseconds per write.
    """
    return os.environ.get(FSYNC_VARIABLE, "").lower() in ("1", "true", "yes")


def owner() -> str:
    """``host.pid`` of this process, as recorded in temporary names and pending rows."""
    host = socket.gethostname().split(".")[0].replace("-", "_") or "host"
    return f"{host}.{os.getpid()}"


def ownerIsDead(ownerText: str) -> bool:
    """Whether ``ownerText`` names a process of this host that no longer exists."""
    host, _, pid = ownerText.rpartition(".")
    if host != owner().rpartition(".")[0] or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def fileMode() -> int:
    """The mode a new file gets under this process's umask (``0o666 & ~umask``)."""
    mask = os.umask(0o022)  # reading the umask means setting it; put it straight back
    os.umask(mask)
    return 0o666 & ~mask


def applyUmask(path: str | Path) -> None:
    """Give ``path`` the mode a new file gets under the umask (for files made by
    libraries that choose a fixed mode, such as ``tempfile.mkstemp``'s 0600)."""
    os.chmod(path, fileMode())


def tempPath(path: str | Path) -> str:
    """A fresh temporary path beside ``path`` that keeps its name and extension."""
    path = Path(path)
    return str(path.with_name(f"{TMP_PREFIX}{owner()}-{secrets.token_hex(4)}-{path.name}"))


def removeDeadTemporaries(path: str | Path) -> list[str]:
    """Remove the temporary files beside ``path`` (named by :func:`tempPath`) whose
    writing process is dead; returns their paths."""
    import glob

    path = Path(path)
    removed = []
    pattern = f"{glob.escape(str(path.parent))}/{TMP_PREFIX}*-{glob.escape(path.name)}"
    for tmp in glob.glob(pattern):
        ownerText = os.path.basename(tmp)[len(TMP_PREFIX) :].split("-", 1)[0]
        if ownerIsDead(ownerText):
            with contextlib.suppress(OSError):  # gone already, or a read-only disk
                os.unlink(tmp)
                removed.append(tmp)
    return removed


def fsyncFile(path: str | Path) -> None:
    """Flush a written file's data to disk (only when :func:`durable`)."""
    if not durable():
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsyncDir(path: str | Path) -> None:
    """Flush a directory entry change (a rename) to disk (only when :func:`durable`)."""
    if not durable():
        return
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def writeTemp(path: str | Path, writer: Callable[[str], None]) -> str:
    """Create ``path``'s directory, call ``writer(tmp)`` and fsync ``tmp``; return ``tmp``.

    On any failure the temporary file is removed and the error re-raised.
    """
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    tmp = tempPath(path)
    try:
        writer(tmp)
        if not os.path.lexists(tmp):
            raise OSError(f"the writer did not create {tmp}")
        if not os.path.islink(tmp):
            fsyncFile(tmp)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return tmp


def replace(tmp: str | Path, path: str | Path) -> None:
    """Rename ``tmp`` over ``path`` and flush the directory."""
    os.replace(tmp, path)
    fsyncDir(Path(path).parent)


def writeAtomic(path: str | Path, writer: Callable[[str], None]) -> None:
    """Write ``path`` through a temporary file: readers see the old file or the new one."""
    replace(writeTemp(path, writer), path)


def writeTextAtomic(path: str | Path, text: str) -> None:
    """Atomically write ``text`` (UTF-8) to ``path``."""

    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as stream:
            stream.write(text)

    writeAtomic(path, write)


def writeTextNew(path: str | Path, text: str) -> bool:
    """Write ``text`` to ``path`` only if it does not exist; False if it did.

    The text is written under a temporary name and hard-linked to ``path``: readers never
    see a partial file, and of several processes creating ``path`` at once one wins.
    """

    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as stream:
            stream.write(text)

    tmp = writeTemp(path, write)
    try:
        os.link(tmp, path)
    except FileExistsError:
        return False
    finally:
        os.unlink(tmp)
    fsyncDir(Path(path).parent)
    return True


def backup(path: str | Path) -> str | None:
    """Keep the current ``path`` as ``path~1`` (newest), shifting older backups up.

    Returns the backup's path, or None if ``path`` does not exist.
    """
    path = str(path)
    if not os.path.exists(path):
        return None
    n = 1
    while os.path.exists(f"{path}~{n}"):
        n += 1
    for i in range(n - 1, 0, -1):
        os.replace(f"{path}~{i}", f"{path}~{i + 1}")

    def copy(tmp: str) -> None:
        with open(path, "rb") as src, open(tmp, "wb") as dst:
            dst.write(src.read())

    writeAtomic(f"{path}~1", copy)
    return f"{path}~1"
