"""Mean and unbiased variance from float64 sums, and the errors reported with them.

Sums are kept around a shift ``c`` (a float32 value near the mean): ``s1 = sum(x - c)`` and
``s2 = sum((x - c)**2)`` in float64. For float32 pixels ``x - c`` is exact in float64, so
the variance ``(s2 - s1**2 / n) / (n - 1)`` loses nothing to cancellation however large
the mean is next to the scatter.

Sums of squares use ``numpy.square`` and ``sum``, not ``numpy.dot``: a BLAS dot may start
threads, and on a loaded machine that was seen to cost ten times the arithmetic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: Pixels per chunk in the streaming passes (fits the L2 cache with its float64 copy).
CHUNK = 1 << 16


@dataclass(frozen=True)
class Sums:
    """Count and shifted float64 sums of a set of pixels."""

    n: int
    s1: float
    s2: float
    shift: float

    def __add__(self, other: Sums) -> Sums:
        if other.shift != self.shift:
            raise ValueError("cannot add sums around different shifts")
        return Sums(self.n + other.n, self.s1 + other.s1, self.s2 + other.s2, self.shift)


@dataclass(frozen=True)
class Moments:
    """Number of pixels, mean and unbiased variance (NaN when undefined)."""

    n: int
    mean: float
    variance: float

    @classmethod
    def fromSums(cls, sums: Sums) -> Moments:
        """Mean (NaN when ``n == 0``) and unbiased variance (NaN when ``n < 2``)."""
        n = sums.n
        if n == 0:
            return cls(0, math.nan, math.nan)
        mean = sums.shift + sums.s1 / n
        if n < 2:
            return cls(n, mean, math.nan)
        variance = (sums.s2 - sums.s1 * (sums.s1 / n)) / (n - 1)
        return cls(n, mean, max(variance, 0.0))

    def errors(self) -> tuple[float, float, float, float]:
        """``(mean, meanErr, stdDev, stdDevErr)`` as in SPEC section 7.

        ``meanErr = sqrt(variance / n)``, ``stdDev = sqrt(variance)``, ``stdDevErr =
        0.5 * sqrt(varVar) / stdDev`` with ``varVar = 2 (n - 1) variance**2 / n**2``, all in
        floating point. When the variance is 0, ``stdDevErr`` is 0 (the limit of the formula,
        which equals ``0.5 * sqrt(2 (n - 1)) * stdDev / n``); NaN propagates.
        """
        n, variance = self.n, self.variance
        if n == 0 or math.isnan(variance):
            return self.mean, math.nan, math.nan, math.nan
        nf = float(n)
        meanErr = math.sqrt(variance / nf)
        stdDev = math.sqrt(variance)
        varVar = 2.0 * (nf - 1.0) * variance * variance / (nf * nf)
        stdDevErr = 0.5 * math.sqrt(varVar) / stdDev if stdDev > 0 else 0.0
        return self.mean, meanErr, stdDev, stdDevErr


def shiftNear(values: np.ndarray) -> float:
    """A float32 value near the middle of the finite ``values`` (0.0 if there are none)."""
    sample = values[:: max(1, values.size // 4096)]
    sample = sample[np.isfinite(sample)]
    if sample.size == 0:
        return 0.0
    return float(np.float32(np.median(sample)))


def finiteSums(pixels: np.ndarray, shift: float) -> Sums:
    """Shifted sums over the finite elements of the 1-D float32 array ``pixels``."""
    n = 0
    s1 = s2 = 0.0
    size = pixels.size
    finite = np.empty(min(CHUNK, size), bool)
    diff = np.empty(min(CHUNK, size), np.float64)
    for start in range(0, size, CHUNK):
        chunk = pixels[start : start + CHUNK]
        k = chunk.size
        d = diff[:k]
        np.subtract(chunk, np.float64(shift), out=d)
        ok = np.isfinite(chunk, out=finite[:k])
        count = int(np.count_nonzero(ok))
        if count < k:
            d[~ok] = 0.0
        n += count
        s1 += float(d.sum())
        s2 += float(np.square(d, out=d).sum())
    return Sums(n, s1, s2, shift)


def windowSums(values: np.ndarray, low: np.float32, high: np.float32, shift: float) -> Sums:
    """Shifted sums over the elements of the finite float32 ``values`` in ``[low, high]``.

    Elements outside are multiplied by zero rather than copied out: boolean indexing of a
    dense selection is several times slower.
    """
    n = 0
    s1 = s2 = 0.0
    size = values.size
    inside = np.empty(min(CHUNK, size), bool)
    upper = np.empty(min(CHUNK, size), bool)
    diff = np.empty(min(CHUNK, size), np.float64)
    for start in range(0, size, CHUNK):
        chunk = values[start : start + CHUNK]
        k = chunk.size
        sel, d = inside[:k], diff[:k]
        np.greater_equal(chunk, low, out=sel)
        np.logical_and(sel, np.less_equal(chunk, high, out=upper[:k]), out=sel)
        np.subtract(chunk, np.float64(shift), out=d)
        np.multiply(d, sel, out=d)
        n += int(np.count_nonzero(sel))
        s1 += float(d.sum())
        s2 += float(np.square(d, out=d).sum())
    return Sums(n, s1, s2, shift)
