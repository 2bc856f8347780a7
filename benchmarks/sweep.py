"""Sweep overhead: one ``--sweep`` run against running each variant's quanta alone.

A one-label pipeline of ``statsWriter`` over ``--visits`` x ``--ccds`` simulated raws,
swept over ``--values`` values of ``stats.numSigmaClip``. In one process, alternating,
``--runs`` times each:

- *alone*: one plain pipeline run per value (``-c stats:stats.numSigmaClip=V``), each into
  its own output: exactly the variants' quanta, through the same runner and executor;
- *sweep*: one run with ``--sweep stats:stats.numSigmaClip=V1^V2...`` into one output.

Both are called in process (``pipetask.runner.runTask``), after one warm-up run, so
interpreter start-up and imports are counted for neither. Printed: median wall times and
the ratio sweep / alone (target: at most 1.05), serial and with ``-j 2``. The outputs are
compared too (same numbers).

Usage: ``python benchmarks/sweep.py [--visits 4] [--ccds 4] [--size 128] [--values 4]``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from _bench import makeRepo


def run(pipeline: Path, repo: Path, out: Path, processes: int, **extra) -> float:
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
    start = time.perf_counter()
    status = runTask(options)
    elapsed = time.perf_counter() - start
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
    parser.add_argument("--visits", type=int, default=4)
    parser.add_argument("--ccds", type=int, default=4)
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--values", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    values = [f"{2.0 + 0.5 * k:.1f}" for k in range(args.values)]
    with tempfile.TemporaryDirectory(prefix="pipetask-sweep-") as tmp:
        root = Path(tmp)
        import os

        repo = makeRepo(root / "data", args.visits, args.ccds, args.size, dict(os.environ))
        pipeline = root / "stats.toml"
        pipeline.write_text('[tasks.stats]\ntask = "statsWriter"\n')
        quanta = args.visits * args.ccds * len(values)
        print(
            f"{len(values)} variants x {args.visits * args.ccds} data IDs = {quanta} quanta "
            f"of statsWriter ({args.size} px a side)"
        )
        for processes in (1, 2):
            warm = [("value", f"stats:stats.numSigmaClip={values[0]}")]
            run(pipeline, repo, root / f"warm-j{processes}", processes, overrides=warm)
            alone, sweep = [], []
            for i in range(args.runs):
                total = 0.0
                for value in values:
                    out = root / f"alone-j{processes}-{i}-{value}"
                    override = [("value", f"stats:stats.numSigmaClip={value}")]
                    total += run(pipeline, repo, out, processes, overrides=override)
                alone.append(total)
                out = root / f"sweep-j{processes}-{i}"
                sweep.append(
                    run(
                        pipeline,
                        repo,
                        out,
                        processes,
                        sweeps=[f"stats.numSigmaClip={'^'.join(values)}"],
                    )
                )
            # Same numbers from the sweep as from the runs alone.
            for value in values:
                a = outputs(root / f"alone-j{processes}-0-{value}")
                s = outputs(
                    root / f"sweep-j{processes}-0" / "sweep" / f"stats.numSigmaClip={value}"
                )
                if not a or a != s:
                    raise SystemExit(f"numSigmaClip={value}: the sweep's outputs differ")
            a, s = statistics.median(alone), statistics.median(sweep)
            print(
                f"-j {processes}: alone {a:.2f} s ({len(values)} runs), sweep {s:.2f} s "
                f"(1 run); ratio sweep/alone {s / a:.3f} (target <= 1.05)"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
