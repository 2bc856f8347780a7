"""The record of every data ID's outcome, kept in the output repository per run.

Each run appends one JSON line per data ID to ``runs/<task>/<UTC time>-<pid>.jsonl`` as
outcomes arrive, so even an interrupted run leaves a readable record; ``pipetask report``
reads them back.
"""

from __future__ import annotations

import glob
import json
import os
import time
from dataclasses import dataclass
from typing import IO, Any

RUNS_DIR = "runs"


class OutcomeLog:
    """Appends outcomes of one run to its JSON-lines file."""

    def __init__(self, outputRoot: str, taskName: str) -> None:
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        directory = os.path.join(outputRoot, RUNS_DIR, taskName)
        os.makedirs(directory, exist_ok=True)
        self.path = os.path.join(directory, f"{stamp}-{os.getpid()}.jsonl")
        self._stream: IO[str] = open(self.path, "a", encoding="utf-8")  # noqa: SIM115

    def record(self, outcome: Any) -> None:
        """Append one outcome (flushed at once)."""
        line = {
            "dataId": outcome.dataId,
            "status": outcome.status,
            "error": outcome.error,
            "duration": round(outcome.duration, 6),
            "taskTime": round(outcome.taskTime, 6),
            "time": time.time(),
            **outcome.extra.get("record", {}),  # a pipeline's per-quantum fields
        }
        self._stream.write(json.dumps(line) + "\n")
        self._stream.flush()

    def close(self) -> None:
        """Close the file."""
        self._stream.close()


@dataclass
class RecordedOutcome:
    """One line of a run record."""

    task: str
    run: str
    dataId: dict[str, Any]
    status: str
    error: str
    time: float


def readOutcomes(repoRoot: str, taskName: str | None = None) -> list[RecordedOutcome]:
    """Every recorded outcome of the repository, oldest run first."""
    pattern = os.path.join(repoRoot, RUNS_DIR, taskName or "*", "*.jsonl")
    records: list[RecordedOutcome] = []
    for path in sorted(glob.glob(pattern), key=lambda p: (os.path.basename(p), p)):
        task = os.path.basename(os.path.dirname(path))
        run = os.path.basename(path)[: -len(".jsonl")]
        with open(path, encoding="utf-8") as stream:
            for line in stream:
                try:
                    item = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line cut short by a kill
                records.append(
                    RecordedOutcome(
                        task,
                        run,
                        item["dataId"],
                        item["status"],
                        item.get("error", ""),
                        item.get("time", 0.0),
                    )
                )
    return records


def latestOutcomes(records: list[RecordedOutcome]) -> dict[tuple, RecordedOutcome]:
    """The latest outcome per (task, data ID)."""
    latest: dict[tuple, RecordedOutcome] = {}
    for record in records:
        key = (record.task, tuple(sorted(record.dataId.items())))
        if key not in latest or record.time >= latest[key].time:
            latest[key] = record
    return latest
