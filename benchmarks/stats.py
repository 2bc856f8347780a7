"""Benchmark of the statistics tasks and of reading obs_test files.

Prints, per image (the obs_test ``exposure/exp_v1_fg.fits.gz`` read as a MaskedImage, with
its mask, and a synthetic 4096x4096 float32 image with 1% masked pixels and some NaNs):

- the run time of ``SigmaClippedStatsTask.run`` with the compiled kernel
  (pipetask-stats-numba, when installed) and with the numpy kernel, and their ratios to one
  ``numpy.sum`` pass over the same array (the memory floor) and to
  ``astropy.stats.sigma_clipped_stats(..., sigma=3, maxiters=2)`` on the same pixels;
- the same for ``SimpleStatsTask.run``;
- the peak extra memory of the sigma-clipped run as a multiple of the image size
  (tracemalloc, which sees numpy's allocations);

then the first-call cost of the compiled kernel in a fresh process (building it ahead of
time into an empty cache, once per installation, then loading it from there without
numba, as every later run and worker does) next to the numpy kernel's; and the time to read one
obs_test raw and one Exposure file with each reader, next to inflating the file with zlib
(the floor) and to ``fitsio`` reading the same planes.

How it measures: in CPU time of this process by default (``--clock wall`` for wall time):
every measured call is single-threaded, and on a machine shared with other jobs the CPU
time of a call moves much less than its wall time. Each function is called once untimed
(first-call costs: allocations, page faults), then measured in ``--repeats`` rounds; in
each round every function is timed in turn (the order rotating from round to round), so
that a busy spell hurts all of them alike. A round times a function over enough calls in
a row to last about ``--sample`` milliseconds and takes the time per call: the 0.4 ms of
a ``numpy.sum`` over the obs_test image is otherwise close to the clock's and the
scheduler's granularity. The rows give the fastest and the median round; the ratios are
of fastest to fastest and of median to median (neither flatters: the floor gets the same
treatment as the kernel, warm caches included). The load average is printed before and
after.

``--before CHECKOUT`` also measures the sigma-clipped statistics of an earlier checkout of
the repository (its ``pipetask_stats`` and compiled kernel, loaded under other names;
its kernel is compiled into that checkout's cache the first time), alternated with this
one's in the same rounds, on the same images.

Targets (issue 16): the sigma-clipped run at most 15x the floor on the synthetic image and
20x on the obs_test one, at least 10x faster than astropy on both; a raw read at most 1.5x
the zlib inflate, an Exposure read at most 1.5x fitsio's. Nothing is asserted.

Usage: ``python benchmarks/stats.py [--repeats N] [--sample MS] [--before CHECKOUT]``
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import logging
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
from pipetask_image import Exposure, MaskedImage
from pipetask_stats import SigmaClippedStatsTask, SimpleStatsTask, clipping

OBS_TEST = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "obs_test"
EXPOSURE = OBS_TEST / "exposure" / "exp_v1_fg.fits.gz"
RAW = OBS_TEST / "raw" / "raw_v1_fg.fits.gz"


@contextlib.contextmanager
def numpyKernel():
    """Run the sigma-clipped statistics with the numpy kernel even if a compiled one is
    installed."""
    saved = clipping.compiledKernel
    clipping.compiledKernel = lambda: None
    try:
        yield
    finally:
        clipping.compiledKernel = saved


def syntheticImage(size: int = 4096, seed: int = 1) -> MaskedImage:
    """Sky with noise, a bright tail (stars, cosmic rays), 1% EDGE pixels and NaNs."""
    rng = np.random.default_rng(seed)
    image = rng.normal(1000.0, 10.0, (size, size)).astype(np.float32)
    bright = rng.choice(image.size, image.size // 100, replace=False)
    image.flat[bright] += rng.exponential(300.0, bright.size).astype(np.float32)
    image.flat[rng.choice(image.size, 2000, replace=False)] = np.nan
    mask = np.zeros((size, size), np.int32)
    mask.flat[rng.choice(image.size, image.size // 100, replace=False)] = 1 << 4
    return MaskedImage(image, mask)


#: The clock of :func:`measure` (``--clock``).
CLOCK = {"cpu": time.process_time, "wall": time.perf_counter}
clock = time.process_time
#: Milliseconds a measured sample lasts at least (``--sample``).
SAMPLE_MS = 20.0


@dataclass
class Timing:
    """Seconds per call of each round of a measured function."""

    rounds: list[float]

    @property
    def best(self) -> float:
        return min(self.rounds)

    @property
    def median(self) -> float:
        return statistics.median(self.rounds)


def measure(functions: dict[str, Callable[[], object]], repeats: int) -> dict[str, Timing]:
    """Time per call of each function: one untimed call each, then ``repeats`` rounds, each
    timing every function (in an order rotating from round to round) over enough calls to
    last about ``SAMPLE_MS``."""
    calls = {}
    for name, function in functions.items():
        start = clock()
        function()
        elapsed = clock() - start
        calls[name] = max(1, min(1000, round(SAMPLE_MS / 1e3 / max(elapsed, 1e-6))))
    names = list(functions)
    rounds: dict[str, list[float]] = {name: [] for name in names}
    for r in range(repeats):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            function, n = functions[name], calls[name]
            start = clock()
            for _ in range(n):
                function()
            rounds[name].append((clock() - start) / n)
    return {name: Timing(times) for name, times in rounds.items()}


def best(functions: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Fastest time per call of each function (see :func:`measure`)."""
    return {name: timing.best for name, timing in measure(functions, repeats).items()}


def loadAverage() -> str:
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def peakExtraMemory(function: Callable[[], object]) -> int:
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def astropyClipped(mi: MaskedImage, badBits: int) -> Callable[[], object]:
    from astropy.stats import sigma_clipped_stats

    bad = ((mi.mask & badBits) != 0) | ~np.isfinite(mi.image)

    def run() -> object:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return sigma_clipped_stats(mi.image, mask=bad, sigma=3, maxiters=2)

    return run


def benchmarkImage(label: str, mi: MaskedImage, repeats: int, before: Any = None) -> None:
    clipped, simple = SigmaClippedStatsTask(), SimpleStatsTask()
    pixels = mi.image
    badBits = mi.getPlaneBitMask(["EDGE"])
    compiled = clipping.compiledKernel()
    kernelName = compiled[1] if compiled else "none installed"

    def clippedNumpy() -> object:
        with numpyKernel():
            return clipped.run(mi)

    functions: dict[str, Callable[[], object]] = {
        "floor": lambda: np.sum(pixels),
        "clipped": lambda: clipped.run(mi),
        "clippedNumpy": clippedNumpy,
        "simple": lambda: simple.run(mi),
    }
    if before is not None:
        functions["moments"] = lambda: clipping.sigmaClippedMoments(
            mi.image, mi.maskOrNone, badBits, 3.0, 2
        )
        functions["momentsBefore"] = lambda: before.sigmaClippedMoments(
            mi.image, mi.maskOrNone, badBits, 3.0, 2
        )
    times = measure(functions, repeats)
    times.update(measure({"astropy": astropyClipped(mi, badBits)}, max(3, repeats // 3)))
    peak = peakExtraMemory(lambda: clipped.run(mi))
    rows, columns = mi.shape
    floor = times["floor"]
    masked = "with its mask" if mi.maskOrNone is not None else "no mask"
    print(f"\n{label}: {columns}x{rows} float32 ({pixels.nbytes / 2**20:.0f} MiB), {masked}")
    print(f"  {'':34} {'fastest':>8} {'median':>8}    (ratios: fastest / median)")
    print(f"  {'numpy.sum pass (floor)':<34} {floor.best * 1e3:8.3f} {floor.median * 1e3:8.3f} ms")
    titles = [
        ("clipped", f"sigma-clipped, compiled ({kernelName})"),
        ("clippedNumpy", "sigma-clipped, numpy kernel"),
        ("simple", "SimpleStatsTask.run"),
    ]
    if before is not None:
        titles += [
            ("moments", "sigmaClippedMoments, this checkout"),
            ("momentsBefore", "sigmaClippedMoments, --before"),
        ]
    astropy = times["astropy"]
    for name, title in titles:
        t = times[name]
        print(
            f"  {title:<34} {t.best * 1e3:8.3f} {t.median * 1e3:8.3f} ms = "
            f"{t.best / floor.best:5.1f}x / {t.median / floor.median:5.1f}x floor, "
            f"{astropy.best / t.best:5.1f}x / {astropy.median / t.median:5.1f}x faster than "
            "astropy"
        )
    print(
        f"  {'astropy sigma_clipped_stats':<34} {astropy.best * 1e3:8.3f} "
        f"{astropy.median * 1e3:8.3f} ms = {astropy.best / floor.best:5.1f}x / "
        f"{astropy.median / floor.median:5.1f}x floor"
    )
    if before is not None:
        new, old = times["moments"], times["momentsBefore"]
        print(
            f"  this checkout against --before: {old.best / new.best:4.2f}x / "
            f"{old.median / new.median:4.2f}x faster"
        )
    print(f"  peak extra memory (clipped)        {peak / pixels.nbytes:8.2f} x image size")
    a, b = clipped.run(mi), clippedNumpy()
    print(f"  result: {a}; identical with the numpy kernel: {a.getDict() == b.getDict()}")
    if before is not None:
        mine = clipping.sigmaClippedMoments(mi.image, mi.maskOrNone, badBits, 3.0, 2)
        theirs = before.sigmaClippedMoments(mi.image, mi.maskOrNone, badBits, 3.0, 2)
        same = mine.quartiles == theirs.quartiles and [
            (m.n, m.mean, m.variance) for m in mine.iterations
        ] == [(m.n, m.mean, m.variance) for m in theirs.iterations]
        print(f"  identical with --before: {same}")


def _loadPackage(name: str, folder: Path) -> ModuleType:
    """The package in ``folder`` imported under ``name`` (its relative imports follow)."""
    spec = importlib.util.spec_from_file_location(
        name, folder / "__init__.py", submodule_search_locations=[str(folder)]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def loadBefore(checkout: Path) -> ModuleType:
    """The ``clipping`` module of an earlier checkout, using that checkout's compiled kernel
    (compiled in this process into that checkout's cache the first time)."""
    _loadPackage("before_pipetask_stats", checkout / "plugins" / "stats" / "pipetask_stats")
    beforeClipping = importlib.import_module("before_pipetask_stats.clipping")
    _loadPackage(
        "before_pipetask_stats_numba",
        checkout / "plugins" / "stats_numba" / "pipetask_stats_numba",
    )
    native = importlib.import_module("before_pipetask_stats_numba.native")
    native.build = native._compile  # in this process: the child could not import it
    kernel = importlib.import_module("before_pipetask_stats_numba.scan")
    loops, how = kernel.loaded()
    print(f"--before {checkout}: its compiled kernel {how}")
    beforeClipping.compiledKernel = lambda: (kernel, "before")
    return beforeClipping


FIRST_CALL = """
import time
start = time.perf_counter()
import numpy as np
from pipetask_stats import clipping
image = np.random.default_rng(1).normal(5.0, 1.0, (1024, 512)).astype(np.float32)
clipping.sigmaClippedMoments(image, method="scan", kernel="{kernel}")
first = time.perf_counter() - start
start = time.perf_counter()
clipping.sigmaClippedMoments(image, method="scan", kernel="{kernel}")
second = time.perf_counter() - start
import sys
how = "numpy"
if "{kernel}" == "compiled":
    from pipetask_stats_numba import scan
    how = scan.loaded()[1] + (", numba imported" if "numba" in sys.modules else ", no numba")
print(first, second, how)
"""


def firstCall(kernel: str, cacheDir: str) -> tuple[float, float, float, str]:
    """Wall time of the first call (imports included) and of the second, in a fresh
    process, the CPU time of that whole process, and how the kernel was obtained."""
    env = dict(os.environ, NUMBA_CACHE_DIR=cacheDir)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(
        [sys.executable, "-c", FIRST_CALL.format(kernel=kernel)],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime
    first, second, how = done.stdout.split(maxsplit=2)
    return float(first), float(second), cpu, how.strip()


def benchmarkFirstCall() -> None:
    print("\nfirst call in a fresh process (imports included; wall time), then a second call;")
    print("and the CPU time of that whole process:")
    numpy = firstCall("numpy", "")
    rows = [("numpy kernel", numpy, "")]
    if clipping.compiledKernel() is None:
        print("  compiled kernel: not installed")
    else:
        with tempfile.TemporaryDirectory() as cache:
            compiled = firstCall("compiled", cache)
            loaded = firstCall("compiled", cache)
        rows.append(("compiled, empty cache", compiled, "compiles once per installation"))
        extra = f"every later run and worker: +{(loaded[2] - numpy[2]) * 1e3:.0f} ms CPU"
        rows.append(("compiled, from the cache", loaded, extra))
    for title, (first, second, cpu, how), note in rows:
        print(
            f"  {title:<26} {first * 1e3:8.0f} ms, then {second * 1e3:6.1f} ms; "
            f"process CPU {cpu * 1e3:6.0f} ms  {note} ({how})"
        )


def inflate(path: Path) -> bytes:
    return zlib.decompress(path.read_bytes(), wbits=31)


def fitsioPlanes(path: Path, indices: tuple[int, ...]) -> None:
    import fitsio

    with fitsio.FITS(str(path)) as hdus:
        for i in indices:
            hdus[i].read()


def benchmarkReaders(repeats: int) -> None:
    for path, indices, what in (
        (RAW, (0,), "raw, 1 plane"),
        (EXPOSURE, (1, 2, 3), "Exposure, 3 planes"),
    ):
        print(f"\nreading {path.name} ({what}, gzip) into an Exposure:")
        functions: dict[str, Callable[[], object]] = {
            "zlib inflate (floor)": lambda path=path: inflate(path),
            "fitsio.read of the planes": lambda path=path, i=indices: fitsioPlanes(path, i),
        }
        for reader in ("fast", "fitsio", "astropy"):
            functions[f"Exposure.readFits {reader}"] = lambda path=path, r=reader: (
                Exposure.readFits(path, reader=r)
            )
        times = best(functions, repeats)
        floor, peer = times["zlib inflate (floor)"], times["fitsio.read of the planes"]
        for name, t in times.items():
            print(
                f"  {name:<28} {t * 1e3:8.1f} ms = {t / floor:4.2f}x inflate, "
                f"{t / peer:4.2f}x fitsio"
            )
        exposures = [Exposure.readFits(path, reader=r) for r in ("fast", "fitsio", "astropy")]
        same = all(
            np.array_equal(getattr(exposures[0], p), getattr(e, p))
            for e in exposures[1:]
            for p in ("image", "mask", "variance")
        )
        print(f"  identical pixels in all planes, all readers: {same}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--sample", type=float, default=20.0, help="ms per round")
    parser.add_argument("--clock", choices=sorted(CLOCK), default="cpu")
    parser.add_argument("--before", type=Path, help="an earlier checkout to compare with")
    parser.add_argument("--only-stats", action="store_true", help="skip the readers")
    args = parser.parse_args()
    global clock, SAMPLE_MS
    clock = CLOCK[args.clock]
    SAMPLE_MS = args.sample
    print(
        f"times: {args.clock} time per call, {args.repeats} rounds of about {SAMPLE_MS:g} ms "
        f"each; {loadAverage()} on {os.cpu_count()} CPUs"
    )
    logging.getLogger().setLevel(logging.WARNING)
    before = loadBefore(args.before.resolve()) if args.before else None
    if EXPOSURE.exists():
        exposure = MaskedImage.readFits(EXPOSURE)
        benchmarkImage(f"obs_test {EXPOSURE.name}", exposure, args.repeats, before)
    else:
        print(f"obs_test data not found at {OBS_TEST}: skipping the real image")
    benchmarkImage("synthetic", syntheticImage(), args.repeats, before)
    print(f"\n{loadAverage()}")
    benchmarkFirstCall()
    if EXPOSURE.exists() and not args.only_stats:
        benchmarkReaders(args.repeats)


if __name__ == "__main__":
    main()
