"""The registry: an embedded SQLite database of the datasets one repository holds.

Tables:

``meta``
    Schema version, camera name and the camera's key schema (checked on open).
``dataset``
    One row per dataset file: its dataset type, one typed column per data-ID key (NULL
    for keys the type does not use) and its path relative to the repository root
    (unique). An index on (dataset type, keys...) serves ``--id`` queries.
``dataset_type``
    Dataset types first defined at run time by ``Butler.put`` (the camera's and the
    generic ones need no row).
``pending``
    Writes in progress (see :mod:`pipetask.butler.repository`): a row is inserted before
    a dataset's temporary file is written and removed in the transaction that registers
    the dataset, so a killed writer leaves a record from which the next open recovers.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from ..errors import ButlerError
from . import atomic
from .sqlite_read import connectReadOnly

FILENAME = "registry.sqlite3"
SCHEMA_VERSION = 1
#: The tables every registry has.
TABLES = ("meta", "dataset", "dataset_type", "pending")
_SQL_TYPES = {int: "INTEGER", str: "TEXT"}


def _q(name: str) -> str:
    return f'"{name}"'


class Registry:
    """The SQLite registry of one repository.

    Parameters
    ----------
    path : str
        The database file.
    keys : mapping of str to type
        The camera's data-ID keys and types, in order.
    cameraName : str
        Recorded when the registry is created, checked afterwards.
    readonly : bool
        Open for reading only (parents of an output repository). A missing file then
        behaves as an empty registry.
    create : bool
        Create the tables (kept if another process created them first). Without it, an
        existing file must hold them: a registry that lacks a table is refused.
    """

    def __init__(
        self,
        path: str,
        keys: Mapping[str, type],
        cameraName: str,
        readonly: bool = False,
        create: bool = False,
    ) -> None:
        self.path = path
        self.create = create
        self.keys = dict(keys)
        self.cameraName = cameraName
        self.readonly = readonly
        self._columns = ", ".join(_q(k) for k in self.keys)
        self._conn: sqlite3.Connection | None = None

    # -- connection ----------------------------------------------------------------------
    @property
    def conn(self) -> sqlite3.Connection | None:
        """The open connection (None for a read-only registry whose file does not exist)."""
        if self._conn is None:
            try:
                self._connect()
            except sqlite3.DatabaseError as exc:
                self.close()
                raise ButlerError(f"{self.path} is not a pipetask registry: {exc}") from None
            except ButlerError:
                self.close()
                raise
        return self._conn

    def _connect(self) -> None:
        if self.readonly:
            if not os.path.exists(self.path):
                return
            self._conn = connectReadOnly(self.path, timeout=60, isolation_level=None)
        else:
            existed = os.path.exists(self.path)
            self._conn = sqlite3.connect(self.path, isolation_level=None, timeout=60)
            # A killed process cannot corrupt the registry at any setting; FULL also
            # survives power loss, at a few milliseconds per commit (see atomic.durable).
            self._conn.execute(f"PRAGMA synchronous={'FULL' if atomic.durable() else 'OFF'}")
            # Keep the rollback journal file between transactions instead of creating and
            # deleting it for each one (two file creations per dataset write otherwise).
            self._conn.execute("PRAGMA journal_mode=PERSIST")
            if self.create or not existed:
                self._create()  # safe when another process creates it at the same moment
        self._check()

    def _tables(self) -> set[str]:
        assert self._conn is not None
        rows = self._conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {row[0] for row in rows}

    def close(self) -> None:
        """Close the connection."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _create(self) -> None:
        conn = self._conn
        assert conn is not None
        keyColumns = "".join(f", {_q(k)} {_SQL_TYPES[t]}" for k, t in self.keys.items())
        indexColumns = ", ".join(["dataset_type", *(_q(k) for k in self.keys)])
        schema = json.dumps({k: t.__name__ for k, t in self.keys.items()})
        with self.transaction():
            if self._tables():
                return  # another process created the schema while this one waited
            conn.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
            conn.execute(
                "CREATE TABLE IF NOT EXISTS dataset (id INTEGER PRIMARY KEY, "
                f"dataset_type TEXT NOT NULL{keyColumns}, path TEXT NOT NULL UNIQUE)"
            )
            conn.execute(f"CREATE INDEX IF NOT EXISTS dataset_keys ON dataset ({indexColumns})")
            # One more index led by each other key, so a condition on any key can seek.
            keys = list(self.keys)
            for i, key in enumerate(keys[1:], start=1):
                order = ", ".join(_q(k) for k in [key, *keys[:i], *keys[i + 1 :]])
                index = f"dataset_by_{key}"
                conn.execute(
                    f"CREATE INDEX IF NOT EXISTS {index} ON dataset (dataset_type, {order})"
                )
            conn.execute(
                "CREATE TABLE IF NOT EXISTS dataset_type (name TEXT PRIMARY KEY, "
                "template TEXT NOT NULL, format TEXT NOT NULL, python TEXT, calib INTEGER)"
            )
            conn.execute(
                "CREATE TABLE IF NOT EXISTS pending (id INTEGER PRIMARY KEY, "
                "dataset_type TEXT, data_id TEXT, path TEXT, tmp TEXT, owner TEXT, created REAL)"
            )
            conn.executemany(
                "INSERT OR IGNORE INTO meta VALUES (?, ?)",
                [("version", str(SCHEMA_VERSION)), ("camera", self.cameraName), ("keys", schema)],
            )

    def _check(self) -> None:
        assert self._conn is not None
        try:
            missing = [name for name in TABLES if name not in self._tables()]
            if missing:
                raise ButlerError(
                    f"{self.path} is a damaged registry: no table {', '.join(missing)}"
                )
            meta = dict(self._conn.execute("SELECT key, value FROM meta"))
        except sqlite3.DatabaseError as exc:
            raise ButlerError(f"{self.path} is not a pipetask registry: {exc}") from None
        try:
            keys = json.loads(meta["keys"])
            version = int(meta["version"])
        except (KeyError, TypeError, ValueError) as exc:
            raise ButlerError(
                f"{self.path} is a damaged registry: unreadable metadata ({exc!r})"
            ) from None
        if version > SCHEMA_VERSION:
            raise ButlerError(
                f"registry {self.path} has schema version {version}; this pipetask reads "
                f"version {SCHEMA_VERSION} and older"
            )
        expected = {k: t.__name__ for k, t in self.keys.items()}
        if meta.get("camera") != self.cameraName or keys != expected:
            raise ButlerError(
                f"registry {self.path} was made for camera {meta.get('camera')!r} with keys "
                f"{meta.get('keys')}, not camera {self.cameraName!r} with keys {expected}"
            )

    class _Transaction:
        def __init__(self, conn: sqlite3.Connection, path: str) -> None:
            self.conn = conn
            self.path = path

        def __enter__(self) -> sqlite3.Connection:
            self.conn.execute("BEGIN IMMEDIATE")
            return self.conn

        def __exit__(self, kind: Any, exc: Any, tb: Any) -> None:
            try:
                if kind is None:
                    self.conn.execute("COMMIT")
            except sqlite3.OperationalError as error:
                exc = error
            if self.conn.in_transaction and (kind is not None or exc is not None):
                self.conn.execute("ROLLBACK")  # SQLite may have rolled back already
            if isinstance(exc, sqlite3.OperationalError):
                # A full disk, a read-only file system: one line naming the registry.
                raise ButlerError(f"cannot write the registry {self.path}: {exc}") from exc

    def transaction(self) -> Registry._Transaction:
        """A write transaction (``BEGIN IMMEDIATE`` ... ``COMMIT``, or rollback on error)."""
        if self.readonly:
            raise ButlerError(f"registry {self.path} is read-only here")
        assert self.conn is not None
        return Registry._Transaction(self.conn, self.path)

    # -- rows ----------------------------------------------------------------------------
    def _keyValues(self, dataId: Mapping[str, Any]) -> list[Any]:
        return [dataId.get(k) for k in self.keys]

    def _rowValues(self, datasetType: str, dataId: Mapping[str, Any], path: str) -> list[Any]:
        return [datasetType, *self._keyValues(dataId), path]

    def _insertSql(self, verb: str = "INSERT") -> str:
        marks = ", ".join("?" * (len(self.keys) + 2))
        return f"{verb} INTO dataset (dataset_type, {self._columns}, path) VALUES ({marks})"

    def insertMany(self, datasetType: str, rows: Iterable[Sequence[Any]], paths: Callable) -> int:
        """Bulk-register datasets whose files exist already (one transaction).

        ``rows`` are key tuples in the camera's order; ``paths(row)`` gives each path.
        Returns the number of rows inserted.
        """
        sql = self._insertSql()
        conn = self.conn
        assert conn is not None
        count = 0

        def values() -> Iterable[list[Any]]:
            nonlocal count
            for row in rows:
                count += 1
                yield [datasetType, *row, paths(row)]

        with self.transaction():
            conn.executemany(sql, values())
        conn.execute("ANALYZE")
        return count

    def _equalWhere(self, dataId: Mapping[str, Any]) -> tuple[str, list[Any]]:
        parts = []
        params: list[Any] = []
        for key, value in dataId.items():
            if value is None:
                parts.append(f"{_q(key)} IS NULL")
            else:
                parts.append(f"{_q(key)} = ?")
                params.append(value)
        return (" AND ".join(parts) or "1"), params

    def find(self, datasetType: str, dataId: Mapping[str, Any]) -> list[tuple[tuple, str]]:
        """``(key tuple, path)`` of the datasets of a type whose keys equal ``dataId``'s."""
        conn = self.conn
        if conn is None:
            return []
        where, params = self._equalWhere(dataId)
        sql = (
            f"SELECT {self._columns}, path FROM dataset WHERE dataset_type = ? AND {where} "
            f"ORDER BY {self._columns}"
        )
        return [(tuple(r[:-1]), r[-1]) for r in conn.execute(sql, [datasetType, *params])]

    def select(self, datasetType: str, where: str, params: Sequence[Any]) -> list[tuple]:
        """Key tuples of one dataset type satisfying a SQL condition, in key order."""
        conn = self.conn
        if conn is None:
            return []
        sql = (
            f"SELECT {self._columns} FROM dataset WHERE dataset_type = ? AND ({where}) "
            f"ORDER BY {self._columns}"
        )
        return conn.execute(sql, [datasetType, *params]).fetchall()

    def count(self, datasetType: str | None = None) -> int:
        """Number of registered datasets (of one type, or all)."""
        conn = self.conn
        if conn is None:
            return 0
        if datasetType is None:
            return conn.execute("SELECT COUNT(*) FROM dataset").fetchone()[0]
        sql = "SELECT COUNT(*) FROM dataset WHERE dataset_type = ?"
        return conn.execute(sql, [datasetType]).fetchone()[0]

    def paths(self) -> list[str]:
        """Every registered path."""
        conn = self.conn
        return [] if conn is None else [r[0] for r in conn.execute("SELECT path FROM dataset")]

    def hasPath(self, path: str) -> bool:
        """Whether a dataset is registered at ``path``."""
        conn = self.conn
        if conn is None:
            return False
        return conn.execute("SELECT 1 FROM dataset WHERE path = ?", [path]).fetchone() is not None

    # -- run-time dataset types ----------------------------------------------------------
    def datasetTypeRow(self, name: str) -> tuple[str, str, str, bool] | None:
        """``(template, format, python, calib)`` of a run-time dataset type, or None."""
        conn = self.conn
        if conn is None:
            return None
        row = conn.execute(
            "SELECT template, format, python, calib FROM dataset_type WHERE name = ?", [name]
        ).fetchone()
        return None if row is None else (row[0], row[1], row[2] or "", bool(row[3]))

    def datasetTypeRows(self) -> list[tuple[str, str, str, str, bool]]:
        """``(name, template, format, python, calib)`` of every run-time dataset type."""
        conn = self.conn
        if conn is None:
            return []
        rows = conn.execute("SELECT name, template, format, python, calib FROM dataset_type")
        return [(r[0], r[1], r[2], r[3] or "", bool(r[4])) for r in rows]

    def defineDatasetType(
        self, name: str, template: str, fmt: str, python: str, calib: bool = False
    ) -> None:
        """Record a run-time dataset type (kept if already recorded)."""
        with self.transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO dataset_type VALUES (?, ?, ?, ?, ?)",
                [name, template, fmt, python, int(calib)],
            )

    # -- the write protocol --------------------------------------------------------------
    def addPending(
        self, datasetType: str, dataId: Mapping[str, Any], path: str, tmp: str, ownerText: str
    ) -> int:
        """Record a write about to start; returns the pending row's id."""
        with self.transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO pending (dataset_type, data_id, path, tmp, owner, created) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [datasetType, json.dumps(dict(dataId)), path, tmp, ownerText, time.time()],
            )
            return int(cursor.lastrowid or 0)

    def completePending(
        self,
        pendingId: int,
        datasetType: str,
        dataId: Mapping[str, Any],
        path: str,
        rename: Callable[[], None],
        replace: bool = True,
    ) -> None:
        """Register the dataset, drop the pending row and rename, in one transaction.

        If ``rename`` fails the transaction rolls back. If the process dies after the
        rename but before the commit, :meth:`pendingRows` still lists the pending row and
        recovery finds the file in place.

        Without ``replace``, a dataset already registered at ``path`` or under the same
        type and data ID wins: :class:`DuplicateDatasetError` is raised before anything
        changes. The check and the insert share the write lock, so of several processes
        registering one dataset at once exactly one succeeds.
        """
        with self.transaction() as conn:
            if not replace:
                existing = self._registeredAs(conn, datasetType, dataId, path)
                if existing is not None:
                    raise DuplicateDatasetError(existing)
            conn.execute(
                self._insertSql("INSERT OR REPLACE"), self._rowValues(datasetType, dataId, path)
            )
            conn.execute("DELETE FROM pending WHERE id = ?", [pendingId])
            rename()

    def _registeredAs(
        self, conn: sqlite3.Connection, datasetType: str, dataId: Mapping[str, Any], path: str
    ) -> str | None:
        """The path of a dataset registered at ``path`` or with this type and data ID."""
        row = conn.execute("SELECT path FROM dataset WHERE path = ?", [path]).fetchone()
        if row is None:
            where, params = self._equalWhere({k: dataId.get(k) for k in self.keys})
            sql = f"SELECT path FROM dataset WHERE dataset_type = ? AND {where} LIMIT 1"
            row = conn.execute(sql, [datasetType, *params]).fetchone()
        return None if row is None else row[0]

    def dropPending(self, pendingId: int) -> None:
        """Forget a pending write (it failed and its temporary file is gone)."""
        with self.transaction() as conn:
            conn.execute("DELETE FROM pending WHERE id = ?", [pendingId])

    def addPendingMany(
        self, rows: Iterable[tuple[str, Mapping[str, Any], str]], owner: str
    ) -> None:
        """Record writes another process will make, ``(datasetType, dataId, path)`` each, in
        one transaction (no temporary name: recovery registers a file found in place)."""
        now = time.time()
        with self.transaction() as conn:
            conn.executemany(
                "INSERT INTO pending (dataset_type, data_id, path, tmp, owner, created) "
                "VALUES (?, ?, ?, '', ?, ?)",
                ((t, json.dumps(dict(d)), p, owner, now) for t, d, p in rows),
            )

    def dropPendingOf(self, owner: str) -> None:
        """Forget every pending write recorded by ``owner``."""
        with self.transaction() as conn:
            conn.execute("DELETE FROM pending WHERE owner = ?", [owner])

    def pendingRows(self) -> list[tuple[int, str, dict, str, str, str, float]]:
        """``(id, datasetType, dataId, path, tmp, owner, created)`` of every pending write."""
        conn = self.conn
        if conn is None:
            return []
        rows = conn.execute(
            "SELECT id, dataset_type, data_id, path, tmp, owner, created FROM pending"
        ).fetchall()
        return [(r[0], r[1], json.loads(r[2]), r[3], r[4], r[5], r[6]) for r in rows]

    def registerMany(self, rows: Iterable[tuple[str, Mapping[str, Any], str]]) -> None:
        """Register datasets whose files are in place, ``(datasetType, dataId, path)`` each,
        in one transaction."""
        sql = self._insertSql("INSERT OR REPLACE")
        with self.transaction() as conn:
            conn.executemany(sql, (self._rowValues(t, d, p) for t, d, p in rows))

    def resolvePending(self, pendingId: int, resolve: Callable[[str, str], str]) -> str:
        """Resolve one abandoned pending write under the write lock.

        ``resolve(path, tmp)`` puts the files in order and returns what it did; a result
        starting with ``registered`` registers the dataset (unless registered already).
        Returns "" if another process resolved the row first.
        """
        with self.transaction() as conn:
            row = conn.execute(
                "SELECT dataset_type, data_id, path, tmp FROM pending WHERE id = ?", [pendingId]
            ).fetchone()
            if row is None:
                return ""
            datasetType, dataId, path, tmp = row[0], json.loads(row[1]), row[2], row[3]
            what = resolve(path, tmp)
            if what.startswith("registered"):
                conn.execute(
                    self._insertSql("INSERT OR REPLACE"),
                    self._rowValues(datasetType, dataId, path),
                )
            conn.execute("DELETE FROM pending WHERE id = ?", [pendingId])
            return what

    def register(self, datasetType: str, dataId: Mapping[str, Any], path: str) -> None:
        """Register a dataset whose file is already in place (used by recovery)."""
        with self.transaction() as conn:
            conn.execute(
                self._insertSql("INSERT OR REPLACE"), self._rowValues(datasetType, dataId, path)
            )


class DuplicateDatasetError(ButlerError):
    """The dataset is registered already (its registered path is ``path``)."""

    def __init__(self, path: str) -> None:
        super().__init__(f"a dataset is already registered at {path}")
        self.path = path
