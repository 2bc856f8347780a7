"""Quantum-graph build time and memory for a three-task pipeline over a synthetic registry.

The pipeline (:data:`bench_tasks.GRAPH_PIPELINE`): ``step1`` raw -> benchStep1 and ``step2``
benchStep1 -> benchStep2, one quantum per (visit, ccd), then ``gather``, one quantum per
visit reading all its CCDs. With C CCDs per visit a visit gives 2C + 1 quanta. The
registry holds raw rows only (no files), bulk-inserted, for about 10^5 and 10^6 quanta.

For each size it prints, against a baseline measured in the same run on the same
registry (``pipetask.dataid.selectDataIds`` of every raw: one dict per data ID, what a
command-line selection of every raw costs):

- the build time of the graph (best of ``--repeat``) and its ratio to the baseline's;
- bytes of memory per quantum that the graph keeps, and the peak while building
  (``tracemalloc``), next to the baseline's bytes per data ID;
- the size of the graph file and the time to save and load it.

Targets: 10^5 quanta under 1 s, 10^6 under 10 s, at most 200 bytes per quantum.
Usage: ``python benchmarks/graph.py [--ccds 100] [--repeat 3] [--sizes 100000 1000000]``.
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path


def registerBenchPlugin() -> None:
    """Make :mod:`bench_plugin`'s tasks known to this process's plugin catalog."""
    import bench_plugin
    from pipetask.plugins import catalog, get_plugin_manager

    get_plugin_manager().register(bench_plugin, name="bench_plugin")
    catalog.cache_clear()


def makeRegistry(root: Path, visits: int, ccds: int) -> None:
    """A ``synth`` repository whose registry lists ``visits x ccds`` raws (no files)."""
    from pipetask import Butler
    from pipetask.butler.repository import Repository

    Repository.create(root, "synth")
    butler = Butler(root)
    template = butler.getDatasetType("raw").template
    rows = ((v, c) for v in range(1, visits + 1) for c in range(ccds))
    butler.output.registry.insertMany("raw", rows, lambda r: template.format(visit=r[0], ccd=r[1]))
    butler.close()


def best(fn, repeat: int) -> tuple[float, object]:
    """Fastest wall time of ``fn()`` over ``repeat`` calls, and its last result."""
    fastest, result = float("inf"), None
    for _ in range(repeat):
        result = None
        gc.collect()
        start = time.perf_counter()
        result = fn()
        fastest = min(fastest, time.perf_counter() - start)
    return fastest, result


def memory(fn) -> tuple[int, int, object]:
    """``(bytes kept by the result, peak bytes while building, result)``."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    result = fn()
    gc.collect()
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return current - before, peak - before, result


def run(root: Path, visits: int, ccds: int, repeat: int) -> dict[str, float]:
    import bench_tasks
    from pipetask import Butler
    from pipetask.dataid import selectDataIds
    from pipetask.pipeline import Pipeline, buildGraph, loadGraph, saveGraph
    from pipetask.pipeline.graph_io import graphPath

    makeRegistry(root, visits, ccds)
    pipelineFile = root.parent / "graph3.toml"
    pipelineFile.write_text(bench_tasks.GRAPH_PIPELINE)
    butler = Butler(root)
    pipeline = Pipeline.fromFile(str(pipelineFile), butler.camera)

    baseSeconds, dataIds = best(lambda: selectDataIds(butler, [[]]), repeat)
    nIds = len(dataIds)  # type: ignore[arg-type]
    del dataIds
    baseKept, basePeak, _ = memory(lambda: selectDataIds(butler, [[]]))

    seconds, graph = best(lambda: buildGraph(pipeline, butler), repeat)
    quanta = len(graph)  # type: ignore[arg-type]
    del graph
    kept, peak, graph = memory(lambda: buildGraph(pipeline, butler))

    out = root.parent / "out"
    out.mkdir()
    start = time.perf_counter()
    saveGraph(graph, out)  # type: ignore[arg-type]
    saveSeconds = time.perf_counter() - start
    start = time.perf_counter()
    loaded = loadGraph(out)
    loadSeconds = time.perf_counter() - start
    assert len(loaded) == quanta
    fileBytes = graphPath(out).stat().st_size
    butler.close()

    print(f"{quanta:,} quanta ({visits:,} visits x {ccds} CCDs; {nIds:,} raws)")
    print(
        f"  baseline selectDataIds of every raw: {baseSeconds:.3f} s, "
        f"{baseKept / nIds:.0f} B kept and {basePeak / nIds:.0f} B peak per data ID"
    )
    print(
        f"  graph build: {seconds:.3f} s ({1e6 * seconds / quanta:.2f} us per quantum; "
        f"{seconds / baseSeconds:.2f}x the baseline's time)"
    )
    print(
        f"  graph memory: {kept / quanta:.1f} B kept, {peak / quanta:.1f} B peak per quantum "
        f"({kept / quanta / (baseKept / nIds):.3f}x the baseline's bytes per data ID kept)"
    )
    print(
        f"  graph file: {fileBytes / quanta:.1f} B per quantum ({fileBytes / 2**20:.1f} MiB), "
        f"saved in {saveSeconds:.3f} s, loaded in {loadSeconds:.3f} s"
    )
    return {"quanta": quanta, "seconds": seconds, "kept": kept / quanta, "peak": peak / quanta}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ccds", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    args = parser.parse_args(argv)
    registerBenchPlugin()
    results = []
    for size in args.sizes:
        visits = max(1, round(size / (2 * args.ccds + 1)))
        with tempfile.TemporaryDirectory(prefix="pipetask-graph-") as tmp:
            results.append(run(Path(tmp) / "repo", visits, args.ccds, args.repeat))
        print()
    for r in results:
        limit = 1.0 if r["quanta"] <= 200_000 else 10.0
        ok = r["seconds"] < limit * r["quanta"] / (1e5 if limit == 1.0 else 1e6)
        print(
            f"{r['quanta']:>10,} quanta: {r['seconds']:.2f} s "
            f"({'meets' if ok else 'MISSES'} {limit:g} s per "
            f"{'10^5' if limit == 1.0 else '10^6'}), {r['kept']:.0f} B kept / "
            f"{r['peak']:.0f} B peak per quantum ({'meets' if r['peak'] <= 200 else 'MISSES'} 200)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
