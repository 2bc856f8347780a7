"""Resume (``--skip-existing``): which quanta of a stored graph are already done, and why
the others run again.

A quantum is done when every output it writes is registered in the output repository;
a quantum that writes nothing is done when the run records of the output say it
succeeded. A label whose config changed is redone only when the user replaced the stored
config (``--clobber-config``); otherwise the run is refused before anything runs.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from .graph import QuantumGraph
from .record import quantumKey

log = logging.getLogger("pipetask")


def storedGraph(pipeline: Any, queries: list, outputRoot: str | Path) -> QuantumGraph | None:
    """The graph a previous run stored in the output, if it is the graph of this
    pipeline and ``--id`` (same labels, tasks and connections): resume reads it instead
    of building it again. Each label gets this run's config (a changed config is refused
    or, with ``--clobber-config``, redone: see :func:`doneQuanta`). None, saying why,
    when there is no stored graph or it is another run's."""
    from ..errors import ButlerError
    from .graph_io import graphPath, loadGraph

    path = graphPath(outputRoot)
    if not path.is_file():
        log.info("resume: no stored graph in the output; building it")
        return None
    try:
        graph = loadGraph(path)
    except ButlerError as exc:
        log.warning("resume: %s; building the graph again", exc)
        return None
    query = [str(q) for q in queries]
    why = ""
    if graph.meta.get("pipeline") != pipeline.source or graph.meta.get("outputs"):
        why = f"it was made for {graph.meta.get('pipeline')!r}"
    elif graph.meta.get("query") != query:
        why = f"it was made for {' '.join(graph.meta.get('query') or [])!r}"
    elif list(graph.tasks) != pipeline.labels or any(
        graph.tasks[label].target != node.target
        or graph.tasks[label].connections != node.connections
        for label, node in pipeline.nodes.items()
    ):
        why = "its labels, tasks or connections differ from this pipeline's"
    if why:
        log.info("resume: the stored graph does not fit this run (%s); building it", why)
        return None
    for label, node in pipeline.nodes.items():
        graph.tasks[label].configText = node.config.toToml()
    log.info("resume: read the stored graph %s (%d quanta)", path, len(graph))
    return graph


def doneQuanta(
    graph: QuantumGraph,
    butler: Any,
    succeeded: Iterable[tuple[str, tuple]] = (),
    redo: Iterable[str] = (),
    butlerOf: Callable[[str], Any] | None = None,
) -> tuple[list[tuple[str, int]], Counter]:
    """``(done quanta, reasons the others run)``.

    ``succeeded`` holds the :func:`~pipetask.pipeline.record.quantumKey` of quanta recorded
    as succeeded (used for labels without outputs); ``redo`` names labels whose stored
    config was replaced; ``butlerOf(label)``, when given, is the Butler whose output a
    label writes into (a sweep variant's).
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
            where = butler if butlerOf is None else butlerOf(label)
            found = [_registered(registered, where, c.datasetType, dims) for c in outputs]
            if all(graph.codec.keys[d] is int for d in dims):
                values = keys  # int keys are their own codes: no decoding
            else:
                values = [tuple(decode(d, v) for d, v in zip(dims, k, strict=True)) for k in keys]
            for i, value in enumerate(values):
                if all(value in s for s in found):
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
    for label, task in graph.tasks.items():  # dependency order
        mine = [d for d in done if d[0] == label]
        if all(edge.producer is None for edge in task.edges.values()):
            kept.update(mine)  # reads only what the repository holds
            continue
        for key in mine:
            if all(up in kept for up in graph.upstream(*key)):
                kept.add(key)
            else:
                reasons[f"{label}: an input is redone"] += 1
    return [d for d in done if d in kept]


def _registered(cache: dict, butler: Any, datasetType: str, dims: tuple) -> set:
    """Key tuples (over ``dims``) of a dataset type registered in the output only."""
    key = (str(butler.outputRoot), datasetType)
    found = cache.get(key)
    if found is None:
        found = set(butler.iterKeys(datasetType, dims, outputOnly=True))
        cache[key] = found
    return found
