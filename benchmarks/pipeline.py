"""Pipeline runs: framework overhead per quantum, the -j 2 and Dask speed-ups, the resume
decision, and the bookkeeping files a run writes.

1. A one-label pipeline of ``benchNoop`` (returns at once, writes nothing) over
   ``--ids`` quanta, serial and ``-j 2``: overhead per quantum = (wall time of the whole
   command - the task's own time) / quanta, against ``python -c pass`` and against the
   same data through ``pipetask run trivial`` (a single command-line task), measured in
   this run. Targets: under 2 ms serial, under 3 ms with ``-j 2``. The same with
   ``benchStep`` (one small output file per quantum, registered by the main process).
2. ``burn`` (0.25 s of CPU per quantum) over ``--cpu-ids`` quanta: serial, ``-j 2`` and
   Dask with 2 workers; target at least 1.8x.
3. Resume: a stored graph of about 10^5 quanta whose outputs are 99% registered; the
   time to read it and decide what is done (target under 1 s).
4. Bookkeeping files (everything in the output that is not a registered dataset) after
   runs of N and 10 N quanta: the same count.

Usage: ``python benchmarks/pipeline.py [--ids 2000] [--cpu-ids 40] [--runs 3]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _bench import makeRepo, pluginEnv

PIPETASK = str(Path(sys.executable).with_name("pipetask"))


def timed(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stderr[-2000:]}")
    return time.perf_counter() - start


def taskSeconds(outputRoot: Path) -> float:
    """The tasks' own time summed over the quanta of every run record of an output."""
    import json

    total = 0.0
    for path in (outputRoot / "runs").rglob("*.jsonl"):
        for line in path.read_text().splitlines():
            item = json.loads(line)
            total += item.get("taskTime", 0.0) if isinstance(item, dict) else 0.0
    return total


def pipelineFile(root: Path, task: str) -> Path:
    path = root / f"{task}.toml"
    path.write_text(f'[tasks.{task}]\ntask = "{task}"\n')
    return path


def overhead(repo: Path, root: Path, env, command: list[str], n: int, runs: int, tag: str):
    """Median (wall, own) of ``runs`` commands, each into a fresh output."""
    results = []
    for i in range(runs):
        out = root / f"{tag}-{i}"
        wall = timed([*command, "--output", str(out)], env)
        results.append((wall, taskSeconds(out)))
    return sorted(results)[len(results) // 2]


def bookkeeping(out: Path) -> int:
    """Files in an output that are not registered datasets."""
    import sqlite3

    with sqlite3.connect(out / "registry.sqlite3") as conn:
        registered = {row[0] for row in conn.execute("SELECT path FROM dataset")}
    count = 0
    for folder, _dirs, files in os.walk(out):
        for name in files:
            relative = os.path.relpath(os.path.join(folder, name), out)
            count += relative not in registered
    return count


def resumeDecision(root: Path, quanta: int) -> tuple[float, int, int, float]:
    """Seconds to read the stored graph and decide what is done for a ``quanta``-quantum
    run 99% done; the quanta done and in all; seconds to build that graph (baseline)."""
    sys.path.insert(0, str(Path(__file__).parent))
    import bench_plugin
    from pipetask import Butler
    from pipetask.butler.repository import Repository
    from pipetask.dataid import IdQuery
    from pipetask.pipeline import Pipeline, buildGraph
    from pipetask.pipeline.graph_io import saveGraph
    from pipetask.pipeline.resume import doneQuanta, storedGraph
    from pipetask.plugins import catalog, get_plugin_manager

    get_plugin_manager().register(bench_plugin, name="bench_plugin")
    catalog.cache_clear()
    repo, out = root / "resume-repo", root / "resume-out"
    Repository.create(repo, "synth")
    ccds = 100
    visits = quanta // ccds
    rows = [(v, c) for v in range(1, visits + 1) for c in range(ccds)]
    with Butler(repo) as butler:
        raw = butler.getDatasetType("raw").template
        butler.output.registry.insertMany("raw", rows, lambda r: raw.format(visit=r[0], ccd=r[1]))
    with Butler(repo, output=out) as butler:
        pipeline = Pipeline.fromFile(str(pipelineFile(root, "benchStep")), butler.camera)
        start = time.perf_counter()
        graph = buildGraph(pipeline, butler)
        build = time.perf_counter() - start
        step = butler.registerDatasetType("benchStep1", keys=["visit", "ccd"])
        finished = rows[: len(rows) * 99 // 100]
        butler.output.registry.insertMany(
            "benchStep1", finished, lambda r: step.path({"visit": r[0], "ccd": r[1]})
        )
        saveGraph(graph, butler.outputRoot)
        start = time.perf_counter()  # what --skip-existing does: read the graph, decide
        stored = storedGraph(pipeline, [IdQuery()], butler.outputRoot)
        assert stored is not None and len(stored) == len(graph)
        done, _reasons = doneQuanta(stored, butler)
        return time.perf_counter() - start, len(done), len(graph), build


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ids", type=int, default=2000)
    parser.add_argument("--cpu-ids", type=int, default=40)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--resume-quanta", type=int, default=100_000)
    parser.add_argument("--no-dask", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="pipetask-pipeline-") as tmp:
        root = Path(tmp)
        env = pluginEnv(root / "plugin")
        ccds = 4
        repo = makeRepo(root / "trivial", args.ids // ccds, ccds, 16, env)
        n = (args.ids // ccds) * ccds
        python = statistics.median(timed([sys.executable, "-c", "pass"], env) for _ in range(5))
        print(f"machine shared with other jobs; python -c pass: {python * 1000:.1f} ms")
        base = [PIPETASK, "run", "trivial", str(repo), "--id"]
        wall, own = overhead(repo, root, env, base, n, args.runs, "single")
        single = (wall - own) / n
        print(f"single task 'trivial' over {n} data IDs, serial: {single * 1000:.3f} ms per ID")
        figures = {}
        for task in ("benchNoop", "benchStep"):
            pipe = pipelineFile(root, task)
            for label, extra in (("serial", []), ("-j 2", ["-j", "2"])):
                command = [PIPETASK, "run", "-p", str(pipe), str(repo), "--id", *extra]
                wall, own = overhead(repo, root, env, command, n, args.runs, f"{task}{extra}")
                perQuantum = (wall - own) / n
                figures[task, label] = perQuantum
                print(
                    f"pipeline {task} over {n} quanta, {label}: wall {wall:.2f} s, "
                    f"{perQuantum * 1000:.3f} ms per quantum ({perQuantum / single:.2f}x the "
                    f"single-task path's, {perQuantum / python:.3f}x python -c pass)"
                )
        cpuRepo = makeRepo(root / "cpu", args.cpu_ids // ccds, ccds, 16, env)
        burn = root / "burn.toml"
        burn.write_text('[tasks.burn]\ntask = "burn"\nconfig = { seconds = 0.25 }\n')
        modes = [("serial", []), ("-j 2", ["-j", "2"])]
        if not args.no_dask:
            modes.append(("dask 2 workers", ["--executor", "dask", "-j", "2"]))
        times = {}
        for label, extra in modes:
            command = [PIPETASK, "run", "-p", str(burn), str(cpuRepo), "--id", *extra]
            times[label] = overhead(cpuRepo, root, env, command, 0, args.runs, f"cpu{label}")[0]
        print(f"CPU-bound pipeline (0.25 s per quantum) over {args.cpu_ids} quanta:")
        for label, seconds in times.items():
            print(f"  {label}: {seconds:.2f} s, speed-up {times['serial'] / seconds:.2f}x")
        seconds, done, total, build = resumeDecision(root, args.resume_quanta)
        print(
            f"resume decision (stored graph read): {done:,} of {total:,} quanta done, "
            f"decided in {seconds:.3f} s ({seconds / build:.2f}x building the graph, "
            f"{build:.3f} s)"
        )
        counts = []
        for size in (n // 10, n):
            visits = max(1, size // ccds)
            command = [PIPETASK, "run", "-p", str(pipelineFile(root, "benchStep")), str(repo)]
            out = root / f"files-{size}"
            timed([*command, "--id", f"visit=1..{visits}", "--output", str(out)], env)
            counts.append((visits * ccds, bookkeeping(out)))
        print(
            "bookkeeping files: "
            + ", ".join(f"{files} after {quanta} quanta" for quanta, files in counts)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
