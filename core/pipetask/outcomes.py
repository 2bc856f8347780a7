"""The record of a run: what it selected, every data ID's outcome, and how it ended.

Each run appends JSON lines to ``runs/<task>/<UTC time>-<pid>.jsonl`` in the output
repository, each written and flushed as soon as it is known, so that even a run killed
with ``kill -9`` leaves a readable record:

- ``{"run": {...}}`` first: task, pid, host, start time and how many data IDs it selected;
- ``{"selected": [dataId, ...]}``: the selected data IDs, in slices of :data:`SLICE`;
- one line per outcome: ``{"dataId": ..., "status": "ok"|"failed"|"skipped", ...}``; a
  pipeline run's lines also carry the quantum's ``label`` (reports show it as the task),
  and its status may be ``blocked`` (a failure upstream);
- ``{"end": {...}}`` last: the exit status and, for a stopped run, why it stopped.

A record without its ``end`` line belongs to a run that did not finish (killed, or still
running); the selected data IDs without an outcome line were not run. ``pipetask
report`` reads records back with :func:`readRuns`.
"""

from __future__ import annotations

import contextlib
import glob
import json
import logging
import os
import socket
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import IO, Any

RUNS_DIR = "runs"
#: Data IDs per ``selected`` line.
SLICE = 1000
OK, FAILED, SKIPPED, NOT_RUN = "ok", "failed", "skipped", "not run"

log = logging.getLogger("pipetask")


class OutcomeLog:
    """Appends the record of one run to its JSON-lines file (created at once).

    Raises `OSError` when the file cannot be created or written; the caller decides what
    that means for the run.
    """

    def __init__(self, outputRoot: str, taskName: str) -> None:
        stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
        directory = os.path.join(outputRoot, RUNS_DIR, taskName)
        os.makedirs(directory, exist_ok=True)
        self.path = os.path.join(directory, f"{stamp}-{os.getpid()}.jsonl")
        self._stream: IO[str] | None = open(self.path, "a", encoding="utf-8")  # noqa: SIM115
        self.taskName = taskName

    def _write(self, item: dict[str, Any]) -> None:
        if self._stream is None:
            return
        self._stream.write(json.dumps(item) + "\n")
        self._stream.flush()

    def start(self, dataIds: Sequence[dict[str, Any]], **about: Any) -> None:
        """Record the run's start and every data ID it selected."""
        header = {
            "task": self.taskName,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started": time.time(),
            "selected": len(dataIds),
            "argv": ["pipetask", *sys.argv[1:]],
            **about,
        }
        self._write({"run": header})
        for first in range(0, len(dataIds), SLICE):
            self._write({"selected": list(dataIds[first : first + SLICE])})

    def record(self, outcome: Any) -> None:
        """Append one outcome (flushed at once)."""
        self._write(
            {
                "dataId": outcome.dataId,
                "status": outcome.status,
                "error": outcome.error,
                "duration": round(outcome.duration, 6),
                "taskTime": round(outcome.taskTime, 6),
                "time": time.time(),
                **outcome.extra.get("record", {}),  # a pipeline's per-quantum fields
                **({"traceback": outcome.traceback} if outcome.traceback else {}),
            }
        )

    def end(self, status: int, stopped: str = "") -> None:
        """Record how the run ended."""
        self._write({"end": {"status": status, "stopped": stopped, "time": time.time()}})

    def close(self) -> None:
        """Close the file (a record that could not be written is abandoned quietly)."""
        stream, self._stream = self._stream, None
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()


@dataclass(slots=True)
class RecordedOutcome:
    """One data ID's outcome in a run record (``not run`` for a selected one without)."""

    task: str
    run: str
    dataId: dict[str, Any]
    status: str
    error: str
    time: float
    extra: dict[str, Any] = field(default_factory=dict)  # the line's other fields


@dataclass
class RunRecord:
    """One run record as read back."""

    task: str
    run: str
    path: str
    header: dict[str, Any] = field(default_factory=dict)
    selected: list[dict[str, Any]] | None = None
    outcomes: list[RecordedOutcome] = field(default_factory=list)
    end: dict[str, Any] | None = None
    badLines: int = 0

    @property
    def finished(self) -> bool:
        """Whether the run recorded its end (a record of an older version always did)."""
        return self.end is not None or not self.header

    def running(self) -> bool:
        """Whether the run's process still runs on this host (then it is not over)."""
        if self.finished or self.header.get("host") != socket.gethostname():
            return False
        try:
            os.kill(int(self.header.get("pid", 0)), 0)
        except (ProcessLookupError, ValueError, OverflowError):
            return False
        except PermissionError:
            return True
        return int(self.header.get("pid", 0)) > 0

    def notRun(self) -> list[RecordedOutcome]:
        """The selected data IDs that have no outcome in this record."""
        if not self.selected:
            return []
        seen = {_key(o.dataId) for o in self.outcomes}
        when = self.header.get("started", 0.0)
        return [
            RecordedOutcome(self.task, self.run, dataId, NOT_RUN, "", when)
            for dataId in self.selected
            if _key(dataId) not in seen
        ]


def _key(dataId: dict[str, Any]) -> tuple:
    return tuple(sorted(dataId.items()))


def readRun(path: str) -> RunRecord:
    """Read one run record; lines that are not valid JSON records are counted and skipped."""
    task = os.path.basename(os.path.dirname(path))
    run = os.path.basename(path)[: -len(".jsonl")]
    record = RunRecord(task, run, path)
    with open(path, encoding="utf-8", errors="replace") as stream:
        lines = [line for line in stream.read().splitlines() if line.strip()]
    try:  # one decoder call for the whole file is several times faster than one per line
        items = json.loads("[" + ",".join(lines) + "]")
    except ValueError:
        items = None
    if items is not None and len(items) == len(lines):
        for item in items:
            try:
                _add(record, item)
            except (ValueError, TypeError, KeyError, AttributeError):
                record.badLines += 1
        return record
    for line in lines:  # a damaged line: read line by line, counting the bad ones
        try:
            _add(record, json.loads(line))
        except (ValueError, TypeError, KeyError, AttributeError):
            record.badLines += 1
    return record


def _add(record: RunRecord, item: Any) -> None:
    if not isinstance(item, dict):
        raise TypeError("not a record line")
    if "dataId" in item and "status" in item:
        dataId = item.pop("dataId")
        if not isinstance(dataId, dict):
            raise TypeError("a data ID is not a table")
        record.outcomes.append(
            RecordedOutcome(
                str(item.get("label") or record.task),  # a pipeline's quantum: its label
                record.run,
                dataId,
                str(item.pop("status")),
                str(item.pop("error", "") or ""),
                float(item.pop("time", 0.0)),
                item,  # the line's other fields
            )
        )
    elif "run" in item:
        record.header = dict(item["run"])
        record.selected = []
    elif "selected" in item:
        if record.selected is None:
            record.selected = []
        record.selected.extend(dict(d) for d in item["selected"])
    elif "end" in item:
        record.end = dict(item["end"])
    else:
        raise KeyError("dataId")


def readRuns(repoRoot: str, taskName: str | None = None) -> list[RunRecord]:
    """Every run record of the repository, oldest run first."""
    pattern = os.path.join(repoRoot, RUNS_DIR, taskName or "*", "*.jsonl")
    paths = sorted(glob.glob(pattern), key=lambda p: (os.path.basename(p), p))
    return [readRun(path) for path in paths if os.path.isfile(path)]


def readOutcomes(repoRoot: str, taskName: str | None = None) -> list[RecordedOutcome]:
    """Every recorded outcome of the repository, oldest run first (not-run included)."""
    outcomes: list[RecordedOutcome] = []
    for run in readRuns(repoRoot, taskName):
        outcomes.extend(run.notRun() if not run.running() else [])
        outcomes.extend(run.outcomes)
    return outcomes


def latestOutcomes(records: list[RecordedOutcome]) -> dict[tuple, RecordedOutcome]:
    """The latest outcome per (task, data ID)."""
    latest: dict[tuple, RecordedOutcome] = {}
    for record in records:
        key = (record.task, _key(record.dataId))
        if key not in latest or record.time >= latest[key].time:
            latest[key] = record
    return latest
