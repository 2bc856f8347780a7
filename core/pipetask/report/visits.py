"""Per-visit plots of per-detector numbers (source counts, PSF width, background).

The numbers come from plugins (the ``pipetask_measurers`` hook: the core reads no
catalogs). Where the camera gives its detectors' focal-plane positions, each visit's
numbers are drawn as the focal plane; otherwise as a chart of each number per detector
(per visit, for a one-detector camera). Only a few visits are read: the report stays fast.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from ..errors import PipetaskError
from .model import FocalPlane, Plot, QuantumRow, dataIdOrder

#: Visits plotted, and data IDs measured at most (each reads a few small files).
MAX_VISITS = 4
MAX_DATA_IDS = 64

Measures = dict[str, dict[tuple, dict[int, float]]]  # name -> visit -> x -> value


def visitPlots(butler: Any, rows: Iterable[QuantumRow]) -> tuple[list[FocalPlane], list[Plot]]:
    """Focal planes (one per visit and number) when the camera has a layout, else charts
    (one per number), from the first :data:`MAX_VISITS` visits that succeeded (the first
    :data:`MAX_DATA_IDS` for a one-detector camera)."""
    from ..plugins import catalog, load

    makers = catalog().items["measure"]
    if not makers:
        return [], []
    camera = butler.camera
    detectorKey = camera.calibSpec.detectorKey
    xKey = detectorKey or next((k for k, t in camera.keys.items() if t is int), None)
    limit = MAX_VISITS if detectorKey else MAX_DATA_IDS  # one detector: a point per visit
    visits = _visits(rows, set(camera.keys), detectorKey, limit)
    measures: Measures = {}
    budget = MAX_DATA_IDS
    detectors = [d.id for d in camera.detectors] if detectorKey else []
    for visit in sorted(visits, key=_sortKey):
        dataIds = {tuple(sorted(d.items())): d for d in visits[visit]}
        for number in detectors:
            dataId = {**dict(visit), detectorKey: number}
            dataIds.setdefault(tuple(sorted(dataId.items())), dataId)
        for key in sorted(dataIds, key=_sortKey)[:budget]:
            dataId = dataIds[key]
            budget -= 1
            x = dataId.get(xKey, 0) if xKey else 0
            for datasetType, maker in makers.items():
                for name, value in _measure(butler, load, maker.target, datasetType, dataId):
                    measures.setdefault(name, {}).setdefault(visit, {})[x] = value
    layout = camera.focalPlaneLayout() if detectorKey else {}
    if layout:
        return _focalPlanes(measures, layout), []
    return [], _charts(measures, xKey or "data ID", oneSeries=detectorKey is None)


def _visits(
    rows: Iterable[QuantumRow], keys: set[str], detectorKey: str | None, limit: int
) -> dict[tuple, list[dict[str, Any]]]:
    """The first ``limit`` visits that succeeded, each with its data IDs: those met up to
    there, and one per detector of the camera (the measurers skip the missing ones).
    Rows are read only until the visits are known: the report of a large run stays fast."""
    visits: dict[tuple, dict[tuple, dict[str, Any]]] = {}
    for row in rows:
        if row.status != "succeeded" or not keys.issuperset(row.dataId):
            continue
        visit = tuple((k, v) for k, v in row.dataId.items() if k != detectorKey)
        found = visits.get(visit)
        if found is None:
            if len(visits) >= limit:
                break
            found = visits[visit] = {}
        found.setdefault(tuple(row.dataId.items()), row.dataId)
    return {visit: list(ids.values()) for visit, ids in visits.items()}


def _sortKey(items: Iterable[tuple[str, Any]]) -> tuple:
    return dataIdOrder(dict(items))


def _measure(butler: Any, load, target: str, datasetType: str, dataId: dict[str, Any]):
    """``(name, value)`` pairs of one measurer on one dataset; none if it cannot be read."""
    try:
        if not butler.datasetExists(datasetType, dataId):
            return []
        found = load(target)(butler, datasetType, dataId)
    except (PipetaskError, OSError, ValueError, KeyError, TypeError):
        return []
    return [
        (str(name), float(value))
        for name, value in (found or {}).items()
        if isinstance(value, (int, float)) and math.isfinite(value)
    ]


def _visitText(visit: tuple) -> str:
    return " ".join(f"{k}={v}" for k, v in visit)


def _focalPlanes(measures: Measures, layout: dict) -> list[FocalPlane]:
    """One focal plane per visit and number, the visit's numbers side by side."""
    boxes = {name: box for name, box in layout.values()}
    planes: list[tuple[tuple, int, FocalPlane]] = []
    for order, (name, byVisit) in enumerate(measures.items()):
        title, unit = _split(name)
        for visit, values in byVisit.items():
            named = {layout[x][0]: v for x, v in values.items() if x in layout}
            if named:
                plane = FocalPlane(title, boxes, named, unit, _visitText(visit))
                planes.append((visit, order, plane))
    planes.sort(key=lambda p: (_sortKey(p[0]), p[1]))
    return [plane for _, _, plane in planes]


def _charts(measures: Measures, xKey: str, oneSeries: bool) -> list[Plot]:
    """One chart per number: against the detector, a series per visit (or, for a
    one-detector camera, against the visit)."""
    plots = []
    for name, byVisit in measures.items():
        series: dict[str, list[tuple[float, float]]] = {}
        for visit, values in sorted(byVisit.items(), key=lambda item: _sortKey(item[0])):
            label = "" if oneSeries else _visitText(visit)
            series.setdefault(label, []).extend((float(x), v) for x, v in sorted(values.items()))
        plots.append(Plot(f"{_split(name)[0]} per {xKey}", xKey, name, series))
    return plots


def _split(name: str) -> tuple[str, str]:
    """``"PSF FWHM (px)"`` -> ``("PSF FWHM", "px")``."""
    if name.endswith(")") and " (" in name:
        title, _, unit = name[:-1].rpartition(" (")
        return title, unit
    return name, ""
