"""Ingest: register existing files (raws) in a repository, creating it if needed.

Each file is identified by the camera's ingest rules (name and header -> data ID), checked
(readable, not truncated), and copied, linked (symbolic link) or moved to its templated
path through the crash-safe write of :class:`~pipetask.butler.repository.Repository`.
Files that cannot be used are skipped with a status and a reason:

``ingested``      registered;
``duplicate``     the repository already holds that dataset type and data ID;
``bad``           missing, unreadable, truncated or corrupt;
``unidentified``  the camera's rules cannot tell its data ID.
"""

from __future__ import annotations

import gzip
import os
import shutil
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..dataid import formatDataId
from ..errors import ButlerError, DataIdError
from .camera import BadFile, Camera, UnidentifiedFile, loadCamera
from .repository import Repository, isRepository, readRepoConfig

MODES = ("copy", "link", "move")
STATUSES = ("ingested", "duplicate", "bad", "unidentified")
_GZIP_MAGIC = b"\x1f\x8b"


@dataclass
class IngestResult:
    """What happened to one file."""

    source: str
    status: str
    detail: str = ""
    datasetType: str = ""
    dataId: dict[str, Any] = field(default_factory=dict)
    path: str = ""

    def line(self) -> str:
        """One report line: status, file, and what or why."""
        if self.status == "ingested":
            what = f"-> {self.path} {formatDataId(self.dataId)}"
            return f"{self.status:<13} {self.source} {what}"
        return f"{self.status:<13} {self.source}: {self.detail}"


def expandFiles(paths: Iterable[str | Path]) -> Iterator[str]:
    """The files named, with directories replaced by the files under them (sorted)."""
    for path in paths:
        path = str(path)
        if os.path.isdir(path):
            for dirpath, dirnames, filenames in os.walk(path):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                for name in sorted(filenames):
                    if not name.startswith("."):
                        yield os.path.join(dirpath, name)
        else:
            yield path


def _isGzip(path: str) -> bool:
    with open(path, "rb") as stream:
        return stream.read(2) == _GZIP_MAGIC


def _transfer(source: str, mode: str, wantGzip: bool) -> Callable[[str], None]:
    """A writer putting ``source`` at a temporary path by ``mode`` (converting gzip if copying)."""
    isGzip = _isGzip(source)
    if isGzip != wantGzip and mode != "copy":
        need = "gzip-compressed" if wantGzip else "uncompressed"
        raise BadFile(f"the repository stores this dataset {need}; use --mode copy to convert")

    def write(tmp: str) -> None:
        if mode == "link":
            os.symlink(os.path.abspath(source), tmp)
        elif mode == "move" or isGzip == wantGzip:
            if mode == "move":
                try:
                    os.link(source, tmp)  # same file system: no copy, source kept until commit
                    return
                except OSError:
                    pass
            shutil.copyfile(source, tmp)
        elif wantGzip:
            with open(source, "rb") as src, gzip.open(tmp, "wb", compresslevel=6) as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
        else:
            with gzip.open(source, "rb") as src, open(tmp, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)

    return write


def openForIngest(root: str | Path, cameraName: str | None) -> tuple[Repository, Camera, bool]:
    """The repository at ``root`` (created if missing), its camera, and whether it was new."""
    root = Path(root)
    created = False
    if isRepository(root):
        existing = readRepoConfig(root)["camera"]
        if cameraName is not None and cameraName != existing:
            raise ButlerError(
                f"repository {str(root)!r} is for camera {existing!r}, not {cameraName!r}"
            )
        cameraName = existing
    else:
        if cameraName is None:
            raise ButlerError(f"{str(root)!r} is not a repository yet: name its camera")
        if root.exists() and (not root.is_dir() or any(root.iterdir())):
            raise ButlerError(f"{str(root)!r} exists and is not an empty directory or a repository")
        camera = loadCamera(cameraName)  # fail before creating anything
        Repository.create(root, cameraName)
        created = True
    camera = loadCamera(cameraName)
    return Repository(root, camera.keys, writable=True), camera, created


def ingestFile(
    repo: Repository, camera: Camera, source: str, mode: str = "copy", verify: bool = True
) -> IngestResult:
    """Ingest one file; never raises for a problem with the file itself."""
    if not os.path.exists(source):
        return IngestResult(source, "bad", "no such file")
    if not os.path.isfile(source):
        return IngestResult(source, "bad", "not a regular file")
    try:
        datasetType, dataId = camera.identify(source)
        dsType = camera.datasetType(datasetType)
        assert dsType is not None
        relative = dsType.path(dataId)
    except UnidentifiedFile as exc:
        return IngestResult(source, "unidentified", str(exc))
    except BadFile as exc:
        return IngestResult(source, "bad", str(exc))
    except DataIdError as exc:
        return IngestResult(source, "unidentified", str(exc))
    except OSError as exc:
        return IngestResult(source, "bad", f"cannot read: {exc.strerror or exc}")
    result = IngestResult(source, "duplicate", "", datasetType, dataId, relative)
    if repo.registry.hasPath(relative):
        result.detail = (
            f"{datasetType} {formatDataId(dataId)} is already in the repository ({relative})"
        )
        return result
    try:
        if verify:
            camera.verifyFile(source)
        writer = _transfer(source, mode, relative.endswith(".gz"))
        repo.write(datasetType, dataId, relative, writer)
    except BadFile as exc:
        result.status, result.detail = "bad", str(exc)
        return result
    except OSError as exc:
        result.status, result.detail = "bad", f"cannot copy: {exc.strerror or exc}"
        return result
    if mode == "move" and os.path.abspath(source) != str(repo.absolute(relative)):
        os.unlink(source)
    result.status = "ingested"
    return result


def ingest(
    root: str | Path,
    files: Iterable[str | Path],
    camera: str | None = None,
    mode: str = "copy",
    verify: bool = True,
    report: Callable[[IngestResult], None] | None = None,
) -> list[IngestResult]:
    """Ingest ``files`` (directories are searched) into the repository ``root``.

    Parameters
    ----------
    root : str or Path
        The repository; created when missing (then ``camera`` is required).
    files : iterable of paths
        Files or directories.
    camera : str, optional
        Camera name; checked against an existing repository's.
    mode : {"copy", "link", "move"}
        How files get into the repository (``link`` makes symbolic links).
    verify : bool
        Read each file through to reject truncated or corrupt ones.
    report : callable, optional
        Called with each :class:`IngestResult` as soon as it is known.
    """
    if mode not in MODES:
        raise ButlerError(f"unknown ingest mode {mode!r}; choose from {', '.join(MODES)}")
    repo, cam, _ = openForIngest(root, camera)
    results = []
    try:
        for source in expandFiles(files):
            result = ingestFile(repo, cam, source, mode, verify)
            results.append(result)
            if report is not None:
                report(result)
    finally:
        repo.registry.close()
    return results
