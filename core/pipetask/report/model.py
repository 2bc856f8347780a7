"""What an HTML report shows, as plain data (built by the caller from a run's record)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Quantum statuses, in the order the page lists them.
STATUSES = ("succeeded", "failed", "blocked", "skipped", "not run")


def dataIdOrder(dataId: dict[str, Any]) -> tuple:
    """A sort key of data IDs: in their own key order (the camera's), numbers before
    strings, numbers by value."""
    return tuple(
        (k, (0, v, "") if isinstance(v, (int, float)) else (1, 0, str(v)))
        for k, v in dataId.items()
    )


@dataclass(slots=True)
class QuantumRow:
    """One quantum (a task on one data ID) of a run."""

    label: str
    dataId: dict[str, Any]
    status: str
    wallTime: float | None = None
    peakMemory: float | None = None  # bytes
    error: str = ""
    errorType: str = ""
    traceback: str = ""
    inputs: list[tuple[str, str]] = field(default_factory=list)  # (dataset type, path)
    outputs: list[tuple[str, str]] = field(default_factory=list)
    configHash: str = ""
    rerunBase: list[str] = field(default_factory=list)  # its run's command without --id
    quantum: int | None = None  # its index in the stored quantum graph


@dataclass
class Figure:
    """An image shown on the page: PNG bytes, a caption, and where it came from."""

    caption: str
    png: bytes
    source: str = ""


@dataclass
class Plot:
    """Points to plot: one series of (x, y) per name, with axis labels."""

    title: str
    xLabel: str
    yLabel: str
    series: dict[str, list[tuple[float, float]]]


@dataclass
class FocalPlane:
    """Per-detector values laid out as the camera's focal plane.

    ``boxes`` maps a detector name to ``(x0, y0, x1, y1)`` in focal-plane units; ``values``
    maps a detector name to the value shown in it; ``group`` (a visit) is the heading the
    page shows it under.
    """

    title: str
    boxes: dict[str, tuple[float, float, float, float]]
    values: dict[str, float]
    unit: str = ""
    group: str = ""


@dataclass
class TaskConfig:
    """One task's effective config and its differences from the defaults."""

    label: str
    taskName: str
    toml: str
    differences: list[str] = field(default_factory=list)


@dataclass
class RunReport:
    """Everything one report page shows."""

    title: str
    repository: str
    runs: list[str]
    complete: bool
    quanta: list[QuantumRow]
    edges: list[tuple[str, str]] = field(default_factory=list)  # (upstream, downstream)
    labels: list[str] = field(default_factory=list)
    configs: list[TaskConfig] = field(default_factory=list)
    packages: dict[str, str] = field(default_factory=dict)
    figures: list[Figure] = field(default_factory=list)
    plots: list[Plot] = field(default_factory=list)
    focalPlanes: list[FocalPlane] = field(default_factory=list)  # per visit and number
    rerunBase: list[str] = field(default_factory=list)  # argv before the --id options
    notes: list[str] = field(default_factory=list)
    charts: list[Plot] = field(default_factory=list)  # per detector, without a layout
