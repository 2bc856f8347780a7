"""Per-task summaries of a run's quanta: status counts, percentiles, histograms, failures."""

from __future__ import annotations

import math
from bisect import bisect_left
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from .model import STATUSES, QuantumRow


def percentile(sortedValues: Sequence[float], fraction: float) -> float:
    """Linear-interpolated percentile of already sorted values (``fraction`` in [0, 1])."""
    if not sortedValues:
        return math.nan
    position = fraction * (len(sortedValues) - 1)
    low = int(position)
    high = min(low + 1, len(sortedValues) - 1)
    return sortedValues[low] + (sortedValues[high] - sortedValues[low]) * (position - low)


def histogram(values: Sequence[float], bins: int = 20) -> tuple[float, float, list[int]]:
    """``(low, high, counts)`` of already sorted values in ``bins`` equal bins spanning
    their range."""
    if not values:
        return 0.0, 0.0, []
    low, high = values[0], values[-1]
    if high <= low:
        return low, high, [len(values)]
    width = (high - low) / bins
    edges = [bisect_left(values, low + width * i) for i in range(1, bins)]
    bounds = [0, *edges, len(values)]
    return low, high, [bounds[i + 1] - bounds[i] for i in range(bins)]


@dataclass
class Distribution:
    """p50 / p95 / max and a histogram of one measurement over a task's quanta."""

    count: int
    p50: float
    p95: float
    max: float
    low: float
    high: float
    counts: list[int]

    @classmethod
    def of(cls, values: Iterable[float | None]) -> Distribution | None:
        """The distribution of the known values, or None when there are none."""
        known = sorted(v for v in values if v is not None and math.isfinite(v))
        if not known:
            return None
        low, high, counts = histogram(known)
        return cls(
            len(known),
            percentile(known, 0.5),
            percentile(known, 0.95),
            known[-1],
            low,
            high,
            counts,
        )


@dataclass
class TaskSummary:
    """What one task label did in the run."""

    label: str
    counts: Counter = field(default_factory=Counter)
    wallTime: Distribution | None = None
    peakMemory: Distribution | None = None

    @property
    def status(self) -> str:
        """``failed`` if any quantum failed, else ``incomplete`` if any did not run, else
        ``succeeded``."""
        if self.counts["failed"]:
            return "failed"
        if self.counts["blocked"] or self.counts["not run"]:
            return "incomplete"
        return "succeeded"


def summarise(quanta: Sequence[QuantumRow], labels: Sequence[str] = ()) -> list[TaskSummary]:
    """One summary per task label, in ``labels`` order then first appearance."""
    byLabel: dict[str, list[QuantumRow]] = {label: [] for label in labels}
    for row in quanta:
        byLabel.setdefault(row.label, []).append(row)
    summaries = []
    for label, rows in byLabel.items():
        counts = Counter({status: 0 for status in STATUSES})
        counts.update(row.status for row in rows)
        ran = [row for row in rows if row.status in ("succeeded", "failed")]
        summaries.append(
            TaskSummary(
                label,
                counts,
                Distribution.of(row.wallTime for row in ran),
                Distribution.of(row.peakMemory for row in ran),
            )
        )
    return summaries


@dataclass
class FailureGroup:
    """Failed quanta of one task sharing an exception type and message."""

    label: str
    errorType: str
    message: str
    rows: list[QuantumRow]


def groupFailures(quanta: Iterable[QuantumRow]) -> list[FailureGroup]:
    """Failures grouped by (label, exception type, first line of the message), largest
    group first."""
    groups: dict[tuple, FailureGroup] = {}
    for row in quanta:
        if row.status != "failed":
            continue
        message = row.error.strip().splitlines()[0] if row.error.strip() else ""
        if row.errorType and message.startswith(row.errorType + ": "):
            message = message[len(row.errorType) + 2 :]
        key = (row.label, row.errorType, message, tuple(row.rerunBase))
        if key not in groups:
            groups[key] = FailureGroup(row.label, row.errorType, message, [])
        groups[key].rows.append(row)
    return sorted(groups.values(), key=lambda g: (-len(g.rows), g.label, g.message))


def sample(quanta: Sequence[QuantumRow], cap: int) -> list[QuantumRow]:
    """Every quantum that did not succeed, then an even sample of the others, at most
    ``cap`` rows in all (failures are never dropped for the sample's sake)."""
    notOk = [row for row in quanta if row.status != "succeeded"]
    if len(notOk) >= cap:
        return notOk[:cap]
    ok = [row for row in quanta if row.status == "succeeded"]
    room = cap - len(notOk)
    if len(ok) > room:
        step = len(ok) / room
        ok = [ok[int(i * step)] for i in range(room)]
    return notOk + ok
