"""What a pipeline run puts in its run record, and what resume reads back from records.

A pipeline run keeps one record (``runs/<name>/<time>-<pid>.jsonl``, see
:mod:`pipetask.outcomes`) with one line per quantum: its label and index, the data ID,
the status, and the per-quantum metadata (the task's timings and peak memory, the config
hash, the attempt number) — no file per quantum.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from pathlib import Path
from typing import Any

from ..errors import osErrorLine
from ..outcomes import RUNS_DIR, OutcomeLog

log = logging.getLogger("pipetask")


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


class RecordWriter:
    """The run record, written as outcomes arrive (see :class:`~pipetask.outcomes.OutcomeLog`).

    A record that can no longer be written (a full disk) stops the run: the outcomes that
    follow could not be accounted for. A run that writes nothing else (``required`` false)
    goes without a record when it cannot make one (a read-only repository), and says so.
    """

    def __init__(self, outputRoot: str, runName: str, stop: Any, required: bool = True) -> None:
        self.stop = stop
        self.log: OutcomeLog | None = None
        try:
            self.log = OutcomeLog(outputRoot, runName)
        except OSError as exc:
            if required:
                raise
            log.warning(
                "keeping no run record: %s (this task writes nothing else)", osErrorLine(exc)
            )

    def _write(self, method: str, *args: Any, **kw: Any) -> None:
        if self.log is None:
            return
        try:
            getattr(self.log, method)(*args, **kw)
        except OSError as exc:
            log.error("cannot write the run record %s: %s", self.log.path, osErrorLine(exc))
            self.stop.request(f"the run record could not be written: {osErrorLine(exc)}")
            self.log.close()
            self.log = None

    def start(self, selected: list, **about: Any) -> None:
        """The run's start (and the data IDs a one-task run selected)."""
        self._write("start", selected, **about)

    def record(self, outcome: Any) -> None:
        """One outcome."""
        self._write("record", outcome)

    def end(self, status: int, stopped: str = "") -> None:
        """How the run ended; closes the record."""
        self._write("end", status, stopped)
        if self.log is not None:
            self.log.close()

    def close(self) -> None:
        """Close the record (after :meth:`end`, nothing is left to close)."""
        if self.log is not None:
            self.log.close()
