"""What the run benchmarks share: the throwaway plugin, a synthetic repository, task time."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

PIPETASK = str(Path(sys.executable).with_name("pipetask"))
HERE = Path(__file__).resolve().parent


def pluginEnv(root: Path) -> dict[str, str]:
    """An environment in which ``pipetask`` finds :mod:`bench_plugin` as an installed
    plugin: its distribution record goes in ``root``, on ``PYTHONPATH`` with this folder."""
    info = root / "bench_plugin-0.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: bench-plugin\nVersion: 0.0\n")
    (info / "entry_points.txt").write_text("[pipetask]\nbench = bench_plugin\n")
    paths = [str(root), str(HERE), os.environ.get("PYTHONPATH", "")]
    return dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, paths)))


def makeRepo(root: Path, visits: int, ccds: int, size: int, env: dict[str, str]) -> Path:
    """A synth repository of ``visits`` x ``ccds`` simulated raws of ``size`` pixels a side."""
    raws, repo = root / "raws", root / "repo"
    simulate = [sys.executable, "-m", "obs_synth.simulate", str(raws)]
    options = ["--visits", str(visits), "--ccds", str(ccds), "--size", str(size)]
    subprocess.run([*simulate, *options], check=True, env=env, stdout=subprocess.DEVNULL)
    ingest = [PIPETASK, "ingest", str(repo), str(raws), "--camera", "synth"]
    subprocess.run(ingest, check=True, env=env, stdout=subprocess.DEVNULL)
    return repo


def taskSeconds(outputRoot: Path, taskName: str) -> float:
    """The task's own time summed over its data IDs, from the runs' outcome records."""
    total = 0.0
    for path in (outputRoot / "runs" / taskName).glob("*.jsonl"):
        for line in path.read_text().splitlines():
            total += json.loads(line).get("taskTime", 0.0)
    return total
