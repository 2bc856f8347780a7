"""Benchmark of the statistics tasks and of reading obs_test files.

Prints, per image (the obs_test ``exposure/exp_v1_fg.fits.gz`` read as a MaskedImage and a
synthetic 4096x4096 float32 image with 1% masked pixels and some NaNs):

- the run time of ``SigmaClippedStatsTask.run`` and its ratio to one ``numpy.sum`` pass over
  the same array (the memory floor) and to ``astropy.stats.sigma_clipped_stats(...,
  sigma=3, maxiters=2)`` on the same pixels;
- the same for ``SimpleStatsTask.run``;
- the peak extra memory of the sigma-clipped run as a multiple of the image size
  (tracemalloc, which sees numpy's allocations);

and the time to read one obs_test ``.gz`` file with astropy and with fitsio.

Times are the minimum over repeats, measured interleaved so that a busy machine hurts all
of them alike. Targets (issue 3): the sigma-clipped run at most 30x the floor and at least
10x faster than astropy on the 4096x4096 image. Nothing is asserted.

Usage: ``python benchmarks/stats.py [--repeats N]``
"""

from __future__ import annotations

import argparse
import logging
import time
import tracemalloc
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
from pipetask_image import MaskedImage
from pipetask_stats import SigmaClippedStatsTask, SimpleStatsTask

OBS_TEST = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "obs_test"
EXPOSURE = OBS_TEST / "exposure" / "exp_v1_fg.fits.gz"


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


def best(functions: dict[str, Callable[[], object]], repeats: int) -> dict[str, float]:
    """Minimum wall time of each function, calling them in turn ``repeats`` times."""
    times = {name: float("inf") for name in functions}
    for _ in range(repeats):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            times[name] = min(times[name], time.perf_counter() - start)
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
    times = best(
        {
            "floor": lambda: np.sum(pixels),
            "clipped": lambda: clipped.run(mi),
            "simple": lambda: simple.run(mi),
        },
        repeats,
    )
    times.update(best({"astropy": astropyClipped(mi, badBits)}, max(2, repeats // 4)))
    peak = peakExtraMemory(lambda: clipped.run(mi))
    rows, columns = mi.shape
    floor = times["floor"]
    print(f"\n{label}: {columns}x{rows} float32 ({pixels.nbytes / 2**20:.0f} MiB)")
    print(f"  numpy.sum pass (floor)        {floor * 1e3:8.2f} ms")
    for name, title in (
        ("clipped", "SigmaClippedStatsTask.run"),
        ("simple", "SimpleStatsTask.run"),
    ):
        t = times[name]
        print(
            f"  {title:<29} {t * 1e3:8.2f} ms = {t / floor:5.1f}x floor, "
            f"{times['astropy'] / t:5.1f}x faster than astropy"
        )
    print(
        f"  astropy sigma_clipped_stats   {times['astropy'] * 1e3:8.2f} ms = "
        f"{times['astropy'] / floor:5.1f}x floor"
    )
    print(f"  peak extra memory (clipped)   {peak / pixels.nbytes:8.2f} x image size")
    print(f"  result: {clipped.run(mi)}")


def benchmarkReaders(repeats: int) -> None:
    print(f"\nreading {EXPOSURE.name} (3 planes, gzip):")
    times = best(
        {
            reader: (lambda reader=reader: MaskedImage.readFits(EXPOSURE, reader=reader))
            for reader in ("astropy", "fitsio")
        },
        repeats,
    )
    for reader, t in times.items():
        print(f"  {reader:<8} {t * 1e3:8.1f} ms")
    a, b = (MaskedImage.readFits(EXPOSURE, reader=r) for r in ("astropy", "fitsio"))
    same = all(np.array_equal(getattr(a, p), getattr(b, p)) for p in ("image", "mask", "variance"))
    print(f"  identical pixels in all planes: {same}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    args = parser.parse_args()
    logging.getLogger().setLevel(logging.WARNING)
    if EXPOSURE.exists():
        benchmarkImage(f"obs_test {EXPOSURE.name}", MaskedImage.readFits(EXPOSURE), args.repeats)
    else:
        print(f"obs_test data not found at {OBS_TEST}: skipping the real image")
    benchmarkImage("synthetic", syntheticImage(), args.repeats)
    if EXPOSURE.exists():
        benchmarkReaders(args.repeats)


if __name__ == "__main__":
    main()
