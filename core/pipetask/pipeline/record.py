"""What a pipeline run puts in its run record, and what resume reads back from records.

A pipeline run keeps one record (``runs/<name>/<time>-<pid>.jsonl``, see
:mod:`pipetask.outcomes`) with one line per quantum: its label and index, the data ID,
the status, and the per-quantum metadata (the task's timings and peak memory, the config
hash, the attempt number) — no file per quantum.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

from ..outcomes import RUNS_DIR


def recordFields(outcome: Any, attempt: int) -> dict[str, Any]:
    """The pipeline fields of one outcome's record line."""
    extra = outcome.extra
    fields: dict[str, Any] = {
        "label": extra.get("label"),
        "quantum": extra.get("quantum"),
        "attempt": attempt,
    }
    for key in ("configHash", "maxRss", "metadata"):
        if key in extra:
            fields[key] = extra[key]
    if "metadata" in fields:  # tasks may record numpy numbers: keep what JSON can hold
        fields["metadata"] = json.loads(json.dumps(fields["metadata"], default=str))
    return fields


def quantumKey(label: str, dataId: dict[str, Any]) -> tuple:
    """A quantum's identity across runs: its label and data ID."""
    return (label, tuple(sorted(dataId.items())))


def previousQuanta(outputRoot: str | Path, runName: str) -> tuple[Counter, set]:
    """``(attempts per quantum, quanta that succeeded)`` from the output's records."""
    attempts: Counter = Counter()
    succeeded: set = set()
    folder = Path(outputRoot) / RUNS_DIR / runName
    if not folder.is_dir():
        return attempts, succeeded
    for path in sorted(folder.glob("*.jsonl")):
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError:
            continue
        for line in lines:
            try:
                item = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by a kill
            label = item.get("label") if isinstance(item, dict) else None
            if label is None or item.get("status") not in ("ok", "failed"):
                continue
            key = quantumKey(label, item.get("dataId", {}))
            attempts[key] += 1
            if item["status"] == "ok":
                succeeded.add(key)
    return attempts, succeeded
