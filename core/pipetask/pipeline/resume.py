"""Resume (``--skip-existing``): which quanta of a stored graph are already done, and why
the others run again.

A quantum is done when every output it writes is registered in the output repository
(and its file is there);
a quantum that writes nothing is done when the run records of the output say it
succeeded. A label whose config changed is redone only when the user replaced the stored
config (``--clobber-config``); otherwise the run is refused before anything runs.
"""

from __future__ import annotations

import logging
import os
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from .graph import QuantumGraph
from .record import quantumKey

log = logging.getLogger("pipetask")
CONFIG_REPLACED = "config replaced (--clobber-config)"
INPUT_REDONE = "an input is redone"
NO_RECORD = "no recorded success (it writes no dataset)"


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
    why: dict[tuple[str, int], str] | None = None,
) -> tuple[list[tuple[str, int]], Counter]:
    """``(done quanta, reasons the others run)``.

    ``succeeded`` holds the :func:`~pipetask.pipeline.record.quantumKey` of quanta recorded
    as succeeded (used for labels without outputs); ``redo`` names labels whose stored
    config was replaced; ``butlerOf(label)``, when given, is the Butler whose output a
    label writes into (a sweep variant's). ``why``, when given, receives the reason of
    each quantum that runs (for ``--show graph``).
    """
    why = {} if why is None else why
    redo = set(redo)
    previous = set(succeeded)
    outputs: dict[tuple[str, str], _Outputs] = {}
    done: dict[str, list[int]] = {}
    reasons: Counter = Counter()
    for label, task in graph.tasks.items():
        count = graph.count(label)
        if label in redo:
            reasons[f"{label}: {CONFIG_REPLACED}"] += count
            why.update(((label, i), CONFIG_REPLACED) for i in range(count))
            continue
        table = graph.tables[task.quanta]
        dims = table.dimensions
        keys = list(table.keys(dims))
        if len(dims) == 1:
            keys = [(k,) for k in keys]
        decode = graph.codec.decode
        if not all(graph.codec.keys[d] is int for d in dims):  # int keys are their own codes
            keys = [tuple(decode(d, v) for d, v in zip(dims, k, strict=True)) for k in keys]
        if task.connections.outputs:
            where = butler if butlerOf is None else butlerOf(label)
            found = [
                _outputsOf(outputs, where, c.datasetType, dims) for c in task.connections.outputs
            ]
            complete = found[0].complete
            if len(found) > 1:
                complete = set(complete).intersection(*(f.complete for f in found[1:]))
            done[label] = [i for i, key in enumerate(keys) if key in complete]
            if len(done[label]) < count:
                for i, key in enumerate(keys):
                    if key in complete:
                        continue
                    if all(key in f.registered for f in found):
                        reason = "an output's file was removed"
                    else:
                        reason = "outputs missing"
                    reasons[f"{label}: {reason}"] += 1
                    why[label, i] = reason
        else:
            done[label] = []
            for i, key in enumerate(keys):
                if quantumKey(label, dict(zip(dims, key, strict=True))) in previous:
                    done[label].append(i)
                else:
                    reasons[f"{label}: {NO_RECORD}"] += 1
                    why[label, i] = NO_RECORD
    _keepDoneInputs(graph, done, reasons, why)
    return [(label, i) for label, indices in done.items() for i in indices], reasons


class _Outputs:
    """The datasets of one type registered in an output, by their keys over ``dims``:
    ``registered``, and ``complete`` (those whose file is there: a file removed behind
    the registry's back makes its quantum run again).

    One registry query gives keys and paths; each folder the paths lie in is listed once
    and the paths not listed are found with one set difference, so a run of 10^5 quanta
    is decided without a look-up per quantum.
    """

    def __init__(self, butler: Any, datasetType: str, dims: tuple[str, ...]) -> None:
        paths = butler.outputPaths(datasetType, dims)
        self.registered = paths.keys()
        missing = _unlisted(str(butler.outputRoot), paths.values())
        self.complete: Any = paths.keys()  # a view: no copy of 10^5 keys
        if missing:
            self.complete = {key for key, path in paths.items() if path not in missing}


def _unlisted(root: str, paths: Iterable[str]) -> set[str]:
    """Those of ``paths`` (relative to ``root``, ``/``-separated) whose file is not there."""
    byFolder: dict[str, list[str]] = {}
    for path in paths:
        folder, _, name = path.rpartition("/")
        names = byFolder.get(folder)
        if names is None:
            names = byFolder[folder] = []
        names.append(name)
    missing: set[str] = set()
    for folder, names in byFolder.items():
        try:
            listed = set(os.listdir(os.path.join(root, folder)))
        except OSError:  # the folder is gone (or unreadable): none of its files is there
            listed = set()
        if not listed.issuperset(names):
            prefix = f"{folder}/" if folder else ""
            missing.update(prefix + name for name in names if name not in listed)
    return missing


def _outputsOf(cache: dict, butler: Any, datasetType: str, dims: tuple) -> _Outputs:
    key = (str(butler.outputRoot), datasetType)
    found = cache.get(key)
    if found is None:
        found = cache[key] = _Outputs(butler, datasetType, dims)
    return found


def _keepDoneInputs(
    graph: QuantumGraph, done: dict[str, list[int]], reasons: Counter, why: dict
) -> None:
    """Keep a quantum as done (``done``: label -> indices) only if every quantum it reads
    from is done too (a redone input makes its readers stale)."""
    kept: dict[str, set[int]] = {}
    for label, task in graph.tasks.items():  # dependency order
        mine = done.get(label, [])
        edges = [edge for edge in task.edges.values() if edge.producer is not None]
        if edges:
            stale = [
                i
                for i in mine
                if not all(r in kept[e.producer] for e in edges for r in e.rows(i))  # type: ignore[index]
            ]
            if stale:
                reasons[f"{label}: {INPUT_REDONE}"] += len(stale)
                why.update(((label, i), INPUT_REDONE) for i in stale)
                staleSet = set(stale)
                mine = done[label] = [i for i in mine if i not in staleSet]
        kept[label] = set(mine)
