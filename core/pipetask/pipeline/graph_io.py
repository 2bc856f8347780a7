"""The quantum graph as one file in the output repository, written atomically.

Layout: 8 magic bytes, the length of a JSON header (8 bytes, little-endian), the header
(camera keys, string codes, labels with their task, config and connections, tables and
edges, each array as ``[typecode, offset, length]``), then the arrays' raw bytes.
"""

from __future__ import annotations

import json
import sys
from array import array
from pathlib import Path

from ..butler.atomic import writeAtomic
from ..errors import ButlerError
from .connections import Connection, TaskConnections
from .graph import Edge, GraphTask, KeyCodec, QuantumGraph, Table

MAGIC = b"PTQGRAF1"
FILENAME = "quantum_graph.qgraph"
_TYPES = {"int": int, "str": str}


def graphPath(outputRoot: str | Path) -> Path:
    """Where the graph of the last run into an output repository is stored."""
    return Path(outputRoot) / FILENAME


def _connection(c: Connection) -> list:
    return [c.name, c.kind, c.datasetType, list(c.dimensions), c.multiple]


def _fromConnection(item: list) -> Connection:
    return Connection(item[0], item[1], item[2], tuple(item[3]), bool(item[4]))


def graphBytes(graph: QuantumGraph) -> bytes:
    """The file contents for ``graph``."""
    blobs: list[bytes] = []
    offset = 0

    def put(values: array | None) -> list | None:
        nonlocal offset
        if values is None:
            return None
        data = values.tobytes()
        blobs.append(data)
        ref = [values.typecode, offset, len(values)]
        offset += len(data)
        return ref

    tables = [
        {"dimensions": list(t.dimensions), "columns": [put(c) for c in t.columns]}
        for t in graph.tables
    ]
    tasks = []
    for task in graph.tasks.values():
        c = task.connections
        tasks.append(
            {
                "label": task.label,
                "task": task.taskName,
                "target": task.target,
                "config": task.configText,
                "dimensions": list(c.dimensions),
                "connections": [_connection(x) for x in c.all()],
                "quanta": task.quanta,
                "edges": [
                    {
                        "connection": e.connection,
                        "datasetType": e.datasetType,
                        "source": e.source,
                        "producer": e.producer,
                        "mode": e.mode,
                        "index": put(e.index),
                        "offsets": put(e.offsets),
                    }
                    for e in task.edges.values()
                ],
            }
        )
    header = {
        "version": 1,
        "byteorder": sys.byteorder,
        "keys": {k: t.__name__ for k, t in graph.codec.keys.items()},
        "strings": graph.codec.strings,
        "tables": tables,
        "tasks": tasks,
        "meta": graph.meta,
    }
    head = json.dumps(header, separators=(",", ":")).encode()
    return b"".join([MAGIC, len(head).to_bytes(8, "little"), head, *blobs])


def saveGraph(graph: QuantumGraph, outputRoot: str | Path) -> Path:
    """Write the graph into the output repository (atomically); returns the path."""
    path = graphPath(outputRoot)
    data = graphBytes(graph)

    def write(tmp: str) -> None:
        with open(tmp, "wb") as stream:
            stream.write(data)

    writeAtomic(path, write)
    return path


def loadGraph(path: str | Path) -> QuantumGraph:
    """Read a graph file (an output repository's, or any path)."""
    path = Path(path)
    if path.is_dir():
        path = graphPath(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ButlerError(f"no quantum graph at {str(path)!r}") from None
    except OSError as exc:
        raise ButlerError(f"cannot read quantum graph {str(path)!r}: {exc.strerror}") from None
    try:
        return _parse(data)
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        raise ButlerError(f"quantum graph {str(path)!r} is damaged: {exc}") from None


def _parse(data: bytes) -> QuantumGraph:
    if data[: len(MAGIC)] != MAGIC:
        raise ValueError("not a pipetask quantum graph file")
    size = int.from_bytes(data[8:16], "little")
    header = json.loads(data[16 : 16 + size])
    body = memoryview(data)[16 + size :]
    swap = header["byteorder"] != sys.byteorder

    def get(ref: list | None) -> array | None:
        if ref is None:
            return None
        typecode, offset, length = ref
        values = array(typecode)
        end = offset + length * values.itemsize
        if end > len(body):
            raise ValueError("truncated")
        values.frombytes(body[offset:end])
        if swap:
            values.byteswap()
        return values

    keys = {k: _TYPES[t] for k, t in header["keys"].items()}
    codec = KeyCodec(keys, header["strings"])
    tables = [
        Table(tuple(t["dimensions"]), tuple(get(c) for c in t["columns"]))  # type: ignore[misc]
        for t in header["tables"]
    ]
    tasks: dict[str, GraphTask] = {}
    for item in header["tasks"]:
        conns = [_fromConnection(x) for x in item["connections"]]
        connections = TaskConnections(
            tuple(item["dimensions"]),
            tuple(c for c in conns if c.kind == "input"),
            tuple(c for c in conns if c.kind == "prerequisite"),
            tuple(c for c in conns if c.kind == "output"),
        )
        edges = {
            e["connection"]: Edge(
                e["connection"],
                e["datasetType"],
                e["source"],
                e["producer"],
                e["mode"],
                get(e["index"]),
                get(e["offsets"]),
            )
            for e in item["edges"]
        }
        tasks[item["label"]] = GraphTask(
            item["label"],
            item["task"],
            item["target"],
            item["config"],
            connections,
            item["quanta"],
            edges,
        )
    return QuantumGraph(codec, tables, tasks, header.get("meta"))
