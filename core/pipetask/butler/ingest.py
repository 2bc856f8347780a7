"""Ingest: register existing files (raws) in a repository, creating it if needed.

Each file is identified by the camera's ingest rules (name and header -> data ID), checked
(readable, not truncated), and copied, linked (symbolic link) or moved to its templated
path through the crash-safe write of :class:`~pipetask.butler.repository.Repository`.
Files that cannot be used are skipped with a status and a reason:

``ingested``      registered;
``duplicate``     the repository already holds that dataset type and data ID (the
                  result says whether the registered file has the same content);
``bad``           missing, unreadable, truncated or corrupt;
``unidentified``  the camera's rules cannot tell its data ID.

Several ingests may run into one repository at once (also creating it): the decision
that a data ID is new is taken inside the registry's write transaction, so each dataset
is registered exactly once, a registered file is never replaced, and ``move`` removes a
source only after its own registration won.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import shutil
import stat
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..dataid import formatDataId
from ..errors import ButlerError, DataIdError
from .atomic import TMP_PREFIX
from .camera import BadFile, Camera, UnidentifiedFile, loadCamera
from .registry import DuplicateDatasetError
from .repository import (
    Repository,
    RepositoryExistsError,
    checkPathEncoding,
    isRepository,
    readRepoConfig,
)

MODES = ("copy", "link", "move")
STATUSES = ("ingested", "duplicate", "bad", "unidentified")
_GZIP_MAGIC = b"\x1f\x8b"
_VANISHED = "no such file (it vanished during the ingest: moved away by another process?)"


@dataclass
class IngestResult:
    """What happened to one file."""

    source: str
    status: str
    detail: str = ""
    datasetType: str = ""
    dataId: dict[str, Any] = field(default_factory=dict)
    path: str = ""
    #: For a duplicate: the registered file holds the same data (nothing was lost).
    identical: bool = False

    def line(self) -> str:
        """One report line: status, file, and what or why."""
        source = printable(self.source)
        if self.status == "ingested":
            what = f"-> {self.path} {formatDataId(self.dataId)}"
            return f"{self.status:<13} {source} {what}"
        return f"{self.status:<13} {source}: {self.detail}"


def printable(path: str) -> str:
    """``path`` with bytes that are not UTF-8 shown as ``\\xNN`` escapes."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def expandFiles(paths: Iterable[str | Path], skip: str | Path | None = None) -> Iterator[str]:
    """The files named, with directories replaced by the files under them (sorted).

    The directory ``skip`` (the repository being ingested into) is not entered.
    """
    skipped = os.path.realpath(skip) if skip is not None else None
    for path in paths:
        path = str(path)
        if os.path.isdir(path):
            if skipped is not None and os.path.realpath(path) == skipped:
                continue
            for dirpath, dirnames, filenames in os.walk(path):
                dirnames[:] = sorted(
                    d
                    for d in dirnames
                    if not d.startswith(".")
                    and os.path.realpath(os.path.join(dirpath, d)) != skipped
                )
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
    """The repository at ``root`` (created if missing), its camera, and whether it was new.

    Several ingests may create the same repository at once: one creates it, the others
    use it.
    """
    root = Path(root)
    checkPathEncoding(root)
    created = False
    if not isRepository(root):
        if cameraName is None:
            raise ButlerError(f"{str(root)!r} is not a repository yet: name its camera")
        if root.exists() and (not root.is_dir() or _hasEntries(root)) and not isRepository(root):
            raise ButlerError(f"{str(root)!r} exists and is not an empty directory or a repository")
        loadCamera(cameraName)  # fail before creating anything
        try:
            Repository.create(root, cameraName)
            created = True
        except RepositoryExistsError:
            pass  # another ingest created it a moment ago
    existing = readRepoConfig(root)["camera"]
    if cameraName is not None and cameraName != existing:
        raise ButlerError(
            f"repository {str(root)!r} is for camera {existing!r}, not {cameraName!r}"
        )
    camera = loadCamera(existing)
    return Repository(root, camera.keys, writable=True), camera, created


def _hasEntries(directory: Path) -> bool:
    """Whether ``directory`` holds anything but the temporary files of a repository in the
    making (another ingest creating it at this moment)."""
    return any(not entry.name.startswith(TMP_PREFIX) for entry in directory.iterdir())


def ingestFile(
    repo: Repository, camera: Camera, source: str, mode: str = "copy", verify: bool = True
) -> IngestResult:
    """Ingest one file; never raises for a problem with the file itself."""
    try:
        identity = os.stat(source)
    except FileNotFoundError:
        return IngestResult(source, "bad", "no such file")
    except OSError as exc:
        return IngestResult(source, "bad", f"cannot read: {exc.strerror or exc}")
    if not stat.S_ISREG(identity.st_mode):
        return IngestResult(source, "bad", "not a regular file")
    try:
        datasetType, dataId = camera.identify(source)
        dsType = camera.datasetType(datasetType)
        assert dsType is not None
        relative = dsType.path(dataId)
    except UnidentifiedFile as exc:
        return IngestResult(source, "unidentified", str(exc))
    except DataIdError as exc:
        return IngestResult(source, "unidentified", str(exc))
    except (BadFile, OSError) as exc:
        if not os.path.lexists(source):
            return IngestResult(source, "bad", _VANISHED)
        detail = str(exc) if isinstance(exc, BadFile) else f"cannot read: {exc.strerror or exc}"
        return IngestResult(source, "bad", detail)
    result = IngestResult(source, "duplicate", "", datasetType, dataId, relative)
    if repo.registry.hasPath(relative):
        return _duplicate(result, repo, relative, identity)
    try:
        if verify:
            camera.verifyFile(source)
        writer = _transfer(source, mode, relative.endswith(".gz"))
        repo.write(datasetType, dataId, relative, writer, replace=False)
    except DuplicateDatasetError as exc:
        return _duplicate(result, repo, exc.path, identity)
    except (BadFile, OSError) as exc:
        if not os.path.lexists(source):  # moved away, by another ingest in the end?
            if repo.registry.hasPath(relative):
                return _duplicate(result, repo, relative, identity)
            result.status, result.detail = "bad", _VANISHED
        elif isinstance(exc, BadFile):
            result.status, result.detail = "bad", str(exc)
        else:
            result.status, result.detail = "bad", f"cannot copy: {exc.strerror or exc}"
        return result
    if mode == "move" and os.path.abspath(source) != str(repo.absolute(relative)):
        # Only now that this ingest's row won; another ingest may have removed it already.
        with contextlib.suppress(FileNotFoundError):
            os.unlink(source)
    result.status = "ingested"
    return result


def _duplicate(
    result: IngestResult, repo: Repository, registered: str, identity: os.stat_result
) -> IngestResult:
    """``result`` as a duplicate of the dataset registered at ``registered``."""
    result.identical = _sameData(result.source, identity, repo.absolute(registered))
    same = "identical" if result.identical else "with other content"
    result.detail = (
        f"{result.datasetType} {formatDataId(result.dataId)} is already in the repository "
        f"({registered}, {same})"
    )
    return result


def _sameData(source: str, identity: os.stat_result, stored: Path) -> bool:
    """Whether ``stored`` holds the data of ``source`` (the same file, a link to it, or the
    same bytes once any gzip compression is undone). ``identity`` is ``source``'s stat
    from before any move."""
    try:
        target = os.stat(stored)
        if (target.st_dev, target.st_ino) == (identity.st_dev, identity.st_ino):
            return True
        with _openData(source) as a, _openData(str(stored)) as b:
            while True:
                chunkA, chunkB = a.read(1 << 20), b.read(1 << 20)
                if chunkA != chunkB:
                    return False
                if not chunkA:
                    return True
    except (OSError, EOFError, gzip.BadGzipFile):
        return False


def _openData(path: str) -> Any:
    return gzip.open(path, "rb") if _isGzip(path) else open(path, "rb")


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
        for source in expandFiles(files, skip=repo.root):
            result = ingestFile(repo, cam, source, mode, verify)
            results.append(result)
            if report is not None:
                report(result)
    finally:
        repo.registry.close()
    return results
