"""The quantum graph: every call of every task of a pipeline, and what each reads.

A *quantum* is one call of one task on one data ID of the task's dimensions. The graph is
built from the registry before anything runs: ``--id`` constrains the pipeline's overall
inputs (dataset types no task writes), each task's quanta follow from its inputs, and
prerequisites come from the calib repository (and the input chain).

It is columnar, to stay small at millions of quanta: a :class:`Table` holds data IDs as
one ``array('q')`` per key (string values coded as integers), and an :class:`Edge` says
which rows of its source each quantum reads: the same row (``same``: no storage), one row
by index, or a gather (offsets into an index array). A task's quanta are the rows of its
quanta table; its outputs are the same rows. A chain of one-to-one tasks shares one table.
"""

from __future__ import annotations

import logging
from array import array
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..dataid import IdQuery, formatDataId
from .connections import Connection, TaskConnections
from .pipeline_file import PipelineError

SAME, INDEX, GATHER = "same", "index", "gather"
log = logging.getLogger("pipetask")


class GraphError(PipelineError):
    """The graph cannot be built: a missing input, or nothing to do."""


class EmptyGraphError(GraphError):
    """A label has no quanta: nothing matches ``--id`` (or nothing upstream writes its
    input)."""


class KeyCodec:
    """Data-ID values as integers: ints stand for themselves, strings get codes."""

    def __init__(self, keys: Mapping[str, type], strings: Sequence[str] = ()) -> None:
        self.keys = dict(keys)
        self.strings: list[str] = list(strings)
        self._codes = {s: i for i, s in enumerate(self.strings)}

    def encode(self, key: str, value: Any) -> int:
        """The code of ``value`` for ``key``."""
        if self.keys[key] is int:
            return value
        code = self._codes.get(value)
        if code is None:
            code = self._codes[value] = len(self.strings)
            self.strings.append(value)
        return code

    def decode(self, key: str, code: int) -> Any:
        """The value of a code."""
        return code if self.keys[key] is int else self.strings[code]


@dataclass
class Table:
    """Data IDs over ``dimensions``, one coded column per key."""

    dimensions: tuple[str, ...]
    columns: tuple[array, ...]

    def __len__(self) -> int:
        return len(self.columns[0]) if self.columns else 0

    def keys(self, dims: Sequence[str]) -> Iterator[Any]:
        """Each row projected on ``dims`` (a subset): a scalar for one key, else a tuple."""
        cols = [self.columns[self.dimensions.index(k)] for k in dims]
        if len(cols) == 1:
            return iter(cols[0])
        if not cols:
            return iter([()] * len(self))
        return zip(*cols, strict=True)

    def row(self, i: int) -> tuple[int, ...]:
        """The codes of row ``i``."""
        return tuple(c[i] for c in self.columns)


@dataclass
class Edge:
    """Where one input connection of a task reads, for each of its quanta.

    ``source`` is the index of a table in the graph; ``producer`` the label of the task
    that writes it (None: it is in the repository). ``same``: quantum i reads row i;
    ``index``: row ``index[i]``; ``gather``: rows ``index[offsets[i]:offsets[i + 1]]``.
    """

    connection: str
    datasetType: str
    source: int
    producer: str | None
    mode: str
    index: array | None = None
    offsets: array | None = None

    def rows(self, i: int) -> Sequence[int]:
        """Rows of the source that quantum ``i`` reads."""
        if self.mode == SAME:
            return (i,)
        if self.mode == INDEX:
            return (self.index[i],)  # type: ignore[index]
        return self.index[self.offsets[i] : self.offsets[i + 1]]  # type: ignore[index]


@dataclass
class GraphTask:
    """One label of the graph: the task, its frozen config as TOML, its quanta and edges."""

    label: str
    taskName: str
    target: str
    configText: str
    connections: TaskConnections
    quanta: int
    edges: dict[str, Edge] = field(default_factory=dict)


class QuantumGraph:
    """Every quantum of a pipeline run (see the module docstring)."""

    def __init__(
        self,
        codec: KeyCodec,
        tables: list[Table],
        tasks: dict[str, GraphTask],
        meta: dict[str, Any] | None = None,
    ) -> None:
        self.codec = codec
        self.tables = tables
        self.tasks = tasks
        self.meta = dict(meta or {})

    def __len__(self) -> int:
        return sum(self.count(label) for label in self.tasks)

    def count(self, label: str) -> int:
        """Number of quanta of a label."""
        return len(self.tables[self.tasks[label].quanta])

    def dataId(self, label: str, i: int) -> dict[str, Any]:
        """The data ID of quantum ``i`` of ``label``."""
        return self.rowDataId(self.tasks[label].quanta, i)

    def rowDataId(self, tableIndex: int, row: int) -> dict[str, Any]:
        """The data ID of one row of a table."""
        table = self.tables[tableIndex]
        decode = self.codec.decode
        return {k: decode(k, c[row]) for k, c in zip(table.dimensions, table.columns, strict=True)}

    def inputs(self, label: str, i: int) -> dict[str, list[dict[str, Any]]]:
        """Connection name -> data IDs quantum ``i`` of ``label`` reads (inputs and
        prerequisites)."""
        task = self.tasks[label]
        return {
            name: [self.rowDataId(edge.source, r) for r in edge.rows(i)]
            for name, edge in task.edges.items()
        }

    def upstream(self, label: str, i: int) -> list[tuple[str, int]]:
        """Quanta whose outputs quantum ``i`` of ``label`` reads."""
        out: list[tuple[str, int]] = []
        for edge in self.tasks[label].edges.values():
            if edge.producer is not None:
                out.extend((edge.producer, r) for r in edge.rows(i))
        return out

    def quanta(self) -> Iterator[tuple[str, int]]:
        """Every quantum, label by label in dependency order."""
        for label in self.tasks:
            for i in range(self.count(label)):
                yield label, i


# -- building --------------------------------------------------------------------------
def buildGraph(
    pipeline: Any, butler: Any, queries: Sequence[IdQuery] = (IdQuery(),)
) -> QuantumGraph:
    """The quantum graph of ``pipeline`` over the registry of ``butler``.

    ``queries`` are the parsed ``--id`` options; each dataset type the pipeline reads but
    does not write must match one of them (on the keys it has).

    Raises
    ------
    GraphError
        An input or prerequisite is missing for a quantum, or a label has no quanta; the
        message names the label, the connection, the dataset type and the data ID.
    """
    return _Builder(pipeline, butler, list(queries)).build()


class _Builder:
    def __init__(self, pipeline: Any, butler: Any, queries: list[IdQuery]) -> None:
        self.pipeline = pipeline
        self.butler = butler
        self.queries = queries
        self.codec = KeyCodec(butler.camera.keys)
        self.tables: list[Table] = []
        self.tasks: dict[str, GraphTask] = {}
        #: dataset type -> (table index, producer label or None)
        self.sources: dict[str, tuple[int, str | None]] = {}
        self._indexes: dict[tuple[int, tuple[str, ...]], dict] = {}

    def build(self) -> QuantumGraph:
        for node in self.pipeline.nodes.values():
            self._task(node)
        meta = {
            "pipeline": self.pipeline.source,
            "description": self.pipeline.description,
            "query": [str(q) for q in self.queries],
        }
        return QuantumGraph(self.codec, self.tables, self.tasks, meta)

    # -- tables --------------------------------------------------------------------------
    def _addTable(self, table: Table) -> int:
        self.tables.append(table)
        return len(self.tables) - 1

    def _registryTable(self, conn: Connection, constrained: bool) -> int:
        """Rows of a dataset type in the repositories (``constrained``: by ``--id``)."""
        found = self.sources.get(conn.datasetType)
        if found is not None:
            return found[0]
        dims = conn.dimensions
        selections: list[tuple[str, list]] = [("1", [])]
        if constrained:  # one query per --id: the first --id's data IDs come first
            selections = [
                IdQuery(tuple(t for t in query.terms if t.key in dims)).where()
                for query in self.queries
            ] or [("0", [])]
        rows = (
            row
            for where, params in selections
            for row in self.butler.iterKeys(conn.datasetType, dims, where, params)
        )
        if len(selections) > 1:
            rows = iter(dict.fromkeys(rows))  # a data ID two --id select, once
        columns = tuple(array("q") for _ in dims)
        encode = self.codec.encode
        strKeys = [self.codec.keys[k] is str for k in dims]
        appends = [c.append for c in columns]
        for row in rows:
            for append, isStr, key, value in zip(appends, strKeys, dims, row, strict=True):
                append(encode(key, value) if isStr else value)
        index = self._addTable(Table(dims, columns))
        self.sources[conn.datasetType] = (index, None)
        return index

    def _source(self, conn: Connection, prerequisite: bool = False) -> tuple[int, str | None]:
        if not prerequisite and conn.datasetType in self.sources:
            return self.sources[conn.datasetType]
        return self._registryTable(conn, constrained=not prerequisite), None

    def _index(self, tableIndex: int, dims: tuple[str, ...]) -> dict:
        """Row of each key (projected on ``dims``) of a table, built once."""
        key = (tableIndex, dims)
        found = self._indexes.get(key)
        if found is None:
            table = self.tables[tableIndex]
            found = {}
            for i, k in enumerate(table.keys(dims)):
                found.setdefault(k, i)
            self._indexes[key] = found
        return found

    # -- one task ------------------------------------------------------------------------
    def _task(self, node: Any) -> None:
        c: TaskConnections = node.connections
        dims = c.dimensions
        if not c.inputs:
            raise GraphError(f"label {node.label!r} has no input, so no quanta can be found")
        driving = next((x for x in c.inputs if not x.multiple), c.inputs[0])
        edges: dict[str, Edge] = {}
        srcIndex, producer = self._source(driving)
        source = self.tables[srcIndex]
        if source.dimensions == dims:
            quantaIndex = srcIndex
            edges[driving.name] = Edge(driving.name, driving.datasetType, srcIndex, producer, SAME)
        elif set(dims) < set(source.dimensions):
            quantaTable, offsets, rows = _group(source, dims)
            quantaIndex = self._addTable(quantaTable)
            edges[driving.name] = Edge(
                driving.name, driving.datasetType, srcIndex, producer, GATHER, rows, offsets
            )
        else:
            raise GraphError(
                f"label {node.label!r}: input {driving.name!r} (dataset type "
                f"{driving.datasetType!r}, keys {', '.join(source.dimensions)}) cannot give "
                f"the task's quanta (keys {', '.join(dims)})"
            )
        quanta = self.tables[quantaIndex]
        if not len(quanta):
            raise EmptyGraphError(self._emptyMessage(node.label, driving, producer))
        for conn in c.inputs:
            if conn is not driving:
                edges[conn.name] = self._edge(node.label, conn, quanta, quantaIndex, False)
        for conn in c.prerequisites:
            edges[conn.name] = self._prerequisite(node.label, conn, quanta, quantaIndex)
        for conn in c.outputs:
            self.sources[conn.datasetType] = (quantaIndex, node.label)
        self.tasks[node.label] = GraphTask(
            node.label, node.taskName, node.target, node.config.toToml(), c, quantaIndex, edges
        )

    def _prerequisite(self, label: str, conn: Connection, quanta: Table, quantaIndex: int):
        """A prerequisite's edge. A calibration product of a calibration repository is
        the one valid at each quantum's raw date: checked here, looked up again by the
        quantum's data ID when it runs (a ``same`` edge). An optional one is only looked
        up when the quantum runs; any other is found by its keys in the registries."""
        if conn.optional:
            return Edge(conn.name, conn.datasetType, quantaIndex, None, SAME)
        if self.butler.usesCalibRegistry(conn.datasetType):
            return self._calibEdge(label, conn, quanta, quantaIndex)
        return self._edge(label, conn, quanta, quantaIndex, True)

    def _calibEdge(self, label: str, conn: Connection, quanta: Table, quantaIndex: int) -> Edge:
        """A calibration's edge. Quanta without a valid calibration fail when they run
        (per data ID, as a single task's did), the run going on; when no quantum of the
        label has one, nothing could run: that is an error here, before anything runs."""
        from ..errors import ButlerError, NoResults

        missing = []
        for i in range(len(quanta)):
            dataId = self._decoded(quanta, i)
            try:
                self.butler.getUri(conn.datasetType, dataId)
            except NoResults as exc:
                where = self._missingMessage(label, conn, quanta, i, None, True)
                missing.append(f"{where} ({exc})")
            except ButlerError as exc:
                missing.append(
                    f"label {label!r}, quantum {formatDataId(dataId)}: {conn.kind} "
                    f"{conn.name!r} (dataset type {conn.datasetType!r}): {exc}"
                )
        if missing and len(missing) == len(quanta):
            more = f" (and {len(missing) - 1} more quanta)" if len(missing) > 1 else ""
            raise GraphError(missing[0] + more)
        if missing:
            log.warning(
                "%d of %d quanta of label %r will fail for want of %s %r; the first: %s",
                len(missing), len(quanta), label, conn.kind, conn.name, missing[0],
            )  # fmt: skip
        return Edge(conn.name, conn.datasetType, quantaIndex, None, SAME)

    def _decoded(self, table: Table, i: int) -> dict[str, Any]:
        decode = self.codec.decode
        return {k: decode(k, v) for k, v in zip(table.dimensions, table.row(i), strict=True)}

    def _edge(self, label: str, conn: Connection, quanta: Table, quantaIndex: int, prereq: bool):
        srcIndex, producer = self._source(conn, prereq)
        source = self.tables[srcIndex]
        dims = quanta.dimensions
        if srcIndex == quantaIndex:
            return Edge(conn.name, conn.datasetType, srcIndex, producer, SAME)
        if set(source.dimensions) <= set(dims):
            lookup = self._index(srcIndex, source.dimensions)
            index = array("q")
            append = index.append
            get = lookup.get
            for i, key in enumerate(quanta.keys(source.dimensions)):
                row = get(key)
                if row is None:
                    raise GraphError(self._missingMessage(label, conn, quanta, i, producer, prereq))
                append(row)
            return Edge(conn.name, conn.datasetType, srcIndex, producer, INDEX, index)
        if not conn.multiple:
            raise GraphError(
                f"label {label!r}: {conn.kind} {conn.name!r} has keys "
                f"{', '.join(source.dimensions)}, more than the task's; declare it multiple"
            )
        groupDims = tuple(k for k in dims if k in source.dimensions)
        groups: dict[Any, list[int]] = {}
        for row, key in enumerate(source.keys(groupDims)):
            groups.setdefault(key, []).append(row)
        offsets, rows = array("q", [0]), array("q")
        for i, key in enumerate(quanta.keys(groupDims)):
            found = groups.get(key)
            if not found:
                raise GraphError(self._missingMessage(label, conn, quanta, i, producer, prereq))
            rows.extend(found)
            offsets.append(len(rows))
        return Edge(conn.name, conn.datasetType, srcIndex, producer, GATHER, rows, offsets)

    # -- messages ------------------------------------------------------------------------
    def _rowId(self, table: Table, i: int, dims: Sequence[str]) -> str:
        values = self._decoded(table, i)
        return formatDataId({k: values[k] for k in dims})

    def _where(self, producer: str | None, prereq: bool) -> str:
        if producer is not None:
            return f"label {producer!r} writes none for it"
        if prereq:
            return "not in the calib repository (--calib) or the input chain"
        return f"not in {self.butler.root}" + (
            f" matching {', '.join(map(str, self.queries))}" if self.queries else ""
        )

    def _missingMessage(self, label, conn, quanta, i, producer, prereq) -> str:
        dims = tuple(k for k in quanta.dimensions if k in conn.dimensions)
        return (
            f"label {label!r}, quantum {self._rowId(quanta, i, quanta.dimensions)}: "
            f"{conn.kind} {conn.name!r} (dataset type {conn.datasetType!r}) is missing for "
            f"data ID {self._rowId(quanta, i, dims)}: {self._where(producer, prereq)}"
        )

    def _emptyMessage(self, label: str, conn: Connection, producer: str | None) -> str:
        if producer is not None:
            return (
                f"label {label!r} has no quanta: label {producer!r} writes no {conn.datasetType!r}"
            )
        query = ", ".join(map(str, self.queries)) or "--id"
        return (
            f"empty graph: label {label!r}, input {conn.name!r} (dataset type "
            f"{conn.datasetType!r}) has no data ID matching {query} in {self.butler.root}"
        )


def _group(source: Table, dims: tuple[str, ...]) -> tuple[Table, array, array]:
    """Distinct projections of ``source`` on ``dims`` (a table, in key order) and, per
    projection, the source rows (offsets and rows)."""
    groups: dict[Any, list[int]] = {}
    for row, key in enumerate(source.keys(dims)):
        groups.setdefault(key, []).append(row)
    ordered = sorted(groups)
    columns = tuple(array("q") for _ in dims)
    offsets, rows = array("q", [0]), array("q")
    for key in ordered:
        values = (key,) if len(dims) == 1 else key
        for column, value in zip(columns, values, strict=True):
            column.append(value)
        rows.extend(groups[key])
        offsets.append(len(rows))
    return Table(dims, columns), offsets, rows
