"""Framework overhead of ``pipetask run`` per data ID, and the ``-j 2`` speed-up.

1. A trivial task (it returns at once) over 2,000 data IDs of a synthetic repository,
   serially: overhead per data ID = (wall time of the whole command - the task's own
   time) / 2,000, in ms and as a multiple of ``python -c pass``. Target: under 2 ms.
2. A CPU-bound task over 40 data IDs, serial and ``-j 2``: the speed-up. Target: 1.7x.

The tasks are in ``bench_tasks.py``, found through a throwaway plugin record written into
a temporary directory (see ``_bench.py``), so nothing is installed.
Usage: ``python benchmarks/overhead.py [--ids 2000] [--cpu-ids 40]`` with the ``python``
of the environment where pipetask is installed.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _bench import makeRepo, pluginEnv, taskSeconds


def timed(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(
        command, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ids", type=int, default=2000, help="data IDs of the trivial run")
    parser.add_argument("--cpu-ids", type=int, default=40, help="data IDs of the CPU-bound run")
    parser.add_argument("--runs", type=int, default=3, help="repetitions (median kept)")
    args = parser.parse_args(argv)
    pipetask = str(Path(sys.executable).with_name("pipetask"))

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env = pluginEnv(root / "plugin")
        ccds = 4
        repo = makeRepo(root / "trivial", args.ids // ccds, ccds, 16, env)
        baseline = statistics.median(timed([sys.executable, "-c", "pass"], env) for _ in range(10))

        overheads = []
        for i in range(args.runs):
            out = root / f"out{i}"
            wall = timed([pipetask, "run", "trivial", str(repo), "--id", "--output", str(out)], env)
            own = taskSeconds(out, "trivial")
            overheads.append((wall, own))
        wall, own = sorted(overheads)[len(overheads) // 2]
        perId = (wall - own) / args.ids
        print(f"trivial task over {args.ids} data IDs, serial (median of {args.runs} runs):")
        print(f"  wall time {wall:.2f} s, task's own time {own * 1000:.1f} ms")
        print(
            f"  framework overhead per data ID: {perId * 1000:.3f} ms "
            f"({perId / baseline:.3f}x python -c pass = {baseline * 1000:.1f} ms); "
            f"target under 2 ms"
        )

        cpuRepo = makeRepo(root / "cpu", args.cpu_ids // ccds, ccds, 16, env)
        times = {}
        for label, extra in (("serial", []), ("-j 2", ["-j", "2"])):
            runs = []
            for i in range(args.runs):
                out = root / f"cpu-{label.replace(' ', '')}-{i}"
                runs.append(
                    timed(
                        [
                            pipetask,
                            "run",
                            "burn",
                            str(cpuRepo),
                            "-c",
                            "seconds=0.25",
                            "--id",
                            "--output",
                            str(out),
                            *extra,
                        ],
                        env,
                    )
                )
            times[label] = statistics.median(runs)
        speedup = times["serial"] / times["-j 2"]
        print(f"CPU-bound task (0.25 s per data ID) over {args.cpu_ids} data IDs:")
        print(
            f"  serial {times['serial']:.2f} s, -j 2 {times['-j 2']:.2f} s: "
            f"speed-up {speedup:.2f}x (target at least 1.7x)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
