"""What ``--show graph`` prints: every quantum, whether it runs, and why."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from ..dataid import formatDataId
from .graph import QuantumGraph


def graphText(
    graph: QuantumGraph,
    done: Iterable[tuple[str, int]] = (),
    resuming: bool = False,
    why: Mapping[tuple[str, int], str] | None = None,
) -> str:
    """One header per label (task, keys, count), then one line per quantum: ``run`` with
    why (``why``: the resume decision's reason per quantum) and what it reads that an
    earlier quantum writes, or ``skip`` when already done."""
    done = set(done)
    why = why or {}
    lines = [f"quantum graph: {len(graph)} quanta, {len(done)} done"]
    for label, task in graph.tasks.items():
        count = graph.count(label)
        skipped = sum(1 for i in range(count) if (label, i) in done)
        lines.append(
            f"{label} ({task.taskName}): {count} quanta per "
            f"({', '.join(task.connections.dimensions)}), {count - skipped} to run"
        )
        for i in range(count):
            dataId = formatDataId(graph.dataId(label, i))
            if (label, i) in done:
                lines.append(f"  skip {dataId}: its outputs exist (--skip-existing)")
                continue
            reason = why.get((label, i)) or ("outputs missing" if resuming else "new")
            upstream = set(graph.upstream(label, i))  # one quantum may feed several inputs
            after = sorted({producer for producer, _ in upstream})
            count = len(upstream)
            waits = f", after {count} {'quantum' if count == 1 else 'quanta'} of {', '.join(after)}"
            lines.append(f"  run  {dataId}: {reason}{waits if after else ''}")
    return "\n".join(lines)
