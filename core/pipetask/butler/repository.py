"""One data repository on disk: ``repo.toml``, the registry and the dataset files.

``repo.toml`` is small::

    # pipetask data repository
    format = 1
    camera = "test"
    parents = ["../input"]      # relative to this repository

Writing a dataset (``write``) keeps the registry and the files in step even if the process
is killed at any moment:

1. a ``pending`` row records the final and temporary paths (committed);
2. the object is written to the temporary name (same directory, same extension) and fsynced;
3. one transaction inserts the dataset row, deletes the pending row, renames the temporary
   file to its final name, and commits.

When a repository is opened for writing, pending rows left by dead processes are resolved:
a temporary file still present means the rename never happened (the file and the row are
dropped); otherwise the final file is complete and the row is registered.
"""

from __future__ import annotations

import contextlib
import os
import time
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..errors import ButlerError
from . import atomic
from .registry import FILENAME, Registry

CONFIG_NAME = "repo.toml"
FORMAT_VERSION = 1
#: Pending writes of other hosts older than this are treated as abandoned.
STALE_SECONDS = 24 * 3600


def checkPathEncoding(path: str | Path) -> None:
    """Refuse a repository path that is not valid UTF-8 (the registry and records need it)."""
    text = os.fspath(path)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        shown = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        raise ButlerError(
            f"repository path '{shown}' is not valid UTF-8: rename it (pipetask stores "
            "repository paths as UTF-8 text)"
        ) from None


def isRepository(root: str | Path) -> bool:
    """Whether ``root`` holds a ``repo.toml``."""
    return (Path(root) / CONFIG_NAME).is_file()


def readRepoConfig(root: str | Path) -> dict[str, Any]:
    """The parsed ``repo.toml`` of ``root`` (errors name the file)."""
    root = Path(root)
    path = root / CONFIG_NAME
    if not root.exists():
        raise ButlerError(f"repository {str(root)!r} does not exist")
    if not path.is_file():
        raise ButlerError(f"{str(root)!r} is not a pipetask repository (no {CONFIG_NAME})")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ButlerError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ButlerError(f"cannot read {path}: {exc.strerror or exc}") from None
    camera = data.get("camera")
    parents = data.get("parents", [])
    if not isinstance(camera, str) or not camera:
        raise ButlerError(f"{path}: 'camera' must name the repository's camera")
    if not isinstance(parents, list) or not all(isinstance(p, str) for p in parents):
        raise ButlerError(f"{path}: 'parents' must be a list of paths")
    return {"camera": camera, "parents": parents, "format": data.get("format", FORMAT_VERSION)}


def _repoConfigText(root: Path, camera: str, parents: list[str]) -> str:
    import json

    relative = [os.path.relpath(Path(p).resolve(), root.resolve()) for p in parents]
    lines = [
        "# pipetask data repository",
        f"format = {FORMAT_VERSION}",
        f"camera = {json.dumps(camera)}",
        f"parents = [{', '.join(json.dumps(p) for p in relative)}]",
        "",
    ]
    return "\n".join(lines)


def writeRepoConfig(root: str | Path, camera: str, parents: list[str]) -> None:
    """Write ``repo.toml`` (atomically); parent paths are stored relative to ``root``."""
    root = Path(root)
    atomic.writeTextAtomic(root / CONFIG_NAME, _repoConfigText(root, camera, parents))


class RepositoryExistsError(ButlerError):
    """The directory is a repository already (perhaps made a moment ago by another process)."""


class Repository:
    """A repository directory and its registry.

    Parameters
    ----------
    root : str or Path
        The repository directory (must hold ``repo.toml``).
    keys : mapping of str to type
        The camera's data-ID keys.
    writable : bool
        Open the registry for writing (and recover interrupted writes).
    """

    def __init__(self, root: str | Path, keys: Mapping[str, type], writable: bool) -> None:
        checkPathEncoding(root)
        self.root = Path(root).resolve()
        info = readRepoConfig(self.root)
        self.cameraName: str = info["camera"]
        self.parentPaths = [(self.root / p).resolve() for p in info["parents"]]
        self.writable = writable
        registry = self.root / FILENAME
        if not registry.is_file():
            # Repository.create makes the registry before repo.toml: this one is damaged.
            what = "is not a file" if os.path.lexists(registry) else "is missing"
            raise ButlerError(
                f"{str(self.root)!r} is a damaged repository: its registry {FILENAME} {what}"
            )
        self.registry = Registry(
            str(self.root / FILENAME), keys, self.cameraName, readonly=not writable
        )
        if writable:
            self.recover()

    def __repr__(self) -> str:
        return f"Repository({str(self.root)!r})"

    @staticmethod
    def create(
        root: str | Path,
        camera: str,
        parents: list[str] | None = None,
        keys: Mapping[str, type] | None = None,
    ) -> None:
        """Make ``root`` a repository of ``camera`` (it may exist and hold other files).

        ``keys`` are the camera's data-ID keys (looked up from ``camera`` if not given).
        Raises :class:`RepositoryExistsError` if ``root`` is a repository already, also
        when another process made it at the same moment (``repo.toml`` is never replaced).
        """
        root = Path(root)
        checkPathEncoding(root)
        if isRepository(root):
            raise RepositoryExistsError(f"{str(root)!r} is already a repository")
        if root.exists() and not root.is_dir():
            raise ButlerError(f"{str(root)!r} exists and is not a directory")
        root.mkdir(parents=True, exist_ok=True)
        if keys is None:
            from .camera import loadCamera

            keys = loadCamera(camera).keys
        # The registry exists before repo.toml makes the directory a repository, so an
        # opened repository whose registry lacks its tables is damaged, never half-made.
        registry = Registry(str(root / FILENAME), keys, camera, create=True)
        try:
            _ = registry.conn  # connecting creates the tables
        finally:
            registry.close()
        for name in (FILENAME, f"{FILENAME}-journal"):  # SQLite makes them 0644
            if os.path.exists(root / name):
                atomic.applyUmask(root / name)
        text = _repoConfigText(root, camera, list(parents or []))
        if not atomic.writeTextNew(root / CONFIG_NAME, text):
            raise RepositoryExistsError(f"{str(root)!r} is already a repository")

    def absolute(self, relative: str) -> Path:
        """Absolute path of a dataset path relative to the repository root."""
        return self.root / relative

    # -- writes --------------------------------------------------------------------------
    def write(
        self,
        datasetType: str,
        dataId: Mapping[str, Any],
        relative: str,
        writer: Callable[[str], None],
        doBackup: bool = False,
        replace: bool = True,
    ) -> Path:
        """Write one dataset atomically and register it (see the module docstring).

        ``writer(tmpPath)`` creates the file. With ``doBackup`` an existing file is first
        kept as ``<name>~1`` (newest backup). Without ``replace`` a dataset registered
        already (by this or another process, even at the same moment) is kept and
        :class:`~pipetask.butler.registry.DuplicateDatasetError` raised, leaving nothing
        behind. Returns the final path.
        """
        if not self.writable:
            raise ButlerError(f"repository {str(self.root)!r} is open read-only")
        final = self.absolute(relative)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = atomic.tempPath(final)
        pendingId = self.registry.addPending(datasetType, dataId, relative, tmp, atomic.owner())
        try:
            _writeAt(tmp, writer)
            if doBackup:
                atomic.backup(final)
            self.registry.completePending(
                pendingId,
                datasetType,
                dataId,
                relative,
                lambda: atomic.replace(tmp, final),
                replace=replace,
            )
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            with contextlib.suppress(Exception):
                self.registry.dropPending(pendingId)
            raise
        return final

    # -- recovery ------------------------------------------------------------------------
    def recover(self) -> list[str]:
        """Resolve writes interrupted by dead processes; returns what was done, per path.

        Each pending row is resolved under the registry's write lock, so processes
        recovering at the same moment resolve each row once.
        """
        done: list[str] = []
        for pendingId, _, _, _, _, ownerText, created in self.registry.pendingRows():
            if atomic.ownerIsDead(ownerText) or time.time() - created > STALE_SECONDS:
                what = self.registry.resolvePending(pendingId, self._resolve)
                if what:
                    done.append(what)
        return done

    def recoverAtShutdown(self, attempts: int = 3, pause: float = 0.1) -> int:
        """At the end of a run (under its lock, its workers ended): resolve the pending
        rows the run's dead or finished processes left, retrying while the disk is full
        (each resolved row removes its temporary file, which frees space); returns how many
        pending rows remain (0 unless the disk stays full)."""
        import sqlite3

        for attempt in range(attempts):
            try:
                self.recover()
            except (OSError, sqlite3.Error, ButlerError):
                if attempt + 1 < attempts:
                    time.sleep(pause)
                continue
            break
        return sum(1 for row in self.registry.pendingRows() if atomic.ownerIsDead(row[5]))

    def _resolve(self, relative: str, tmp: str) -> str:
        """Put the files of an abandoned write in order; says whether to register it.

        A write recorded without a temporary name (by a run's main process for a worker)
        may have left temporary files of dead writers beside the final one: removed."""
        if not tmp:
            atomic.removeDeadTemporaries(self.absolute(relative))
        if tmp and os.path.lexists(tmp):
            os.unlink(tmp)
            return f"removed unfinished {relative}"
        if os.path.lexists(self.absolute(relative)):
            return f"registered {relative}"
        return f"dropped empty write of {relative}"


def _writeAt(tmp: str, writer: Callable[[str], None]) -> None:
    writer(tmp)
    if not os.path.lexists(tmp):
        raise ButlerError(f"the storage format did not write {tmp}")
    if not os.path.islink(tmp):
        atomic.fsyncFile(tmp)
