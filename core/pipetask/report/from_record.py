"""Build a :class:`~.model.RunReport` from an output repository: its run records, the
stored quantum graph, stored configs and package versions, and thumbnails from plugins."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..errors import ButlerError, PipetaskError
from ..outcomes import NOT_RUN, RunRecord, readRuns
from .model import (
    Figure,
    FocalPlane,
    Plot,
    QuantumRow,
    RunReport,
    TaskConfig,
    dataIdOrder,
)

#: Record statuses as the page names them.
STATUS_NAMES = {"ok": "succeeded", "failed": "failed", "skipped": "skipped", NOT_RUN: NOT_RUN}
#: At most this many thumbnails, spread over the run's data IDs.
THUMBNAILS = 6
THUMBNAIL_SIZE = 320
#: Dataset types preferred for thumbnails, best first; others follow in graph order.
PREFERRED_IMAGES = ("calexp", "postISRCCD")
#: An exception's name at the start of a message: ``TaskError:``, ``NoResults:``, ``os.Error``.
_ERROR_TYPE = re.compile(
    r"^((?:[A-Za-z_]\w*\.)*(?:[\w]*(?:Error|Exception|Interrupt|Exit)|(?:[A-Z][a-z0-9]+){2,}))"
    r"(?=:|\s|$)"
)


def buildReport(
    repo: str, *, thumbnails: int = THUMBNAILS, runs: list[RunRecord] | None = None
) -> RunReport:
    """Everything ``pipetask report REPO --html`` shows, read from ``repo`` (``runs``: its
    run records, when the caller has read them already)."""
    runs = readRuns(repo) if runs is None else runs
    graph = _loadGraph(repo)
    rows = _latestRows(runs)
    # the stored graph is the last run's: labels of earlier runs of other tasks follow it
    labels = list(
        dict.fromkeys([*(graph.tasks if graph is not None else ()), *_labelsInOrder(rows)])
    )
    edges = _edges(graph) if graph is not None else []
    if graph is not None:
        _addDatasets(rows, graph, repo)
    latest = runs[-1] if runs else None
    report = RunReport(
        title=f"pipetask report: {os.path.basename(os.path.abspath(repo))}",
        repository=os.path.abspath(repo),
        runs=[f"{r.task}/{r.run}" for r in runs],
        complete=all(r.finished or r.running() for r in runs),
        quanta=rows,
        edges=edges,
        labels=labels,
        configs=_configs(repo, graph),
        packages=_packages(repo),
        rerunBase=_rerunBase(latest.header.get("argv")) if latest else [],
    )
    if latest is not None and latest.running():
        report.notes.append("The latest run is still running: this is a snapshot.")
    report.figures = _figures(repo, rows, graph, thumbnails)
    report.focalPlanes, report.charts = _visitPlots(repo, rows)
    report.plots = sweepPlots(repo)
    return report


#: Series per sweep plot (data IDs); the rest are left out of the plot, not of the table.
SWEEP_SERIES = 12


def sweepPlots(repo: str) -> list[Plot]:
    """For a sweep's output: each numeric metric against each swept field, one series
    per data ID (values of the other swept fields folded into the series name)."""
    from ..pipeline.sweep_table import sweepTable

    table = sweepTable(repo)
    plots: list[Plot] = []
    for field in table["fields"]:
        for datasetType, names in table["metrics"].items():
            for metric in names:
                series: dict[str, list[tuple[float, float]]] = {}
                for row in table["rows"]:
                    x, y = row["values"].get(field), row["metrics"].get(metric)
                    if row["datasetType"] != datasetType or x is None or y is None:
                        continue
                    others = {f: v for f, v in row["values"].items() if f != field}
                    name = " ".join(f"{k}={v}" for k, v in {**row["dataId"], **others}.items())
                    if name in series or len(series) < SWEEP_SERIES:
                        series.setdefault(name, []).append((float(x), float(y)))
                if series:
                    plots.append(Plot(f"{datasetType} {metric}", field, metric, series))
    return plots


def _loadGraph(repo: str) -> Any:
    from ..pipeline.graph_io import graphPath, loadGraph

    path = graphPath(repo)
    if not path.is_file():
        return None
    try:
        return loadGraph(path)
    except PipetaskError as exc:
        raise ButlerError(f"cannot read the quantum graph {path}: {exc}") from None


def _latestRows(runs: Iterable[RunRecord]) -> list[QuantumRow]:
    """The latest outcome of each (label, data ID), not-run ones included."""
    latest: dict[tuple, QuantumRow] = {}
    names, number = STATUS_NAMES, (float, int)
    for record in runs:
        base = _rerunBase(record.header.get("argv"))
        outcomes = [] if record.running() else record.notRun()
        for outcome in [*outcomes, *record.outcomes]:
            extra = outcome.extra
            status = names.get(outcome.status) or outcome.status
            error = outcome.error
            wall, memory = extra.get("duration"), extra.get("maxRss")
            row = QuantumRow(
                outcome.task,  # a pipeline quantum's label
                outcome.dataId,
                status,
                float(wall) if wall.__class__ in number else None,
                float(memory) if memory.__class__ in number else None,
                error,
            )
            row.rerunBase = base
            row.quantum = extra.get("quantum")
            row.configHash = str(extra.get("configHash") or "")
            if status == "failed":
                if error.startswith("blocked by"):
                    row.status = "blocked"
                else:
                    found = _ERROR_TYPE.match(error)
                    row.errorType = found.group(1) if found else ""
                    row.traceback = str(extra.get("traceback") or "")
            # data IDs are recorded in the camera's key order: their items are their key
            latest[(row.label, tuple(outcome.dataId.items()))] = row
    return list(latest.values())


def _labelsInOrder(rows: Iterable[QuantumRow]) -> list[str]:
    return list(dict.fromkeys(row.label for row in rows))


def _edges(graph: Any) -> list[tuple[str, str]]:
    found = []
    for label, task in graph.tasks.items():
        for edge in task.edges.values():
            if edge.producer is not None and (edge.producer, label) not in found:
                found.append((edge.producer, label))
    return found


def _addDatasets(rows: list[QuantumRow], graph: Any, repo: str) -> None:
    """Inputs and outputs (dataset type, path) of each row, from the graph's connections
    and the camera's path templates (no registry query per quantum)."""
    from ..butler import Butler

    try:
        butler = Butler(repo)
    except PipetaskError:
        return
    try:
        templates: dict[str, Any] = {}
        indexes: dict[str, dict[tuple, int]] = {}

        def path(datasetType: str, dataId: dict[str, Any]) -> str:
            if datasetType not in templates:
                try:
                    templates[datasetType] = butler.getDatasetType(datasetType)
                except PipetaskError:
                    templates[datasetType] = None
            kind = templates[datasetType]
            try:
                return kind.path(dataId) if kind is not None else ""
            except (KeyError, ValueError):
                return ""

        for row in rows:
            task = graph.tasks.get(row.label)
            if task is None:
                continue
            index = _quantumOf(graph, row, indexes)
            inputs = graph.inputs(row.label, index) if index is not None else {}
            for name, dataIds in inputs.items():
                datasetType = task.connections.byName(name).datasetType
                row.inputs += [(datasetType, path(datasetType, d)) for d in dataIds]
            for conn in task.connections.outputs:
                row.outputs.append((conn.datasetType, path(conn.datasetType, row.dataId)))
    finally:
        butler.close()


def _quantumOf(graph: Any, row: QuantumRow, indexes: dict[str, dict[tuple, int]]) -> int | None:
    """The index of ``row``'s quantum in the stored graph (the last run's), or None when
    that graph does not hold it: a row recorded by an earlier run keeps the index it had
    in that run's graph, so it is looked up by its data ID."""
    index, count = row.quantum, graph.count(row.label)
    if isinstance(index, int) and index < count and graph.dataId(row.label, index) == row.dataId:
        return index
    if row.label not in indexes:
        byDataId = (tuple(graph.dataId(row.label, i).items()) for i in range(count))
        indexes[row.label] = {key: i for i, key in enumerate(byDataId)}
    return indexes[row.label].get(tuple(row.dataId.items()))


def _configs(repo: str, graph: Any) -> list[TaskConfig]:
    """Each label's config (from the graph, then the stored task configs of labels the
    graph lacks) with its differences from the task's defaults."""
    found: list[tuple[str, str, str]] = []
    if graph is not None:
        found = [(label, t.taskName, t.configText) for label, t in graph.tasks.items()]
    for path in sorted(Path(repo, "config").glob("*.toml")):
        if graph is not None and path.stem in graph.tasks:
            continue
        try:
            found.append((path.stem, path.stem, path.read_text(encoding="utf-8")))
        except (OSError, UnicodeDecodeError) as exc:
            raise ButlerError(f"cannot read the stored config {path}: {exc}") from None
    return [TaskConfig(label, task, text, _differences(task, text)) for label, task, text in found]


def _differences(taskName: str, text: str) -> list[str]:
    """``field: default != value`` lines, or one line saying why none could be computed."""
    from ..plugins import catalog, load

    try:
        taskClass = load(catalog().get("task", taskName).target)
        configClass = taskClass.ConfigClass
        return list(configClass().differences(configClass.fromToml(text)))
    except PipetaskError as exc:
        return [f"(differences not computed: {exc})"]


def _packages(repo: str) -> dict[str, str]:
    path = Path(repo, "config", "packages.json")
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ButlerError(f"cannot read the stored package versions {path}: {exc}") from None
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _rerunBase(argv: Any) -> list[str]:
    """The run's command line without its ``--id`` options (and their values)."""
    if not isinstance(argv, list) or not argv:
        return []
    base, skipping = ["pipetask"], False
    for token in argv[1:]:
        if token == "--id":
            skipping = True
            continue
        if skipping and not token.startswith("-"):
            continue
        skipping = False
        base.append(str(token))
    return base


def _figures(repo: str, rows: list[QuantumRow], graph: Any, limit: int) -> list[Figure]:
    """Thumbnails of a few succeeded data IDs' image outputs, drawn by plugins."""
    if limit <= 0:
        return []
    from ..butler import Butler
    from ..plugins import catalog, load

    makers = catalog().items["thumbnail"]
    if not makers:
        return []
    outputs = (
        [c.datasetType for t in graph.tasks.values() for c in t.connections.outputs]
        if graph
        else []
    )
    order = [d for d in PREFERRED_IMAGES if d in outputs or not graph] + [
        d for d in outputs if d not in PREFERRED_IMAGES
    ]
    ok = [row for row in rows if row.status == "succeeded"]
    candidates = ok[:: max(1, len(ok) // (limit * 8))]  # each data ID is in several labels
    unique = list({tuple(sorted(r.dataId.items())): r for r in candidates}.values())
    picked = sorted(unique[:: max(1, len(unique) // limit)], key=lambda r: dataIdOrder(r.dataId))
    figures: list[Figure] = []
    try:
        butler = Butler(repo)
    except PipetaskError:
        return []
    try:
        seen = set()
        for datasetType in order:
            maker = makers.get(datasetType) or makers.get("*")
            if maker is None:
                continue
            for row in picked:
                key = (datasetType, tuple(sorted(row.dataId.items())))
                if key in seen or len(figures) >= limit:
                    continue
                try:
                    if not butler.datasetExists(datasetType, row.dataId):
                        continue
                    png = load(maker.target)(butler, datasetType, row.dataId, size=THUMBNAIL_SIZE)
                except (PipetaskError, OSError, ValueError, KeyError):
                    continue
                if png:
                    seen.add(key)
                    ids = " ".join(f"{k}={v}" for k, v in row.dataId.items())
                    figures.append(Figure(f"{datasetType} {ids}", png, datasetType))
            if figures:
                break
    finally:
        butler.close()
    return figures


def _visitPlots(repo: str, rows: list[QuantumRow]) -> tuple[list[FocalPlane], list[Plot]]:
    """Per-visit focal planes or per-detector charts of what plugins measure."""
    from ..butler import Butler
    from .visits import visitPlots

    try:
        butler = Butler(repo)
    except PipetaskError:
        return [], []
    try:
        return visitPlots(butler, rows)
    finally:
        butler.close()
