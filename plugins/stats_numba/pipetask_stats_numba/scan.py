"""The ``sigmaClippedScan`` kernel: :mod:`pipetask_stats.scan`'s contract, compiled.

The functions below give the bits of their numpy counterparts; they call the loops of
:mod:`pipetask_stats_numba.loops`, compiled once per installation and loaded without
importing numba (:mod:`pipetask_stats_numba.native`). Inputs the compiled loops do not
take (three brackets, float32 pixels, an int32 mask or none) go to the numpy code.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import cache
from typing import Any

import numpy as np
from pipetask_stats import scan as numpyKernel

#: Samples of at least this many values time the two sorts (see :func:`sortSample`).
SORT_TIMING_SIZE = 1 << 14
#: The faster sort of a float32 sample in this process, once timed (see :func:`sortSample`).
_fasterSort: Callable[[np.ndarray], np.ndarray] | None = None


@cache
def loaded() -> tuple[Any, str]:
    """The compiled loops and how they were obtained (see :func:`.native.compiledLoops`)."""
    from .native import compiledLoops

    return compiledLoops()


def _loops() -> Any:
    """The compiled loops, or None while another process builds them (numpy runs then)."""
    return loaded()[0]


def _takes(pixels: np.ndarray, mask: np.ndarray | None, badBits: int) -> bool:
    """Whether the compiled loops take these pixels and mask (else numpy runs)."""
    return (
        _loops() is not None
        and pixels.dtype == np.float32
        and pixels.ndim == 1
        and pixels.flags.c_contiguous
        and (mask is None or (mask.dtype == np.int32 and mask.flags.c_contiguous))
        and 0 <= badBits < 1 << 63
    )


def scanImage(
    pixels: np.ndarray,
    mask: np.ndarray | None,
    badBits: int,
    coreLow: np.float32,
    coreHigh: np.float32,
    bracketLows: np.ndarray,
    bracketHighs: np.ndarray,
    shift: np.float32,
) -> tuple[int, float, float, np.ndarray, list[int]]:
    """Compiled :func:`pipetask_stats.scan.scanImage` (see there for the contract)."""
    if bracketLows.size != 3 or not _takes(pixels, mask, badBits):
        return numpyKernel.scanImage(
            pixels, mask, badBits, coreLow, coreHigh, bracketLows, bracketHighs, shift
        )
    loops = loaded()[0]
    scan = loops.scanImage_nomask if mask is None else loops.scanImage_m32
    plainCount, s1, s2, special, below = scan(
        pixels, mask, np.int64(badBits), np.float32(coreLow), np.float32(coreHigh),
        np.ascontiguousarray(bracketLows, np.float32),
        np.ascontiguousarray(bracketHighs, np.float32),
        np.float32(shift), numpyKernel.SCAN_CHUNK,
    )  # fmt: skip
    return int(plainCount), 0.0 + float(s1), 0.0 + float(s2), special, below.tolist()


def windowSums(
    values: np.ndarray, low: np.float32, high: np.float32, shift: float
) -> tuple[int, float, float]:
    """Compiled :func:`pipetask_stats.scan.windowSums`."""
    from pipetask_stats.moments import CHUNK

    if values.dtype != np.float32 or values.ndim != 1 or _loops() is None:
        return numpyKernel.windowSums(values, low, high, shift)
    n, s1, s2 = loaded()[0].windowSums(
        np.ascontiguousarray(values), np.float32(low), np.float32(high), float(shift), CHUNK
    )
    return int(n), 0.0 + float(s1), 0.0 + float(s2)


def anyMasked(mask: np.ndarray, badBits: int) -> bool:
    """Compiled :func:`pipetask_stats.scan.anyMasked`: stops at the first block holding a
    masked pixel."""
    if _loops() is None or mask.dtype != np.int32 or mask.ndim != 1 or not 0 <= badBits < 1 << 63:
        return numpyKernel.anyMasked(mask, badBits)
    return bool(loaded()[0].anyMasked(np.ascontiguousarray(mask), np.int64(badBits)))


def sampleCandidates(
    pixels: np.ndarray, mask: np.ndarray | None, badBits: int, offset: int, step: int
) -> np.ndarray:
    """Compiled :func:`pipetask_stats.scan.sampleCandidates`."""
    if not _takes(pixels, mask, badBits) or offset < 0 or step < 1:
        return numpyKernel.sampleCandidates(pixels, mask, badBits, offset, step)
    loops = loaded()[0]
    sample = loops.sampleCandidates_nomask if mask is None else loops.sampleCandidates_m32
    return sample(pixels, mask, np.int64(badBits), np.int64(offset), np.int64(step))


def sortSample(values: np.ndarray) -> np.ndarray:
    """:func:`pipetask_stats.scan.sortSample`, by the faster of numpy's sort and the
    compiled radix sort (the same values in the same order, a zero's sign aside, where no
    result depends on it).

    Which is faster depends on the machine: where numpy's build and the CPU give it vector
    instructions (x86-simd-sort, Highway) numpy sorts a sample of 131,072 float32 values
    a few times faster than the radix sort; elsewhere it is a few times slower (3.0 against
    0.65 ms on one x86-64 machine with numpy 2.4). The first sample of at least
    :data:`SORT_TIMING_SIZE` values in a process is sorted both ways, and the faster is
    kept for the process.
    """
    global _fasterSort
    if values.dtype != np.float32 or _loops() is None:
        return np.sort(values)
    values = np.ascontiguousarray(values)
    if _fasterSort is not None:
        return _fasterSort(values)
    radix = loaded()[0].radixSort
    if values.size < SORT_TIMING_SIZE:
        return radix(values)
    timings = []
    for sort in (np.sort, radix):
        begin = time.perf_counter()
        ordered = sort(values)
        timings.append((time.perf_counter() - begin, sort))
    _fasterSort = min(timings, key=lambda timing: timing[0])[1]
    return ordered


def bracketContents(
    special: np.ndarray, bracketLows: np.ndarray, bracketHighs: np.ndarray
) -> list[np.ndarray]:
    """Compiled :func:`pipetask_stats.scan.bracketContents`."""
    if (
        special.dtype != np.float32
        or bracketLows.dtype != np.float32
        or bracketLows.size != 3
        or _loops() is None
    ):
        return numpyKernel.bracketContents(special, bracketLows, bracketHighs)
    return list(
        loaded()[0].bracketContents(
            np.ascontiguousarray(special),
            np.ascontiguousarray(bracketLows),
            np.ascontiguousarray(bracketHighs, np.float32),
        )
    )
