"""Time and size of ``pipetask report OUT --html`` for 10^3, 10^4 and 10^5 recorded quanta.

Each size is a synthetic output repository holding one pipeline run record (three labels,
1% failures, a few blocked quanta) written in the run record's own format. The baseline,
measured in the same run, is a plain script's read of that record (``json.loads`` of each
line, no other work); ``readRuns`` is pipetask's own read of it. The report adds start-up,
aggregation, the rerun commands and the page. Bar: under 2 s and at most 5 MB at 10^5.

    python benchmarks/report.py
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pipetask.butler.repository import Repository
from pipetask.outcomes import readRuns

LABELS = ("isr", "characterize", "calibrate")


def makeRecord(root: Path, quanta: int) -> Path:
    """An output repository with one run record of ``quanta`` quanta."""
    out = root / f"out{quanta}"
    Repository.create(out, "synth", [])
    runs = out / "runs" / "pipe"
    runs.mkdir(parents=True)
    rng = random.Random(quanta)
    argv = ["pipetask", "run", "-p", "pipe.toml", "repo", "--id", "--output", str(out)]
    lines = [
        json.dumps(
            {
                "run": {
                    "task": "pipe",
                    "pid": 1,
                    "host": "-",
                    "started": 0.0,
                    "selected": quanta,
                    "argv": argv,
                }
            }
        )
    ]
    for i in range(quanta):
        label = LABELS[i % 3]
        status, error = "ok", ""
        if i % 100 == 7:
            status, error = "failed", f"RuntimeError: PSF not measured ({i % 5} stars)"
        elif i % 300 == 11:
            status, error = "blocked", "blocked by the failure upstream"
        line = {
            "dataId": {"visit": i // 30, "ccd": i % 30 // 3},
            "status": status,
            "error": error,
            "duration": rng.lognormvariate(0, 0.3),
            "taskTime": 0.5,
            "time": float(i),
            "label": label,
            "quantum": i // 3,
            "attempt": 1,
            "configHash": "c0ffee",
            "maxRss": rng.gauss(4e8, 4e7),
        }
        if status == "failed":
            line["traceback"] = "Traceback (most recent call last):\n  ...\n" + error
        lines.append(json.dumps(line))
    lines.append(json.dumps({"end": {"status": 1, "stopped": "", "time": float(quanta)}}))
    (runs / "20261202T000000Z-1.jsonl").write_text("\n".join(lines) + "\n")
    return out


def plainRead(out: Path) -> float:
    """Seconds a plain script takes to decode every line of the record."""
    start = time.perf_counter()
    for path in (out / "runs").glob("*/*.jsonl"):
        with open(path, encoding="utf-8") as stream:
            [json.loads(line) for line in stream]
    return time.perf_counter() - start


def inProcess(function, *args, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function(*args)
        times.append(time.perf_counter() - start)
    return min(times)


def best(command: list[str], repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, check=False, capture_output=True)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        print(
            f"{'quanta':>8} {'plain read s':>13} {'readRuns s':>11} {'report --html s':>16} "
            f"{'ratio':>6} {'MB':>6}"
        )
        for quanta in (1_000, 10_000, 100_000):
            out = makeRecord(root, quanta)
            baseline = inProcess(plainRead, out)
            ours = inProcess(readRuns, str(out))
            page = root / f"r{quanta}.html"
            pipetask = str(Path(sys.executable).with_name("pipetask"))
            seconds = best([pipetask, "report", str(out), "--html", str(page)])
            size = page.stat().st_size / 1e6
            print(
                f"{quanta:>8} {baseline:>13.3f} {ours:>11.3f} {seconds:>16.3f} "
                f"{seconds / baseline:>6.2f} {size:>6.2f}"
            )
    print(
        "report --html: the whole command (start-up, reading, rendering, writing), best of 3; "
        "ratio: report --html / plain read"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
