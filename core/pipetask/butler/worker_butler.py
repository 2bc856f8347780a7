"""The Butler of a worker of a pipeline run: files only, no registry.

The run's main process is the only user of the output's registry: it builds the quantum
graph from the registries, registers what each quantum wrote before the quanta that read
it are released, and hands each worker the run-time dataset types. A worker therefore
needs no registry at all, and opens none: a dataset exists where its path template puts
it (in the output first, then each parent), a partial data ID is completed from the data
IDs of the quantum's inputs, and outputs are written as files for the main process to
register. This keeps workers clear of SQLite's locking while the main process commits
(a read-only connection can take a writer's journal for a crashed one, see
:mod:`pipetask.butler.sqlite_read`), and of SQLite over network file systems, whose
locks are unreliable, when workers run on other hosts of a cluster.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn

from ..dataid import IdQuery, formatDataId
from ..errors import ButlerError, NoResults
from .butler import Butler
from .camera import DatasetType
from .repository import Repository


class WorkerButler(Butler):
    """A :class:`Butler` that reads and writes files and never opens a registry.

    Parameters
    ----------
    repo, output, calib : str or Path
        As for :class:`Butler` (the output exists: the main process made it).
    datasetTypes : sequence of tuple
        ``(name, template, format, python, calib)`` of the run-time dataset types
        (:meth:`Butler.runtimeDatasetTypes` of the main process's Butler).
    """

    def __init__(
        self,
        repo: str | Path,
        output: str | Path | None = None,
        calib: str | Path | None = None,
        datasetTypes: Sequence[tuple[str, str, str, str, bool]] = (),
    ) -> None:
        super().__init__(repo, output=output, calib=calib, registryWrites=False)
        self._typeRows = tuple(tuple(row) for row in datasetTypes)
        for name, template, fmt, python, isCalib in self._typeRows:
            self._runtimeTypes[name] = DatasetType(name, template, python, fmt, isCalib)
        self._quantumInputs: dict[str, list[dict[str, Any]]] = {}

    def __reduce__(self):
        return (WorkerButler, (*self._args, self._typeRows))

    def setQuantumInputs(self, inputs: Mapping[str, Iterable[Mapping[str, Any]]]) -> None:
        """The data IDs, by dataset type, of what the quantum about to run reads: partial
        data IDs are completed from them."""
        self._quantumInputs = {name: [dict(d) for d in ids] for name, ids in inputs.items()}

    @property
    def output(self) -> Repository:
        """The output repository (made by the run's main process, never by a worker)."""
        if self._output is None:
            raise ButlerError(
                f"output {str(self.outputRoot)!r} is not a repository: a worker of a run "
                "writes into the output its main process made"
            )
        return self._output

    def _registeredType(self, name: str) -> DatasetType | None:
        return None  # the main process handed over every run-time type

    def _holds(self, repo: Repository, relative: str) -> bool:
        return os.path.lexists(repo.absolute(relative))

    def _locate(self, dsType: DatasetType, dataId: dict, write: bool = False) -> Path | None:
        path = super()._locate(dsType, dataId, write)
        if path is None and not write and self._isInput(dsType, dataId):
            # The graph was built from the registry: the dataset is registered, its file gone.
            chain = self._searchChain(dsType)
            raise ButlerError(
                f"{dsType.name} {formatDataId(dataId)} is registered but its file "
                f"{dsType.path(self._complete(dsType, dataId, chain))} is missing from "
                f"{self._describe(chain)}"
            )
        return path

    def _isInput(self, dsType: DatasetType, dataId: dict) -> bool:
        """Whether the quantum about to run reads this dataset (per the graph)."""
        return any(
            all(known.get(k) == v for k, v in dataId.items() if k in dsType.keys)
            for known in self._quantumInputs.get(dsType.name, ())
        )

    def _complete(self, dsType: DatasetType, dataId: dict, chain: list[Repository]) -> dict:
        if all(k in dataId for k in dsType.keys):
            return dataId
        given = {k: v for k, v in dataId.items() if k in dsType.keys}
        matches = {
            tuple(sorted(known.items())): known
            for known in self._quantumInputs.get(dsType.name, ())
            if all(known.get(k) == v for k, v in given.items())
        }
        if len(matches) != 1:
            what = "no" if not matches else f"{len(matches)}"
            raise NoResults(
                f"no unique {dsType.name!r} dataset for data ID {formatDataId(dataId)}: "
                f"{what} matches among the inputs of the quantum"
            )
        (known,) = matches.values()
        return {**known, **dataId}

    def _noRegistry(self, what: str) -> NoReturn:
        raise ButlerError(
            f"{what} needs the registry, which a worker of a pipeline run does not open: "
            "declare what the task reads as connections, so the graph selects it"
        )

    def subset(self, datasetType: str, dataId: Mapping[str, Any] | None = None, **kw: Any):
        self._noRegistry("Butler.subset")

    def queryDataIds(self, datasetType: str, query: IdQuery) -> list[tuple]:
        self._noRegistry("Butler.queryDataIds")

    def iterKeys(self, datasetType: str, keys: Sequence[str], *args: Any, **kw: Any) -> Iterator:
        self._noRegistry("Butler.iterKeys")

    def registerWritten(self, rows: Sequence[tuple[str, Mapping[str, Any], str]]) -> None:
        self._noRegistry("Butler.registerWritten")

    def runtimeDatasetTypes(self) -> list[tuple[str, str, str, str, bool]]:
        return [tuple(row) for row in self._typeRows]  # type: ignore[misc]
