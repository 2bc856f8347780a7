"""Start-up time of the ``pipetask`` command, as a multiple of a bare Python start.

Runs ``python -c pass``, ``pipetask --help`` and ``pipetask list`` ``--runs`` times each
(interleaved, so that a busy machine slows all three alike) and prints the median wall time
of each and the ratio to ``python -c pass``. Target: at most 6x. Exit status 1 when a
ratio is above ``--target``.

Usage: ``python benchmarks/startup.py [--runs 10] [--target 6]`` with the ``python`` of the
environment where pipetask is installed (its ``pipetask`` script sits beside it).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path


def wallTime(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="runs of each command (10)")
    parser.add_argument("--target", type=float, default=6.0, help="highest ratio accepted (6)")
    args = parser.parse_args(argv)

    pipetask = str(Path(sys.executable).with_name("pipetask"))
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "pipetask --help": [pipetask, "--help"],
        "pipetask list": [pipetask, "list"],
    }
    for command in commands.values():  # warm the file cache and the .pyc files
        wallTime(command)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.runs):
        for name, command in commands.items():
            times[name].append(wallTime(command))

    medians = {name: statistics.median(values) for name, values in times.items()}
    baseline = medians["python -c pass"]
    print(f"median of {args.runs} runs each ({sys.executable}):")
    worst = 0.0
    for name, median in medians.items():
        ratio = median / baseline
        if name != "python -c pass":
            worst = max(worst, ratio)
        print(f"  {name:<16} {median * 1000:8.1f} ms  {ratio:5.1f}x")
    verdict = "ok" if worst <= args.target else "above target"
    print(f"target: at most {args.target:g}x python -c pass; worst {worst:.1f}x: {verdict}")
    return 0 if worst <= args.target else 1


if __name__ == "__main__":
    sys.exit(main())
