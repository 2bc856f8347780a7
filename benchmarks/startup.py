"""Start-up time of the ``pipetask`` command in a regular install, as a multiple of a bare
Python start.

It builds that install itself: a fresh virtual environment in a temporary directory, into
which every distribution of this repository is installed as a regular (non-editable)
package with its dependencies, and whose bytecode is then compiled with ``compileall``.
The commands run with ``PYTHONDONTWRITEBYTECODE`` unset. An editable install would slow
``python -c pass`` itself (its path hooks load at every start) and flatter the ratios.

Then it runs ``python -c pass``, ``pipetask --help``, ``pipetask run --help`` and
``pipetask list`` ``--runs`` times each, interleaved so that a busy machine slows all of
them alike, and prints the median of each and its ratio to ``python -c pass``. Targets
(issue 16): ``--help`` and ``run --help`` at most 3x, ``list`` at most 4x. With
``--before DIR`` it also installs another checkout of the project (an older commit) the
same way and measures both in the same interleaved runs. Exit status 1 when a ratio is
above its target.

Usage: ``python benchmarks/startup.py [--runs 20] [--before DIR]``
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: Distributions installed, relative to the project root (the core first).
DISTRIBUTIONS = [
    ".",
    "plugins/image",
    "plugins/stats",
    "plugins/stats_numba",
    "plugins/example",
    "plugins/dask",
    "plugins/isr",
    "plugins/processing",
    "obs_packages/obs_test",
    "obs_packages/obs_synth",
]
TARGETS = {"pipetask --help": 3.0, "pipetask run --help": 3.0, "pipetask list": 4.0}


def buildInstall(source: Path, venv: Path) -> Path:
    """A venv at ``venv`` with ``source``'s distributions installed regularly; its python.

    The sources are copied beside the venv first, so that the build leaves nothing in
    ``source``.
    """
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    ignore = shutil.ignore_patterns(".venv", ".git", "build", "*.egg-info", "__pycache__")
    copy = venv.with_name(venv.name + "-src")
    shutil.copytree(source, copy, ignore=ignore)
    paths = [str(copy / d) for d in DISTRIBUTIONS if (copy / d / "pyproject.toml").exists()]
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-warn-script-location", *paths],
        check=True,
    )
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    subprocess.run([str(python), "-m", "compileall", "-q", "-j", "0", site], check=False)
    return python


def wallTime(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, env=env
    )
    return time.perf_counter() - start


def commandsOf(python: Path) -> dict[str, list[str]]:
    pipetask = str(python.with_name("pipetask"))
    return {
        "python -c pass": [str(python), "-c", "pass"],
        "pipetask --help": [pipetask, "--help"],
        "pipetask run --help": [pipetask, "run", "--help"],
        "pipetask list": [pipetask, "list"],
    }


def measure(pythons: dict[str, Path], runs: int) -> dict[str, dict[str, float]]:
    """Median wall time of each command of each install, in seconds, runs interleaved."""
    env = {
        k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "PYTHONPATH")
    }
    commands = {label: commandsOf(python) for label, python in pythons.items()}
    for perInstall in commands.values():  # warm the file cache
        for command in perInstall.values():
            wallTime(command, env)
    times = {label: {name: [] for name in perInstall} for label, perInstall in commands.items()}
    for _ in range(runs):
        for label, perInstall in commands.items():
            for name, command in perInstall.items():
                times[label][name].append(wallTime(command, env))
    return {
        label: {name: statistics.median(values) for name, values in perInstall.items()}
        for label, perInstall in times.items()
    }


def report(label: str, medians: dict[str, float]) -> bool:
    baseline = medians["python -c pass"]
    print(f"{label}:")
    ok = True
    for name, median in medians.items():
        ratio = median / baseline
        target = TARGETS.get(name)
        verdict = ""
        if target is not None:
            ok &= ratio <= target
            verdict = f"  (target at most {target:g}x: {'ok' if ratio <= target else 'above'})"
        print(f"  {name:<20} {median * 1000:8.1f} ms  {ratio:5.2f}x{verdict}")
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="runs of each command (20)")
    parser.add_argument("--before", type=Path, help="another checkout to measure alongside")
    args = parser.parse_args(argv)
    sources = {"this checkout": ROOT}
    if args.before:
        sources = {"before (" + str(args.before) + ")": args.before.resolve(), **sources}
    with tempfile.TemporaryDirectory() as tmp:
        pythons = {}
        for i, (label, source) in enumerate(sources.items()):
            print(f"building a regular install of {source} ...", flush=True)
            pythons[label] = buildInstall(source, Path(tmp) / f"venv{i}")
        print("bytecode compiled with compileall; PYTHONDONTWRITEBYTECODE unset for the runs")
        results = measure(pythons, args.runs)
        ok = True
        for label, medians in results.items():
            passed = report(f"{label}: median of {args.runs} runs each", medians)
            if label == "this checkout":
                ok = passed
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
