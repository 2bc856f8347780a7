"""What the DEBUG logging of tasks costs when it is off, and when it is on.

1. ``timeMethod`` (which logs its measurements at DEBUG) around a method that returns at
   once, against a baseline decorator that records the same metadata with no logging code:
   per call, with the task's logger at INFO (DEBUG off, the default) and at DEBUG (lines
   formatted into memory).
2. The sigma-clipped statistics task on a 128x128 image, DEBUG off and on (it logs each
   clipping iteration at DEBUG). With DEBUG off its added code is one
   ``isEnabledFor(DEBUG)`` guard, whose own cost is timed and given as a fraction of a run.

The cases run interleaved, so that a busy machine slows all alike; medians of ``--runs``.
Target: DEBUG off within 1.1x of the baseline. Usage:
``python benchmarks/debug_logging.py [--calls 20000] [--runs 5]``.
"""

from __future__ import annotations

import argparse
import functools
import io
import logging
import statistics
import time

import numpy as np
from pipetask import Task, timeMethod
from pipetask.timer import recordResources
from pipetask_stats import SigmaClippedStatsTask


def recordOnly(func):
    """``timeMethod`` without any logging code: the baseline."""

    @functools.wraps(func)
    def wrapper(self, *args, **kwargs):
        name = func.__name__
        metadata = self.metadata
        recordResources(metadata, name + "Start")
        try:
            return func(self, *args, **kwargs)
        finally:
            recordResources(metadata, name + "End")
            metadata[name + "Duration"] = (
                metadata[name + "EndWallTime"] - metadata[name + "StartWallTime"]
            )

    return wrapper


class Timed(Task):
    _DefaultName = "benchTimed"

    @timeMethod
    def run(self) -> int:
        return 1


class Bare(Task):
    _DefaultName = "benchBare"

    @recordOnly
    def run(self) -> int:
        return 1


def perCall(func, calls: int) -> float:
    """Microseconds per call of ``func``."""
    start = time.perf_counter()
    for _ in range(calls):
        func()
    return (time.perf_counter() - start) / calls * 1e6


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=20000, help="calls of the timed method")
    parser.add_argument("--runs", type=int, default=5, help="repetitions (median kept)")
    args = parser.parse_args(argv)

    logging.getLogger().addHandler(logging.StreamHandler(io.StringIO()))
    timed, bare = Timed(), Bare()
    stats = SigmaClippedStatsTask()
    image = np.random.default_rng(1).normal(1000.0, 30.0, (128, 128)).astype(np.float32)
    statsCalls = max(args.calls // 50, 20)
    rows: dict[str, list[float]] = {k: [] for k in ("base", "off", "on", "sOff", "sOn", "g")}
    for _ in range(args.runs):
        timed.log.setLevel(logging.INFO)
        stats.log.setLevel(logging.INFO)
        rows["base"].append(perCall(bare.run, args.calls))
        rows["off"].append(perCall(timed.run, args.calls))
        rows["sOff"].append(perCall(lambda: stats.run(image), statsCalls))
        rows["g"].append(perCall(lambda: stats.log.isEnabledFor(logging.DEBUG), args.calls))
        timed.log.setLevel(logging.DEBUG)
        stats.log.setLevel(logging.DEBUG)
        rows["on"].append(perCall(timed.run, args.calls))
        rows["sOn"].append(perCall(lambda: stats.run(image), statsCalls))
    m = {k: statistics.median(v) for k, v in rows.items()}
    print(f"timeMethod per call: baseline {m['base']:.2f} us, DEBUG off {m['off']:.2f} us "
          f"({m['off'] / m['base']:.2f}x), DEBUG on {m['on']:.2f} us "
          f"({m['on'] / m['base']:.2f}x)")  # fmt: skip
    print(f"clipped stats 128x128 per run: DEBUG off {m['sOff']:.1f} us, DEBUG on "
          f"{m['sOn']:.1f} us ({m['sOn'] / m['sOff']:.2f}x); the DEBUG guard "
          f"{m['g'] * 1000:.0f} ns = {m['g'] / m['sOff']:.5f}x of a run")  # fmt: skip
    print("(the machine may be loaded: compare the ratios, measured in the same run)")
    return 0 if m["off"] / m["base"] <= 1.1 else 1


if __name__ == "__main__":
    raise SystemExit(main())
