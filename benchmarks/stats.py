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

Times are the minimum over repeats, measured interleaved so that a busy machine hurts all
of them alike, in CPU time of this process by default (``--clock wall`` for wall time):
every measured call is single-threaded, and on a machine shared with other jobs the CPU
time of a call moves much less than its wall time. Targets (issue 16): the sigma-clipped
run at most 15x the floor on the synthetic image and 20x on the obs_test one, at least 10x
faster than astropy on both; a raw read at most 1.5x the zlib inflate, an Exposure read at
most 1.5x fitsio's. Nothing is asserted.

Usage: ``python benchmarks/stats.py [--repeats N]``
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
import warnings
import zlib
from collections.abc import Callable
from pathlib import Path

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


#: The clock of :func:`best` (``--clock``).
CLOCK = {"cpu": time.process_time, "wall": time.perf_counter}
clock = time.process_time


def best(functions: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Minimum time of each function, calling them in turn ``repeats`` times."""
    times = {name: float("inf") for name in functions}
    for _ in range(repeats):
        for name, function in functions.items():
            start = clock()
            function()
            times[name] = min(times[name], clock() - start)
    return times


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


def benchmarkImage(label: str, mi: MaskedImage, repeats: int) -> None:
    clipped, simple = SigmaClippedStatsTask(), SimpleStatsTask()
    pixels = mi.image
    badBits = mi.getPlaneBitMask(["EDGE"])
    compiled = clipping.compiledKernel()
    kernelName = compiled[1] if compiled else "none installed"

    def clippedNumpy() -> object:
        with numpyKernel():
            return clipped.run(mi)

    times = best(
        {
            "floor": lambda: np.sum(pixels),
            "clipped": lambda: clipped.run(mi),
            "clippedNumpy": clippedNumpy,
            "simple": lambda: simple.run(mi),
        },
        repeats,
    )
    times.update(best({"astropy": astropyClipped(mi, badBits)}, max(2, repeats // 4)))
    peak = peakExtraMemory(lambda: clipped.run(mi))
    rows, columns = mi.shape
    floor = times["floor"]
    masked = "with its mask" if mi.maskOrNone is not None else "no mask"
    print(f"\n{label}: {columns}x{rows} float32 ({pixels.nbytes / 2**20:.0f} MiB), {masked}")
    print(f"  numpy.sum pass (floor)           {floor * 1e3:8.2f} ms")
    for name, title in (
        ("clipped", f"sigma-clipped, compiled kernel ({kernelName})"),
        ("clippedNumpy", "sigma-clipped, numpy kernel"),
        ("simple", "SimpleStatsTask.run"),
    ):
        t = times[name]
        print(
            f"  {title:<32} {t * 1e3:8.2f} ms = {t / floor:5.1f}x floor, "
            f"{times['astropy'] / t:5.1f}x faster than astropy"
        )
    print(
        f"  astropy sigma_clipped_stats      {times['astropy'] * 1e3:8.2f} ms = "
        f"{times['astropy'] / floor:5.1f}x floor"
    )
    print(f"  peak extra memory (clipped)      {peak / pixels.nbytes:8.2f} x image size")
    a, b = clipped.run(mi), clippedNumpy()
    print(f"  result: {a}; identical with the numpy kernel: {a.getDict() == b.getDict()}")


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
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--clock", choices=sorted(CLOCK), default="cpu")
    args = parser.parse_args()
    global clock
    clock = CLOCK[args.clock]
    print(f"times: {args.clock} time, best of {args.repeats}")
    logging.getLogger().setLevel(logging.WARNING)
    if EXPOSURE.exists():
        benchmarkImage(f"obs_test {EXPOSURE.name}", MaskedImage.readFits(EXPOSURE), args.repeats)
    else:
        print(f"obs_test data not found at {OBS_TEST}: skipping the real image")
    benchmarkImage("synthetic", syntheticImage(), args.repeats)
    benchmarkFirstCall()
    if EXPOSURE.exists():
        benchmarkReaders(args.repeats)


if __name__ == "__main__":
    main()
