"""Sweep overhead: one ``--sweep`` run against running each variant's quanta alone.

A one-label pipeline of ``statsWriter`` over ``--visits`` x ``--ccds`` simulated raws of
``--size`` pixels a side (large enough that each quantum does real work: about 25 ms of CPU),
swept over ``--values`` values of ``stats.numSigmaClip``. In one process, ``--runs``
times each, interleaved (the order alternates every repeat, so a load that drifts hits
both alike):

- *alone*: one plain pipeline run per value (``-c stats:stats.numSigmaClip=V``), each into
  its own output: exactly the variants' quanta, through the same runner and executor;
- *sweep*: one run with ``--sweep stats:stats.numSigmaClip=V1^V2...`` into one output.

Both are called in process (``pipetask.runner.runTask``), after one warm-up run each, so
interpreter start-up and imports are counted for neither. Printed, serial and with
``-j 2``: median wall time and median CPU time (this process and its workers) of each,
and the medians of the paired ratios sweep / alone (target: at most 1.05). CPU time is
the steadier figure on a loaded machine. The outputs are compared too (same numbers).

Usage: ``python benchmarks/sweep.py [--visits 2] [--ccds 4] [--size 1024] [--values 4]
[--runs 7]``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import tempfile
import time
from pathlib import Path

from _bench import makeRepo


def cpuSeconds() -> float:
    """CPU time of this process and of its children that have ended (pool workers)."""
    own, children = (
        resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def run(pipeline: Path, repo: Path, out: Path, processes: int, **extra) -> tuple[float, float]:
    """``(wall, cpu)`` seconds of one in-process pipeline run."""
    from pipetask.runner import RunOptions, runTask

    options = RunOptions(
        task="",
        pipeline=str(pipeline),
        repo=str(repo),
        ids=[[]],
        output=str(out),
        processes=processes,
        logLevels=["WARN"],
        **extra,
    )
    start, cpu = time.perf_counter(), cpuSeconds()
    status = runTask(options)
    elapsed = time.perf_counter() - start, cpuSeconds() - cpu
    if status != 0:
        raise SystemExit(f"run into {out} failed with status {status}")
    return elapsed


def outputs(root: Path) -> dict[str, dict]:
    return {
        str(p.relative_to(root)): json.loads(p.read_text())
        for p in sorted(root.rglob("imageStats/**/*.json"))
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--visits", type=int, default=2)
    parser.add_argument("--ccds", type=int, default=4)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--values", type=int, default=4)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    values = [f"{2.0 + 0.5 * k:.1f}" for k in range(args.values)]
    with tempfile.TemporaryDirectory(prefix="pipetask-sweep-") as tmp:
        root = Path(tmp)
        repo = makeRepo(root / "data", args.visits, args.ccds, args.size, dict(os.environ))
        pipeline = root / "stats.toml"
        pipeline.write_text('[tasks.stats]\ntask = "statsWriter"\n')
        quanta = args.visits * args.ccds * len(values)
        print(
            f"{len(values)} variants x {args.visits * args.ccds} data IDs = {quanta} quanta "
            f"of statsWriter ({args.size} px a side), {args.runs} interleaved repeats"
        )

        def alone(processes: int, tag: str) -> tuple[float, float]:
            wall = cpu = 0.0
            for value in values:
                override = [("value", f"stats:stats.numSigmaClip={value}")]
                w, c = run(pipeline, repo, root / f"{tag}-{value}", processes, overrides=override)
                wall, cpu = wall + w, cpu + c
            return wall, cpu

        def sweep(processes: int, tag: str) -> tuple[float, float]:
            swept = [f"stats.numSigmaClip={'^'.join(values)}"]
            return run(pipeline, repo, root / tag, processes, sweeps=swept)

        for processes in (1, 2):
            alone(processes, f"warm-alone-j{processes}")
            sweep(processes, f"warm-sweep-j{processes}")
            pairs = []
            for i in range(args.runs):
                first, second = (alone, sweep) if i % 2 == 0 else (sweep, alone)
                results = {
                    f.__name__: f(processes, f"{f.__name__}-j{processes}-{i}")
                    for f in (first, second)
                }
                pairs.append((results["alone"], results["sweep"]))
            # Same numbers from the sweep as from the runs alone.
            for value in values:
                a = outputs(root / f"alone-j{processes}-0-{value}")
                s = outputs(
                    root / f"sweep-j{processes}-0" / "sweep" / f"stats.numSigmaClip={value}"
                )
                if not a or a != s:
                    raise SystemExit(f"numSigmaClip={value}: the sweep's outputs differ")
            for what, k in (("wall", 0), ("cpu", 1)):
                a = statistics.median(p[0][k] for p in pairs)
                s = statistics.median(p[1][k] for p in pairs)
                ratio = statistics.median(p[1][k] / p[0][k] for p in pairs)
                spread = [round(p[1][k] / p[0][k], 3) for p in pairs]
                print(
                    f"-j {processes} {what:>4}: alone {a:6.2f} s ({len(values)} runs), sweep "
                    f"{s:6.2f} s (1 run); sweep/alone median {ratio:.3f} (target <= 1.05), "
                    f"each repeat {spread}"
                )
    print("The machine's load at the end:", " ".join(f"{x:.1f}" for x in os.getloadavg()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
