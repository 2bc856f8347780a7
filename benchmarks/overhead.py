"""Framework overhead of ``pipetask run`` per data ID, and the ``-j 2`` speed-up.

1. A trivial task (it returns at once) over 2,000 data IDs of a synthetic repository,
   serially: overhead per data ID = (wall time of the whole command - the task's own
   time) / 2,000, in ms and as a multiple of ``python -c pass``. Target: under 2 ms.
2. A CPU-bound task over 40 data IDs, serial and ``-j 2``: the speed-up. Target: 1.7x.

The two tasks come from a throwaway plugin that this script writes into its temporary
directory (an installed-distribution record on ``PYTHONPATH``), so nothing is installed.
Usage: ``python benchmarks/overhead.py [--ids 2000] [--cpu-ids 40]`` with the ``python``
of the environment where pipetask is installed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PLUGIN = '''
import time
from pipetask import Config, Field, Struct, Task
from pipetask.plugins import Description, hookimpl


class TrivialTask(Task):
    """Returns at once: what is left of a run's time is the framework's."""
    ConfigClass = Config
    _DefaultName = "trivial"

    def runDataRef(self, dataRef):
        return Struct(dataId=dataRef.dataId)


class BurnConfig(Config):
    seconds = Field(doc="CPU seconds per data ID", dtype=float, default=0.25)


class BurnTask(Task):
    """Spends ``seconds`` of CPU time per data ID."""
    ConfigClass = BurnConfig
    _DefaultName = "burn"
    storeMetadata = False

    def runDataRef(self, dataRef):
        end = time.process_time() + self.config.seconds
        total = 0
        while time.process_time() < end:
            total += sum(range(1000))
        return Struct(total=total)


@hookimpl
def pipetask_tasks():
    return [
        Description("trivial", "bench_tasks:TrivialTask", "does nothing", kind="cmdline"),
        Description("burn", "bench_tasks:BurnTask", "burns CPU", kind="cmdline"),
    ]
'''


def writePlugin(root: Path) -> Path:
    """A module and its distribution record, found through ``PYTHONPATH=root``."""
    root.mkdir(parents=True)
    (root / "bench_tasks.py").write_text(PLUGIN)
    info = root / "bench_tasks-0.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: bench-tasks\nVersion: 0.0\n")
    (info / "entry_points.txt").write_text("[pipetask]\nbench = bench_tasks\n")
    return root


def timed(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(
        command, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return time.perf_counter() - start


def taskSeconds(outputRoot: Path, taskName: str) -> float:
    """Sum of the task's own time per data ID, from the run's outcome record."""
    total = 0.0
    for path in (outputRoot / "runs" / taskName).glob("*.jsonl"):
        for line in path.read_text().splitlines():
            total += json.loads(line).get("taskTime", 0.0)
    return total


def makeRepo(root: Path, visits: int, ccds: int, env: dict[str, str]) -> Path:
    raws, repo = root / "raws", root / "repo"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "obs_synth.simulate",
            str(raws),
            "--visits",
            str(visits),
            "--ccds",
            str(ccds),
            "--size",
            "16",
        ],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    pipetask = str(Path(sys.executable).with_name("pipetask"))
    subprocess.run(
        [pipetask, "ingest", str(repo), str(raws), "--camera", "synth"],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    return repo


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ids", type=int, default=2000, help="data IDs of the trivial run")
    parser.add_argument("--cpu-ids", type=int, default=40, help="data IDs of the CPU-bound run")
    parser.add_argument("--runs", type=int, default=3, help="repetitions (median kept)")
    args = parser.parse_args(argv)
    pipetask = str(Path(sys.executable).with_name("pipetask"))

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env = dict(os.environ, PYTHONPATH=str(writePlugin(root / "plugin")))
        ccds = 4
        repo = makeRepo(root / "trivial", args.ids // ccds, ccds, env)
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

        cpuRepo = makeRepo(root / "cpu", args.cpu_ids // ccds, ccds, env)
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
