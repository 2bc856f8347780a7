"""Scaling of ``pipetask run`` over executors: serial, ``-j 2`` and a local Dask cluster.

In one run, on a synthetic repository built in a temporary directory (raws simulated by
``obs_synth.simulate``, then ``pipetask ingest``), each task over 40 data IDs, serially,
with ``-j 2`` and with ``--executor dask -j 2`` (a local cluster of 2 worker processes).
For each: wall time of the command, the tasks' own time (from the run's outcome record),
speed-up over serial (target: at least 1.7x on 2 cores), and the overhead per data ID,
i.e. worker time not spent in the task: (wall time x workers - tasks' own time) / data
IDs, start-up included.

1. ``burn``: ``--burn`` seconds of plain-Python CPU work per data ID; it touches
   no memory to speak of, so it shows what the executors themselves allow.
2. ``clipStats``: reads each raw and runs the real sigma-clipped statistics subtask
   ``--repeat`` times on it: numpy work that streams through memory, so two processes
   also compete for the memory system.
3. The real ``statsWriter``: it writes a dataset, its metadata and registry rows per data
   ID, so its run is short and not purely CPU-bound.
4. A trivial task (returns at once) over a small and a large number of data IDs with
   each executor: the marginal wall time per data ID, (t_large - t_small) / (difference
   in data IDs), and the fixed start-up cost left over.
5. ``statsWriter`` over many small images (``--many``, 200 by default): Dask must not be
   slower than serial here (target: at least 1.3x faster). Besides the executors above,
   ``--executor dask --scheduler ADDRESS`` on a cluster that is already running (a
   ``dask scheduler`` and ``dask worker --nworkers 2 --nthreads 1`` started by the
   benchmark beforehand, the normal use of Dask): no cluster start or teardown in its run.
   Dask against serial (see :func:`reportDask`) as for part 1, with the running
   cluster's wall and in-run times too.

6. Dask dispatch: no-op items (:class:`bench_tasks.NoopJob`) straight through the Dask
   executor's ``run`` on a local cluster of 2 workers that has started, ``--dispatch``
   items and a tenth of them: the marginal CPU time of this process per item (client,
   scheduler and nannies all live here) and wall time per item. Target: at most 50 µs
   per item amortised. The same for the process pool (``-j 2``) as the baseline.

For parts 1 and 5, Dask against serial (measured in the same run), the local cluster's
start and teardown apart (from the executor's log lines): the whole wall time; the wall
time without the run's wait for the cluster and without its teardown (everything else
the user waits for: start-up, planning, the run, the process's exit), the bar's figure;
and the time in the run without the wait (the summary's time, "in run", holds the wait,
since the cluster goes on starting while the run writes its configs). Each ratio is
serial's time over Dask's, of the fastest repetitions (and of the medians where said).
Target for ``burn``: Dask at least 1.8x serial.

The test tasks are in ``bench_tasks.py``, found through a throwaway plugin record written
into the temporary directory (see ``_bench.py``): nothing is installed. Prints figures;
asserts nothing.

Usage: ``python benchmarks/scaling.py [--ids 40] [--burn 1] [--repeat 40] [--runs 1]
[--parts 123456]``
with the ``python`` of the environment where pipetask and pipetask-dask are installed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from _bench import PIPETASK, makeRepo, pluginEnv, taskSeconds

EXECUTORS = {
    "serial": ([], 1),
    "-j 2": (["-j", "2"], 2),
    "dask -j 2": (["--executor", "dask", "-j", "2"], 2),
}
CCDS = 8  # the synth camera's CCDs per visit


def run(task: str, repo: Path, out: Path, options: list[str], env: dict[str, str], *extra):
    """Run the task over every data ID; ``(wall time, summary time, sum of task times,
    the local Dask cluster's (start, wait, teardown) or None)``."""
    command = [PIPETASK, "run", task, str(repo), "--id", "--output", str(out), *options]
    start = time.perf_counter()
    done = subprocess.run([*command, *extra], env=env, capture_output=True, text=True, timeout=3600)
    wall = time.perf_counter() - start
    if done.returncode == 1:  # some data IDs failed: the figures stand, with a warning
        failed = [
            line for line in done.stderr.splitlines() if line.startswith("pipetask:   failed")
        ]
        print(f"   WARNING: {' '.join(options) or 'serial'}: {len(failed)} data IDs failed:")
        print("\n".join(f"     {line}" for line in failed[:3]))
    elif done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr}")
    match = re.search(r"data IDs in ([\d.]+) s", done.stderr)
    summary = float(match.group(1)) if match else float("nan")
    return wall, summary, taskSeconds(out, task), clusterTimes(done.stderr)


def clusterTimes(stderr: str) -> tuple[float, float, float] | None:
    """The local Dask cluster's start, the run's wait for it, and its teardown (seconds),
    from the executor's log."""
    started = re.search(
        r"dask: local cluster .* started in ([\d.]+) s .*the run waited ([\d.]+) s", stderr
    )
    stopped = re.search(r"dask: local cluster shut down in ([\d.]+) s", stderr)
    if not (started and stopped):
        return None
    return float(started.group(1)), float(started.group(2)), float(stopped.group(1))


#: The Dask settings the cluster guide (docs/cluster.md) suggests for workers of one's
#: own, as the local cluster has them: glibc's own malloc trimming, no profiler, fewer
#: wake-ups for what only a dashboard shows (a Dask config file, found through
#: ``DASK_CONFIG``).
RUNNING_CLUSTER_CONFIG = """\
distributed:
  nanny:
    pre-spawn-environ:
      MALLOC_TRIM_THRESHOLD_: null
  worker:
    profile:
      enabled: false
  admin:
    tick:
      interval: 500ms
    system-monitor:
      interval: 2s
"""


@contextlib.contextmanager
def runningCluster(root: Path, env: dict[str, str], workers: int = 2) -> Iterator[str]:
    """A Dask scheduler and ``workers`` one-thread workers started here (as a user starts
    a cluster of their own, with :data:`RUNNING_CLUSTER_CONFIG`), up until the block
    ends; its address."""
    dask = str(Path(sys.executable).with_name("dask"))
    info = root / "scheduler.json"
    logs = (root / "scheduler.log").open("w"), (root / "workers.log").open("w")
    config = root / "dask-config"
    config.mkdir(exist_ok=True)
    (config / "cluster.yaml").write_text(RUNNING_CLUSTER_CONFIG)
    env = {**env, "DASK_CONFIG": str(config)}
    common = {"env": env, "stderr": subprocess.STDOUT, "stdin": subprocess.DEVNULL}
    scheduler = subprocess.Popen(
        [
            dask,
            "scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--scheduler-file",
            str(info),
            "--dashboard-address",
            "127.0.0.1:0",
        ],
        stdout=logs[0],
        **common,
    )
    processes = [scheduler]
    try:
        deadline = time.monotonic() + 60
        while not info.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        address = json.loads(info.read_text())["address"]
        processes.append(
            subprocess.Popen(
                [
                    dask,
                    "worker",
                    address,
                    "--nworkers",
                    str(workers),
                    "--nthreads",
                    "1",
                    "--host",
                    "127.0.0.1",
                    "--no-dashboard",
                ],
                stdout=logs[1],
                **common,
            )
        )
        from distributed import Client

        with Client(address, timeout=60) as client:
            client.wait_for_workers(workers, timeout=60)
        yield address
    finally:
        for process in reversed(processes):
            process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=20)
            if process.poll() is None:
                process.kill()
        for stream in logs:
            stream.close()


def measure(runs: int, root: Path, prefix: str, task: str, repo: Path, env, *extra, executors=None):
    """Each executor ``runs`` times, taking turns (fresh outputs each): per executor, its
    fastest repetition ``(wall, in run, task time)``, the median wall time, and every
    repetition's ``run`` result (for the local Dask cluster's times).

    On a shared machine another process only ever slows a run down, so the fastest
    repetition is the best estimate of what the executor itself allows; the executors
    take turns so that a busy spell slows them alike.
    """
    executors = executors or EXECUTORS
    walls: dict[str, list] = {label: [] for label in executors}
    for i in range(runs):
        for label, (options, _) in executors.items():
            out = root / f"{prefix}-{label}-{i}"
            walls[label].append(run(task, repo, out, options, env, *extra))
    return {
        label: (
            *min(results, key=lambda r: r[0])[:3],
            statistics.median(r[0] for r in results),
            results,
        )
        for label, results in walls.items()
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ids", type=int, default=40, help="data IDs of the CPU-bound run")
    parser.add_argument("--size", type=int, default=1024, help="pixels per side of a raw")
    parser.add_argument("--burn", type=float, default=1.0, help="CPU s per data ID (burn)")
    parser.add_argument("--repeat", type=int, default=40, help="statistics per data ID")
    parser.add_argument("--small", type=int, default=40, help="data IDs, small trivial run")
    parser.add_argument("--large", type=int, default=800, help="data IDs, large trivial run")
    parser.add_argument("--runs", type=int, default=1, help="repetitions (fastest kept)")
    parser.add_argument("--many", type=int, default=200, help="small images of part 5")
    parser.add_argument("--many-size", type=int, default=128, help="pixels per side, part 5")
    parser.add_argument("--dispatch", type=int, default=20000, help="no-op items, part 6")
    parser.add_argument("--parts", default="123456", help="which parts to run (123456)")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="pipetask-scaling-") as tmp:
        root = Path(tmp)
        env = pluginEnv(root / "plugin")
        start = time.perf_counter()
        repo = root / "cpu" / "repo"
        if set(args.parts) & set("123"):  # the other parts build repositories of their own
            repo = makeRepo(root / "cpu", -(-args.ids // CCDS), CCDS, args.size, env)
            print(
                f"repository: {-(-args.ids // CCDS) * CCDS} raws of {args.size}x{args.size} "
                f"built in {time.perf_counter() - start:.1f} s"
            )
        print(f"{os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.2f} at the start")

        if "1" in args.parts:
            print(f"\n1. burn ({args.burn:g} s of CPU per data ID) over {args.ids} data IDs")
            burn = measure(args.runs, root, "burn", "burn", repo, env, "-c", f"seconds={args.burn}")
            report(burn, args.ids, "at least 1.8x for Dask")
            reportDask(burn, "Dask at least 1.8x serial")

        if "2" in args.parts:
            print(
                f"\n2. clipStats (read the raw, sigma-clipped statistics x{args.repeat}) over "
                f"{args.ids} data IDs"
            )
            cpu = measure(
                args.runs, root, "cpu", "clipStats", repo, env, "-c", f"repeat={args.repeat}"
            )
            report(cpu, args.ids)

        if "3" in args.parts:
            print(f"\n3. statsWriter (the real task, writes imageStats) over {args.ids} data IDs")
            real = measure(args.runs, root, "sw", "statsWriter", repo, env)
            report(real, args.ids)

        if "4" in args.parts:
            tiny = makeRepo(root / "tiny", -(-args.large // CCDS), CCDS, 16, env)
            small = f"visit=1..{-(-args.small // CCDS)}"
            nSmall = -(-args.small // CCDS) * CCDS
            nLarge = -(-args.large // CCDS) * CCDS
            print(f"\n4. trivial task, {nSmall} vs {nLarge} data IDs of 16x16 raws")
            print(f"   {'executor':<10} {'small':>8} {'large':>8} {'per data ID':>12} {'fixed':>8}")
            for label, (options, _) in EXECUTORS.items():
                walls = {}
                for name, ids in (("small", ["--id", small]), ("large", ["--id"])):
                    out = root / f"trivial-{label}-{name}"
                    command = [PIPETASK, "run", "trivial", str(tiny), "--output", str(out)]
                    begin = time.perf_counter()
                    subprocess.run(
                        [*command, *ids, *options],
                        env=env,
                        check=True,
                        capture_output=True,
                        timeout=3600,
                    )
                    walls[name] = time.perf_counter() - begin
                perId = (walls["large"] - walls["small"]) / (nLarge - nSmall)
                fixed = walls["small"] - perId * nSmall
                print(
                    f"   {label:<10} {walls['small']:7.2f}s {walls['large']:7.2f}s "
                    f"{perId * 1000:9.2f} ms {fixed:7.2f}s"
                )

        if "5" in args.parts:
            visits = -(-args.many // CCDS)
            many = makeRepo(root / "many", visits, CCDS, args.many_size, env)
            print(
                f"\n5. statsWriter over {visits * CCDS} small images "
                f"({args.many_size}x{args.many_size})"
            )
            with runningCluster(root, env) as address:
                options = ["--executor", "dask", "--scheduler", address]
                executors = {**EXECUTORS, "dask running": (options, 2)}
                results = measure(
                    args.runs, root, "many", "statsWriter", many, env, executors=executors
                )
            report(results, visits * CCDS, "Dask at least 1.3x serial", executors)
            reportDask(results, "Dask at least 1.3x serial, cluster start and teardown apart")

        if "6" in args.parts:
            print(f"\n6. dispatch of no-op items, {args.dispatch // 10} vs {args.dispatch}")
            heads = ("CPU/item", "wall/item", "start", "close")
            print(f"   {'executor':<10} {heads[0]:>10} {heads[1]:>10} {heads[2]:>7} {heads[3]:>7}")
            for label, name in (("-j 2", "process"), ("dask -j 2", "dask")):
                for _ in range(args.runs):
                    cpu, wall, started, closed = dispatch(name, args.dispatch)
                    print(
                        f"   {label:<10} {cpu * 1e6:7.1f} µs {wall * 1e6:7.1f} µs "
                        f"{started:6.2f}s {closed:6.2f}s"
                    )
            print("   (target: Dask at most 50 µs of this process's CPU per item, amortised)")
    return 0


def dispatch(name: str, items: int) -> tuple[float, float, float, float]:
    """``(CPU s, wall s)`` per item of this process, marginal between ``items // 10`` and
    ``items`` no-op items through executor ``name`` with 2 workers; its start and close."""
    from bench_tasks import NoopJob
    from pipetask.plugins import load_item

    begin = time.perf_counter()
    executor = load_item("executor", name)(processes=2, timeout=None)
    executor.start()
    list(executor.run(NoopJob(), [{"i": i} for i in range(8)]))  # workers warm
    started = time.perf_counter() - begin
    measured = {}
    for count in (items // 10, items):
        cpu, wall = time.process_time(), time.perf_counter()
        done = sum(1 for _ in executor.run(NoopJob(), [{"i": i} for i in range(count)]))
        assert done == count, (done, count)
        measured[count] = (time.process_time() - cpu, time.perf_counter() - wall)
    begin = time.perf_counter()
    executor.close()
    closed = time.perf_counter() - begin
    (cpuSmall, wallSmall), (cpuLarge, wallLarge) = measured[items // 10], measured[items]
    extra = items - items // 10
    return (cpuLarge - cpuSmall) / extra, (wallLarge - wallSmall) / extra, started, closed


def report(
    results: dict[str, tuple],
    ids: int,
    target: str = "",
    executors: dict | None = None,
) -> None:
    """Print wall times (fastest and median), speed-ups over serial (of the fastest and of
    the medians), and overhead per data ID (of the fastest)."""
    executors = executors or EXECUTORS
    serialWall, serialMedian = results["serial"][0], results["serial"][3]
    print(
        f"   {'executor':<12} {'wall':>8} {'median':>8} {'in run':>8} {'task time':>10} "
        f"{'speed-up':>9} {'(median)':>9} {'overhead/ID':>12}"
    )
    for label, (wall, summary, own, median, _) in results.items():
        workers = executors[label][1]
        overhead = (wall * workers - own) / ids
        print(
            f"   {label:<12} {wall:7.2f}s {median:7.2f}s {summary:7.2f}s {own:9.2f}s "
            f"{serialWall / wall:8.2f}x {serialMedian / median:8.2f}x {overhead * 1000:9.1f} ms"
        )
    print(f"   load average {os.getloadavg()[0]:.2f} after these runs")
    print(
        f"   (speed-up target: {target or 'at least 1.7x'}; 'in run' is the summary's time; "
        f"mean task time {statistics.mean(r[2] for r in results.values()) / ids * 1000:.0f} "
        f"ms/ID)"
    )


def reportDask(results: dict[str, tuple], target: str) -> None:
    """Dask against serial, with the local cluster's start and teardown apart.

    For the local cluster (``dask -j 2``), from its repetitions: the fastest whole wall
    time; the cluster's start, the run's wait for it (the start overlaps the command's
    planning and the writing of the run's configs) and its teardown; the fastest wall time
    without the wait and the teardown (everything else the user waits for: the command's
    start-up and planning, the run, the process's exit), which is the bar's figure; and
    the time in the run without the wait (the summary's time holds the wait), fastest
    and median. For a running cluster (``dask running``, if measured): its wall and
    in-run times, fastest and median. Each as serial's time over it (above 1: faster than
    serial), serial measured in the same run (fastest against fastest, median against
    median).
    """
    serialWall, serialRun, serialMedian = (
        results["serial"][0],
        results["serial"][1],
        results["serial"][3],
    )
    serialRunMedian = statistics.median(r[1] for r in results["serial"][4])
    print(f"   Dask against serial (serial: {serialWall:.2f} s wall, {serialRun:.2f} s in run):")
    runs = [r for r in results.get("dask -j 2", (0,) * 5)[4] if r[3] is not None]
    if runs:
        wall, inRun, _, (start, waited, teardown) = min(runs, key=lambda r: r[0])
        bares = sorted(r[0] - r[3][1] - r[3][2] for r in runs)
        bare, bareMedian = bares[0], statistics.median(bares)
        print(
            f"     local cluster, whole wall {wall:.2f} s = {serialWall / wall:.2f}x serial "
            f"(cluster started in {start:.2f} s, the run waited {waited:.2f} s for it; shut "
            f"down in {teardown:.2f} s)"
        )
        print(
            f"     local cluster, wall without the wait and the teardown {bare:.2f} s = "
            f"{serialWall / bare:.2f}x serial (median {bareMedian:.2f} s = "
            f"{results['serial'][3] / bareMedian:.2f}x serial's median)"
        )
        runs_ = sorted(r[1] - r[3][1] for r in runs)
        print(
            f"     local cluster, in run without the wait {runs_[0]:.2f} s = "
            f"{serialRun / runs_[0]:.2f}x serial (median {statistics.median(runs_):.2f} s = "
            f"{serialRunMedian / statistics.median(runs_):.2f}x serial's median)"
        )
    if "dask running" in results:
        wall, _, _, median, reps = results["dask running"]
        inRuns = sorted(r[1] for r in reps)
        print(
            f"     running cluster (--scheduler): wall {wall:.2f} s = {serialWall / wall:.2f}x "
            f"(median {serialMedian / median:.2f}x); in run {inRuns[0]:.2f} s = "
            f"{serialRun / inRuns[0]:.2f}x (median {statistics.median(inRuns):.2f} s = "
            f"{serialRunMedian / statistics.median(inRuns):.2f}x)"
        )
    print(f"     (target: {target})")


if __name__ == "__main__":
    sys.exit(main())
