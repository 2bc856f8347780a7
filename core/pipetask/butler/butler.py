"""The Butler: reads and writes datasets by type and data ID across chained repositories.

``Butler(repo)`` reads and writes ``repo``. ``Butler(repo, output=out)`` writes to ``out``
only (created on the first write, with ``repo`` as its parent) and reads from ``out`` first,
then ``repo`` and its parents, depth first; ``repo`` is opened read-only and never modified.
``calib=CALIB`` names a repository searched first for calibration dataset types; when it
holds a calibration registry (:mod:`pipetask.butler.calibs`), a calibration product is the
one valid at the raw's date for its detector (and filter).
``registryWrites=False`` opens the output's registry read-only: a worker of a pipeline
run writes files (:meth:`Butler.writeFile`) and its main process registers them.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..dataid import IdQuery, formatDataId
from ..errors import ButlerError, DataIdError, NoResults
from .camera import Camera, DatasetType, loadCamera
from .repository import Repository, isRepository, readRepoConfig

log = logging.getLogger("pipetask.butler")

_DATASET_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_MAX_CHAIN = 32


class Butler:
    """Access to the datasets of a repository and its chain.

    Parameters
    ----------
    repo : str or Path
        The input repository (must exist).
    output : str or Path, optional
        Where writes go. Need not exist: it is created on the first write and chains to
        ``repo``. An existing output must already chain to ``repo``. Without it, writes
        go to ``repo`` itself.
    calib : str or Path, optional
        Repository of calibration products (bias, flat...), searched first for dataset
        types the camera marks ``calib``.
    """

    def __init__(
        self,
        repo: str | Path,
        output: str | Path | None = None,
        calib: str | Path | None = None,
        registryWrites: bool = True,
    ) -> None:
        self._registryWrites = registryWrites
        self._args = (
            str(repo),
            None if output is None else str(output),
            None if calib is None else str(calib),
        )
        repoRoot = Path(repo).resolve()
        info = readRepoConfig(repoRoot)
        self.camera: Camera = loadCamera(info["camera"])
        keys = self.camera.keys
        self.root = repoRoot
        self.outputRoot = repoRoot if output is None else Path(output).resolve()
        self._output: Repository | None = None
        if self.outputRoot == repoRoot:
            self._output = Repository(repoRoot, keys, writable=registryWrites)
            self._inputs = self._chain(repoRoot, skipFirst=True)
        else:
            self._inputs = self._chain(repoRoot)
            if isRepository(self.outputRoot):
                self._output = Repository(self.outputRoot, keys, writable=registryWrites)
                self._checkOutput(self._output)
            elif self.outputRoot.exists() and not self.outputRoot.is_dir():
                raise ButlerError(f"output {str(self.outputRoot)!r} exists and is not a directory")
        self._calibs = [] if calib is None else self._chain(Path(calib).resolve())
        self._formats: dict[str, Any] = {}
        self._runtimeTypes: dict[str, DatasetType] = {}
        self._calibRootList: list[Path] | None = None
        self._calibAttrCache: dict[tuple, dict[str, Any]] = {}

    def __reduce__(self):
        return (Butler, (*self._args, self._registryWrites))

    def __repr__(self) -> str:
        return f"Butler({self._args[0]!r}, output={self._args[1]!r}, calib={self._args[2]!r})"

    def __enter__(self) -> Butler:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        """Close every registry connection."""
        for repo in self._readChain() + self._calibs:
            repo.registry.close()

    # -- the chain -----------------------------------------------------------------------
    def _chain(self, root: Path, skipFirst: bool = False) -> list[Repository]:
        """``root`` and its parents, depth first, each once, opened read-only."""
        chain: list[Repository] = []
        seen: set[Path] = set()

        def visit(path: Path, depth: int) -> None:
            if path in seen:
                return
            if depth > _MAX_CHAIN:
                raise ButlerError(f"repository chain deeper than {_MAX_CHAIN} at {str(path)!r}")
            seen.add(path)
            repo = Repository(path, self.camera.keys, writable=False)
            if repo.cameraName != self.camera.name:
                raise ButlerError(
                    f"repository {str(path)!r} is for camera {repo.cameraName!r}, "
                    f"not {self.camera.name!r}"
                )
            chain.append(repo)
            for parent in repo.parentPaths:
                visit(parent, depth + 1)

        visit(root, 0)
        return chain[1:] if skipFirst else chain

    def _checkOutput(self, output: Repository) -> None:
        if output.cameraName != self.camera.name:
            raise ButlerError(
                f"output repository {str(output.root)!r} is for camera {output.cameraName!r}, "
                f"not {self.camera.name!r}"
            )
        if self.root not in output.parentPaths:
            parents = ", ".join(str(p) for p in output.parentPaths) or "no parent"
            raise ButlerError(
                f"output repository {str(output.root)!r} chains to {parents}, not to "
                f"{str(self.root)!r}; use another --output"
            )

    def _readChain(self) -> list[Repository]:
        return ([self._output] if self._output is not None else []) + self._inputs

    @property
    def output(self) -> Repository:
        """The output repository, created (chained to the input) on first use."""
        if self._output is None:
            Repository.create(self.outputRoot, self.camera.name, [str(self.root)], self.camera.keys)
            self._output = Repository(self.outputRoot, self.camera.keys, writable=True)
        return self._output

    # -- dataset types -------------------------------------------------------------------
    def getDatasetType(self, name: str) -> DatasetType:
        """The camera's, a generic or a run-time dataset type called ``name``."""
        found = self.camera.datasetType(name) or self._runtimeTypes.get(name)
        if found is not None:
            return found
        found = self._registeredType(name)
        if found is not None:
            self._runtimeTypes[name] = found
            return found
        import difflib

        known = sorted(self.camera.datasetTypes)
        close = difflib.get_close_matches(name, known, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ButlerError(
            f"unknown dataset type {name!r}{hint}; camera {self.camera.name!r} declares "
            f"{', '.join(known)}, and <task>_config, <task>_metadata and packages are generic"
        )

    def _registeredType(self, name: str) -> DatasetType | None:
        """The run-time dataset type ``name`` as a registry of the chain defines it."""
        for repo in self._readChain() + self._calibs:
            row = repo.registry.datasetTypeRow(name)
            if row is not None:
                return DatasetType(name, row[0], row[2], row[1], row[3])
        return None

    def runtimeDatasetTypes(self) -> list[tuple[str, str, str, str, bool]]:
        """``(name, template, format, python, calib)`` of every run-time dataset type the
        registries of the chain define (the output's first): what a
        :class:`~pipetask.butler.worker_butler.WorkerButler` is given."""
        rows: dict[str, tuple[str, str, str, str, bool]] = {}
        for repo in self._readChain() + self._calibs:
            for name, template, fmt, python, calib in repo.registry.datasetTypeRows():
                rows.setdefault(name, (name, template, fmt, python, calib))
        return list(rows.values())

    def registerDatasetType(
        self,
        name: str,
        keys: Sequence[str] | None = None,
        format: str = "json",
        python: str = "",
        template: str | None = None,
        calib: bool = False,
    ) -> DatasetType:
        """Define a new output dataset type in the output repository (no obs package edit).

        Parameters
        ----------
        name : str
            Dataset type name.
        keys : sequence of str, optional
            Data-ID keys it is stored by (all the camera's keys by default).
        format : str
            Storage format name (``json``, ``toml``, ``fits``...).
        python : str
            Import path of the Python type, for documentation.
        template : str, optional
            Path template; by default ``<name>/<key>={key}/...<extension>``.
        calib : bool
            Whether it is a calibration product (read from the ``calib`` repository).
        """
        if not _DATASET_NAME.match(name):
            raise ButlerError(f"bad dataset type name {name!r}")
        existing = self.camera.datasetType(name)
        if existing is not None:
            return existing
        keys = list(self.camera.keys if keys is None else keys)
        unknown = [k for k in keys if k not in self.camera.keys]
        if unknown:
            raise DataIdError(
                f"unknown data ID key {unknown[0]!r}; valid keys: {', '.join(self.camera.keys)}"
            )
        if template is None:
            ext = getattr(self._format(format), "extension", "")
            parts = "/".join(f"{k}={{{k}}}" for k in keys)
            template = f"{name}/{parts}{ext}" if parts else f"{name}{ext}"
        dsType = DatasetType(name, template, python, format, calib)
        dsType.keys  # noqa: B018 - validates the template
        self.output.registry.defineDatasetType(name, template, format, python, calib)
        self._runtimeTypes[name] = dsType
        return dsType

    def _format(self, name: str) -> Any:
        fmt = self._formats.get(name)
        if fmt is None:
            from ..plugins import load_item

            fmt = load_item("format", name)
            if isinstance(fmt, type):
                fmt = fmt()
            self._formats[name] = fmt
        return fmt

    # -- data IDs ------------------------------------------------------------------------
    def _dataId(self, dataId: Mapping[str, Any] | None, kw: Mapping[str, Any]) -> dict:
        merged = dict(dataId or {})
        merged.update(kw)
        return self.camera.castDataId(merged)

    def _searchChain(self, dsType: DatasetType, write: bool = False) -> list[Repository]:
        if write:
            return [self._output] if self._output is not None else []
        chain = self._readChain()
        return self._calibs + chain if dsType.calib else chain

    def _complete(self, dsType: DatasetType, dataId: dict, chain: list[Repository]) -> dict:
        """``dataId`` completed from the registry when it lacks keys the type needs."""
        if all(k in dataId for k in dsType.keys):
            return dataId
        given = {k: v for k, v in dataId.items() if k in dsType.keys}
        matches: dict[tuple, None] = {}
        for repo in chain:
            for key, _path in repo.registry.find(dsType.name, given):
                matches[key] = None
        if len(matches) != 1:
            what = "no" if not matches else f"{len(matches)}"
            raise NoResults(
                f"no unique {dsType.name!r} dataset for data ID {formatDataId(dataId)}: "
                f"{what} matches in {self._describe(chain)}"
            )
        (row,) = matches
        full = {k: v for k, v in zip(self.camera.keys, row, strict=True) if v is not None}
        full.update(dataId)
        return full

    def _describe(self, chain: list[Repository]) -> str:
        return ", ".join(str(r.root) for r in chain) or "no repository"

    def _locate(self, dsType: DatasetType, dataId: dict, write: bool = False) -> Path | None:
        if dsType.calib and not write and self._calibRoots():
            return self._locateCalib(dsType, dataId)
        chain = self._searchChain(dsType, write)
        dataId = self._complete(dsType, dataId, chain) if chain else dataId
        relative = dsType.path(dataId)
        for repo in chain:
            if self._holds(repo, relative):
                return repo.absolute(relative)
        return None

    def _holds(self, repo: Repository, relative: str) -> bool:
        """Whether ``repo`` holds the dataset at ``relative`` (its registry lists it)."""
        if not repo.registry.hasPath(relative):
            return False
        if not os.path.lexists(repo.absolute(relative)):
            raise ButlerError(
                f"registry of {str(repo.root)!r} lists {relative} but the file is missing"
            )
        return True

    # -- calibration products valid for a raw (see pipetask.butler.calibs) ---------------
    def _calibRoots(self) -> list[Path]:
        """The calibration repositories (with a calibration registry) of ``calib``."""
        from .calibs import isCalibRepository

        if self._calibRootList is None:
            self._calibRootList = [r.root for r in self._calibs if isCalibRepository(r.root)]
        return self._calibRootList

    def calibAttributes(self, datasetType: str, dataId: Mapping[str, Any]) -> dict[str, Any]:
        """Date (``YYYY-MM-DD``), detector and filter by which the raw of ``dataId`` is
        matched to a ``datasetType`` calibration product (filter None if it needs none)."""
        from .calibs import mjdToDate

        spec = self.camera.calibSpec
        dataId = self.camera.castDataId(dataId)
        key = (datasetType in spec.filterTypes, tuple(sorted(dataId.items())))
        cached = self._calibAttrCache.get(key)
        if cached is not None:
            return dict(cached)
        rawType = self.getDatasetType(self.camera.rawDatasetType)
        rawPath = self._locate(rawType, dataId)
        if rawPath is None:
            raise NoResults(
                f"no {rawType.name!r} for data ID {formatDataId(dataId)}, so no date to find "
                f"its {datasetType} by"
            )
        header = self.camera.readHeader(str(rawPath), 0)
        where = f"{rawType.name} {formatDataId(dataId)} ({rawPath})"
        if spec.dateKeyword not in header:
            raise ButlerError(f"{where} has no {spec.dateKeyword} keyword for its date")
        try:
            date = mjdToDate(float(header[spec.dateKeyword]))
        except (TypeError, ValueError, OverflowError):
            raise ButlerError(
                f"{where}: {spec.dateKeyword} = {header[spec.dateKeyword]!r} is not an MJD"
            ) from None
        filterName = None
        if datasetType in spec.filterTypes:
            if spec.filterKey is not None and spec.filterKey in dataId:
                filterName = str(dataId[spec.filterKey])
            else:
                value = header.get(spec.filterKeyword)
                if value is None or not str(value).strip():
                    raise ButlerError(f"{where} has no {spec.filterKeyword} keyword")
                filterName = str(value).strip()
        attributes = {
            "date": date,
            "detector": self.camera.detectorId(dataId),
            "filter": filterName,
            "where": where,
        }
        self._calibAttrCache[key] = attributes
        return dict(attributes)

    def usesCalibRegistry(self, datasetType: str) -> bool:
        """Whether ``datasetType`` is a calibration type looked up by validity range (the
        camera marks it ``calib`` and ``calib=`` holds a calibration registry)."""
        dsType = self.camera.datasetType(datasetType)
        return dsType is not None and dsType.calib and bool(self._calibRoots())

    def _locateCalib(self, dsType: DatasetType, dataId: dict) -> Path:
        from .calibs import findCalib

        attributes = self.calibAttributes(dsType.name, dataId)
        return findCalib(self._calibRoots(), dsType.name, attributes, attributes["where"])

    # -- public API ----------------------------------------------------------------------
    def get(self, datasetType: str, dataId: Mapping[str, Any] | None = None, **kw: Any) -> Any:
        """Read a dataset; the first repository of the chain that holds it wins.

        Raises
        ------
        NoResults
            No repository holds the dataset (or a partial data ID is ambiguous).
        """
        dsType = self.getDatasetType(datasetType)
        full = self._dataId(dataId, kw)
        path = self._locate(dsType, full)
        if path is None:
            raise NoResults(
                f"no {datasetType!r} dataset for data ID {formatDataId(full)} in "
                f"{self._describe(self._searchChain(dsType))}"
            )
        if not log.isEnabledFor(logging.DEBUG):
            return _read(self._format(dsType.format), path)
        start = time.perf_counter()
        obj = _read(self._format(dsType.format), path)
        _logIo("read", datasetType, full, path, start)
        return obj

    def put(
        self,
        obj: Any,
        datasetType: str,
        dataId: Mapping[str, Any] | None = None,
        doBackup: bool = False,
        **kw: Any,
    ) -> Path:
        """Write a dataset to the output repository, atomically; returns its path.

        An existing dataset of the same type and data ID in the output is replaced (kept
        as ``<name>~1`` with ``doBackup``). A dataset type nobody declared is defined on
        the fly: TOML for objects with ``toToml``, JSON otherwise.
        """
        full = self._dataId(dataId, kw)
        try:
            dsType = self.getDatasetType(datasetType)
        except ButlerError:
            fmt = "toml" if callable(getattr(obj, "toToml", None)) else "json"
            dsType = self.registerDatasetType(datasetType, list(full), fmt)
        relative = dsType.path(full)
        fmt = self._format(dsType.format)
        restricted = {k: full[k] for k in dsType.keys}
        start = time.perf_counter()
        path = self.output.write(
            dsType.name, restricted, relative, lambda tmp: fmt.write(obj, tmp), doBackup
        )
        if log.isEnabledFor(logging.DEBUG):
            _logIo("wrote", datasetType, restricted, path, start)
        return path

    def datasetExists(
        self,
        datasetType: str,
        dataId: Mapping[str, Any] | None = None,
        write: bool = False,
        **kw: Any,
    ) -> bool:
        """Whether the dataset exists in the chain (``write=True``: in the output only).

        A dataset type nobody has defined yet simply does not exist (False).
        """
        try:
            dsType = self.getDatasetType(datasetType)
        except ButlerError:
            if not _DATASET_NAME.match(datasetType):
                raise
            return False
        try:
            return self._locate(dsType, self._dataId(dataId, kw), write) is not None
        except NoResults:
            return False

    def getUri(
        self,
        datasetType: str,
        dataId: Mapping[str, Any] | None = None,
        write: bool = False,
        **kw: Any,
    ) -> Path:
        """The file of a dataset: where it is found, or (``write=True``) where put writes it."""
        dsType = self.getDatasetType(datasetType)
        full = self._dataId(dataId, kw)
        if write:
            return self.outputRoot / dsType.path(full)
        path = self._locate(dsType, full)
        if path is None:
            raise NoResults(f"no {datasetType!r} dataset for data ID {formatDataId(full)}")
        return path

    def subset(
        self, datasetType: str, dataId: Mapping[str, Any] | None = None, **kw: Any
    ) -> list[DataRef]:
        """Data references to every dataset of a type matching a partial data ID."""
        dsType = self.getDatasetType(datasetType)
        given = self._dataId(dataId, kw)
        rows: dict[tuple, None] = {}
        for repo in self._searchChain(dsType):
            for key, _path in repo.registry.find(dsType.name, given):
                rows[key] = None
        keys = list(self.camera.keys)
        ordered = sorted(rows, key=_sortKey)
        return [DataRef(self, datasetType, _toDataId(keys, r)) for r in ordered]

    def dataRef(
        self, datasetType: str, dataId: Mapping[str, Any] | None = None, **kw: Any
    ) -> DataRef:
        """The one data reference a data ID names (completed from the registry if partial)."""
        dsType = self.getDatasetType(datasetType)
        full = self._dataId(dataId, kw)
        chain = self._searchChain(dsType)
        return DataRef(self, datasetType, self._complete(dsType, full, chain) if chain else full)

    def queryDataIds(self, datasetType: str, query: IdQuery) -> list[tuple]:
        """Key tuples (camera order) of a dataset type matching one parsed ``--id`` (see
        :func:`pipetask.dataid.parseId`; the Butler never reads command-line text): one
        SQL query per repository of the chain, merged without duplicates in key order."""
        dsType = self.getDatasetType(datasetType)
        where, params = query.where(datasetType=dsType.name)
        results = [
            rows
            for repo in self._searchChain(dsType)
            if (rows := repo.registry.select(dsType.name, where, params))
        ]
        if len(results) == 1:
            return results[0]
        merged = dict.fromkeys(row for rows in results for row in rows)
        return sorted(merged, key=_sortKey)

    def writeFile(self, obj: Any, datasetType: str, dataId: Mapping[str, Any]) -> str:
        """Write a dataset's file into the output atomically, without registering it.

        For a worker of a run whose main process is the only writer of the registry: it
        sends back ``(datasetType, dataId, path)`` and the main process calls
        :meth:`registerWritten`. The dataset type must be known (the camera's, or defined
        with :meth:`registerDatasetType` by the main process). Returns the path relative
        to the output repository.
        """
        from . import atomic

        dsType = self.getDatasetType(datasetType)
        full = self._dataId(dataId, {})
        relative = dsType.path(full)
        fmt = self._format(dsType.format)
        start = time.perf_counter()
        path = self.outputRoot / relative
        atomic.writeAtomic(path, lambda tmp: fmt.write(obj, tmp))
        if log.isEnabledFor(logging.DEBUG):
            _logIo("wrote", datasetType, full, path, start)
        return relative

    def registerWritten(self, rows: Sequence[tuple[str, Mapping[str, Any], str]]) -> None:
        """Register files written by :meth:`writeFile` (``(datasetType, dataId, path)``),
        in one transaction of the output registry."""
        if rows:
            self.output.registry.registerMany(rows)

    def iterKeys(
        self,
        datasetType: str,
        keys: Sequence[str],
        where: str = "1",
        params: Sequence[Any] = (),
        outputOnly: bool = False,
    ) -> Iterator[tuple]:
        """Distinct values of ``keys`` over the datasets of a type that satisfy a SQL
        condition (``IdQuery.where()``), across the search chain, in key order.

        Rows stream from the registry, so millions of data IDs cost no list of tuples.
        A dataset type nobody has defined yet has no datasets. ``outputOnly``: look in
        the output repository only.
        """
        try:
            dsType = self.getDatasetType(datasetType)
        except ButlerError:
            return iter(())
        columns = ", ".join(f'"{k}"' for k in keys) or "1"
        sql = (
            f"SELECT DISTINCT {columns} FROM dataset WHERE dataset_type = ? AND ({where}) "
            f"ORDER BY {columns}"
        )
        repos = self._searchChain(dsType, write=outputOnly)
        conns = [c for repo in repos if (c := repo.registry.conn) is not None]
        cursors = [conn.execute(sql, [dsType.name, *params]) for conn in conns]
        if len(cursors) == 1:
            return iter(cursors[0])
        merged = dict.fromkeys(row for cursor in cursors for row in cursor)
        return iter(sorted(merged, key=_sortKey))

    def outputPaths(self, datasetType: str, keys: Sequence[str]) -> dict[tuple, str]:
        """The path (relative to the output's root) of each dataset of a type registered
        in the output repository, by its values of ``keys``; empty when the output does
        not exist yet. One registry query (resume decides 10^5 quanta with it)."""
        conn = self._output.registry.conn if self._output is not None else None
        if conn is None:
            return {}
        columns = ", ".join(f'"{k}"' for k in keys)
        sql = f"SELECT {columns}, path FROM dataset WHERE dataset_type = ?"
        return {row[:-1]: row[-1] for row in conn.execute(sql, [datasetType])}


def _logIo(verb: str, datasetType: str, dataId: Mapping[str, Any], path: Any, start: float):
    """One DEBUG line for a dataset read or written: type, data ID, path, size and time."""
    elapsed = time.perf_counter() - start
    try:
        size = f"{os.path.getsize(path)} bytes"
    except OSError:
        size = "size unknown"
    log.debug(
        "%s %s %s: %s (%s) in %.4f s",
        verb,
        datasetType,
        formatDataId(dataId),
        path,
        size,
        elapsed,
    )


def _read(fmt: Any, path: Path) -> Any:
    """``fmt.read(path)``, with a file that cannot be read reported as one line naming it."""
    try:
        return fmt.read(str(path))
    except IsADirectoryError:
        raise ButlerError(f"{path} is a directory, not a dataset file") from None
    except UnicodeDecodeError as exc:
        raise ButlerError(f"{path} is not UTF-8 text (byte {exc.start} is not)") from None
    except OSError as exc:
        raise ButlerError(f"cannot read {path}: {exc.strerror or exc}") from None


def _toDataId(keys: list[str], row: tuple) -> dict[str, Any]:
    return {k: v for k, v in zip(keys, row, strict=True) if v is not None}


def _sortKey(row: tuple) -> tuple:
    return tuple((v is None, type(v).__name__, v if v is not None else 0) for v in row)


class DataRef:
    """A reference to the datasets of one data ID (what a task's ``runDataRef`` receives).

    Parameters
    ----------
    butler : Butler
        The Butler that reads and writes.
    datasetType : str
        Default dataset type of :meth:`get`, :meth:`put` and :meth:`datasetExists`.
    dataId : mapping
        The data ID.
    """

    def __init__(self, butler: Butler, datasetType: str, dataId: Mapping[str, Any]) -> None:
        self.butlerSubset = None
        self._butler = butler
        self.datasetType = datasetType
        self._dataId = dict(dataId)

    @property
    def dataId(self) -> dict[str, Any]:
        """The data ID (a copy)."""
        return dict(self._dataId)

    def __repr__(self) -> str:
        return f"DataRef({self.datasetType!r}, {formatDataId(self._dataId)})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, DataRef)
            and self.datasetType == other.datasetType
            and self._dataId == other._dataId
        )

    def __hash__(self) -> int:
        return hash((self.datasetType, tuple(self._dataId.items())))

    def getButler(self) -> Butler:
        """The Butler behind this reference."""
        return self._butler

    def get(self, datasetType: str | None = None, **kw: Any) -> Any:
        """Read ``datasetType`` (default: the reference's own) for this data ID."""
        return self._butler.get(datasetType or self.datasetType, {**self._dataId, **kw})

    def put(self, obj: Any, datasetType: str | None = None, **kw: Any) -> Path:
        """Write ``obj`` as ``datasetType`` for this data ID into the output repository."""
        return self._butler.put(obj, datasetType or self.datasetType, {**self._dataId, **kw})

    def datasetExists(self, datasetType: str | None = None, write: bool = False, **kw: Any) -> bool:
        """Whether ``datasetType`` exists for this data ID (``write``: in the output)."""
        return self._butler.datasetExists(
            datasetType or self.datasetType, {**self._dataId, **kw}, write=write
        )

    def getUri(self, datasetType: str | None = None, write: bool = False) -> Path:
        """The file of ``datasetType`` for this data ID."""
        return self._butler.getUri(datasetType or self.datasetType, self._dataId, write=write)


def iterDataRefs(
    butler: Butler, dataIds: Sequence[Mapping[str, Any]], datasetType: str | None = None
) -> Iterator[DataRef]:
    """Data references for already-selected data IDs."""
    datasetType = datasetType or butler.camera.rawDatasetType
    for dataId in dataIds:
        yield DataRef(butler, datasetType, dataId)
