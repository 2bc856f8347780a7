"""Resume (``--skip-existing``): which quanta of a stored graph are already done, and why
the others run again.

A quantum is done when every output it writes is registered in the output repository;
a quantum that writes nothing is done when the run records of the output say it
succeeded. A label whose config changed is redone only when the user replaced the stored
config (``--clobber-config``); otherwise the run is refused before anything runs.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any

from .graph import QuantumGraph
from .record import quantumKey


def doneQuanta(
    graph: QuantumGraph,
    butler: Any,
    succeeded: Iterable[tuple[str, tuple]] = (),
    redo: Iterable[str] = (),
) -> tuple[list[tuple[str, int]], Counter]:
    """``(done quanta, reasons the others run)``.

    ``succeeded`` holds the :func:`~pipetask.pipeline.record.quantumKey` of quanta recorded
    as succeeded (used for labels without outputs); ``redo`` names labels whose stored
    config was replaced.
    """
    redo = set(redo)
    previous = set(succeeded)
    registered: dict[str, set] = {}
    done: list[tuple[str, int]] = []
    reasons: Counter = Counter()
    for label, task in graph.tasks.items():
        count = graph.count(label)
        if label in redo:
            reasons[f"{label}: config replaced (--clobber-config)"] += count
            continue
        outputs = task.connections.outputs
        table = graph.tables[task.quanta]
        dims = table.dimensions
        keys = list(table.keys(dims))
        if len(dims) == 1:
            keys = [(k,) for k in keys]
        decode = graph.codec.decode
        if outputs:
            found = [_registered(registered, butler, c.datasetType, dims) for c in outputs]
            for i, key in enumerate(keys):
                values = tuple(decode(d, v) for d, v in zip(dims, key, strict=True))
                if all(values in s for s in found):
                    done.append((label, i))
                else:
                    reasons[f"{label}: outputs missing"] += 1
        else:
            for i, key in enumerate(keys):
                dataId = {d: decode(d, v) for d, v in zip(dims, key, strict=True)}
                if quantumKey(label, dataId) in previous:
                    done.append((label, i))
                else:
                    reasons[f"{label}: no recorded success (it writes no dataset)"] += 1
    return _withDoneInputs(graph, done, reasons), reasons


def _withDoneInputs(graph: QuantumGraph, done: list, reasons: Counter) -> list:
    """Keep a quantum as done only if every quantum it reads from is done too (a redone
    input makes its readers stale)."""
    kept: set[tuple[str, int]] = set()
    for label in graph.tasks:  # dependency order
        for key in (d for d in done if d[0] == label):
            if all(up in kept for up in graph.upstream(*key)):
                kept.add(key)
            else:
                reasons[f"{label}: an input is redone"] += 1
    return [d for d in done if d in kept]


def _registered(cache: dict[str, set], butler: Any, datasetType: str, dims: tuple) -> set:
    """Key tuples (over ``dims``) of a dataset type registered in the output only."""
    found = cache.get(datasetType)
    if found is None:
        found = set(butler.iterKeys(datasetType, dims, outputOnly=True))
        cache[datasetType] = found
    return found
