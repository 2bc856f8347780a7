"""The LSST afw sigma-clipped mean and variance, exactly, in one pass over the pixels.

The algorithm (SPEC section 7): candidates are the finite pixels with none of the bad mask
bits; their median and quartiles are interpolated linearly at ``fraction * (n - 1)``;
iteration 0 keeps ``|x - median| <= numSigmaClip * 0.741301109252802 * IQR``; iteration
``i > 0`` keeps ``|x - mean| <= numSigmaClip * sqrt(variance)`` of the previous
iteration; each iteration's mean and unbiased variance come from float64 sums.

How it stays within a few passes over memory, without sorting or partitioning the image:

1. A strided sample (about 131,000 pixels, on a stride that is not a multiple of the row
   length) predicts the three quartiles and every iteration's clip window.
2. One streaming pass over the pixels, in cache-sized chunks, computes: for each quartile,
   the exact number of candidates below a bracket around the predicted value, and the
   candidates inside the bracket; and float64 sums over a *core* interval that the sample
   says lies inside every clip window. Pixels outside the core, inside a bracket, masked
   or non-finite (a few percent) are copied out; everything else only adds to the sums.
3. Each quartile is selected exactly from its small bracket (``numpy.partition``) once
   the counts prove that its ranks fall inside; each clip window is turned into float32
   bounds that select exactly the pixels the float64 test selects, and the window's sums
   are the core sums plus the copied-out pixels inside it, once it is proved to contain
   the core.

The streaming pass over each chunk, the sort of the sample and the selection of the
brackets are the functions of :mod:`pipetask_stats.scan`, or of the compiled kernel
``sigmaClippedScan`` when a plugin provides one (pipetask-stats-numba): both give
identical bits.

Whenever a proof fails (an unrepresentative sample, a pathological image) that step falls
back to an exact full computation, so the result never depends on the sample; only the
speed does. Images of up to ``DIRECT_LIMIT`` pixels go straight to the full computation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import numpy as np

from . import scan as numpyKernel
from .moments import CHUNK, Moments, Sums, windowSums
from .order import QUARTILE_FRACTIONS, float32Window, interpolationRanks, lerp

#: Name of the compiled kernel a plugin may provide through ``pipetask_kernels``.
KERNEL_NAME = "sigmaClippedScan"

#: IQR of a unit normal distribution is 1 / 0.741301109252802.
IQR_TO_SIGMA = 0.741301109252802
#: Target number of sample pixels for the predictions.
SAMPLE_SIZE = 1 << 17
#: Images with fewer pixels take the direct path.
DIRECT_LIMIT = 1 << 18
#: Half-width of a quartile bracket in standard errors of the sample quantile.
BRACKET_SIGMAS = 5.0
#: Fraction of the narrowest predicted clip window kept free on each side of the core.
CORE_MARGIN = 0.03


@cache
def compiledKernel() -> tuple[Any, str] | None:
    """The installed compiled ``sigmaClippedScan`` kernel (a module with the functions of
    :mod:`pipetask_stats.scan`) and its distribution, or None."""
    from pipetask.plugins import catalog, load

    description = catalog().items["kernel"].get(KERNEL_NAME)
    if description is None:
        return None
    return load(description.target), description.distribution


def chooseKernel(kernel: str) -> tuple[Any, str]:
    """``(kernel module, name)`` for ``kernel`` ``"auto"`` (compiled when installed), ``"numpy"``
    or ``"compiled"`` (a ``ValueError`` when none is installed)."""
    if kernel not in ("auto", "numpy", "compiled"):
        raise ValueError(f"kernel must be 'auto', 'numpy' or 'compiled', not {kernel!r}")
    compiled = None if kernel == "numpy" else compiledKernel()
    if compiled is not None:
        return compiled
    if kernel == "compiled":
        raise ValueError(f"no plugin provides the compiled kernel {KERNEL_NAME!r}")
    return numpyKernel, "numpy"


@dataclass
class ClipResult:
    """Moments of every iteration (the last is the result) and how they were found."""

    iterations: list[Moments]
    numCandidates: int
    quartiles: tuple[float, float, float]
    path: str
    fallbacks: list[str] = field(default_factory=list)
    kernel: str = "numpy"

    @property
    def moments(self) -> Moments:
        """The result: the last iteration's moments."""
        return self.iterations[-1]


def _flat(array: np.ndarray, dtype: type) -> np.ndarray:
    return np.ascontiguousarray(array, dtype=dtype).reshape(-1)


def candidates(pixels: np.ndarray, mask: np.ndarray | None, badBits: int) -> np.ndarray:
    """The finite float32 pixels without any of ``badBits`` set, as a 1-D copy."""
    kept = []
    for start in range(0, pixels.size, CHUNK):
        chunk = pixels[start : start + CHUNK]
        good = np.isfinite(chunk)
        if mask is not None:
            good &= (mask[start : start + CHUNK] & badBits) == 0
        kept.append(chunk[good])
    return np.concatenate(kept) if kept else np.empty(0, np.float32)


def selectInPlace(values: np.ndarray, positions: list[int]) -> np.ndarray:
    """Reorder ``values`` so that each of ``positions`` holds its order statistic.

    One single-``kth`` partition per position, each on the segment left between the
    previous ones: numpy partitions with one ``kth`` by SIMD, several times faster than
    one call with many.
    """
    pending = [(0, values.size, sorted(set(positions)))]
    while pending:
        low, high, wanted = pending.pop()
        if not wanted:
            continue
        middle = wanted[len(wanted) // 2]
        values[low:high].partition(middle - low)
        pending.append((low, middle, [p for p in wanted if p < middle]))
        pending.append((middle + 1, high, [p for p in wanted if p > middle]))
    return values


def _orderStatistics(
    values: np.ndarray, i: int, j: int, guess: np.float32 | None = None
) -> tuple[float, float]:
    """The values of ranks ``i`` and ``j`` (``i <= j <= i + 1``) of ``values``, reordering it:
    one partition, the next rank being the smallest value above it; or, given a ``guess``,
    from the runs of equal values around it (:func:`_fromRuns`) when they hold both ranks."""
    if guess is not None:
        found = _fromRuns(values, i, j, guess)
        if found is not None:
            return found
    values.partition(i)
    if j == i:
        return float(values[i]), float(values[i])
    return float(values[i]), float(values[i + 1 :].min())


def _fromRuns(values: np.ndarray, i: int, j: int, guess: np.float32) -> tuple[float, float] | None:
    """Ranks ``i`` and ``j`` of ``values`` if they fall in the run of values equal to
    ``guess`` in sorted order, or in the run just before or after it; else None.

    The run of a value ``v`` holds the ranks from ``count(values < v)`` to ``count(values
    <= v) - 1``: a few counting passes, where a partition among many equal values (the
    quartiles of an integer image) is slow."""
    below = int(np.count_nonzero(values < guess))
    above = below + int(np.count_nonzero(values == guess))
    runs = [(guess, below, above)]
    if i < below:
        previous = values[values < guess].max()
        runs.append((previous, below - int(np.count_nonzero(values == previous)), below))
    if j >= above:
        following = values[values > guess].min()
        runs.append((following, above, above + int(np.count_nonzero(values == following))))
    found = []
    for rank in (i, j):
        value = next((v for v, start, stop in runs if start <= rank < stop), None)
        if value is None or value == 0:  # a zero's sign could differ from the partition's
            return None
        found.append(float(value))
    return found[0], found[1]


class _DirectSource:
    """Quartiles and window sums from a compact copy of the candidates."""

    def __init__(self, values: np.ndarray) -> None:
        self.values = values
        self.n = values.size
        self.shift = 0.0
        if self.n:
            middle = self.n // 2
            self.shift = float(np.partition(values, middle)[middle])

    def quartiles(self) -> tuple[float, float, float]:
        ranks = [r for p in QUARTILE_FRACTIONS for r in interpolationRanks(self.n, p)[:2]]
        ordered = selectInPlace(self.values.copy(), ranks)
        return _interpolate(self.n, lambda r: float(ordered[r]))

    def sums(self, low: np.float32, high: np.float32) -> Sums:
        return windowSums(self.values, low, high, self.shift)


def _interpolate(n: int, valueAt) -> tuple[float, float, float]:
    result = []
    for p in QUARTILE_FRACTIONS:
        i, j, t = interpolationRanks(n, p)
        result.append(lerp(valueAt(i), valueAt(j), t))
    return result[0], result[1], result[2]


@dataclass
class _Plan:
    """What the sample predicts: quartile brackets, the core interval and a shift."""

    brackets: list[tuple[np.float32, np.float32]]
    coreLow: np.float32
    coreHigh: np.float32
    shift: float
    #: Per quartile, the sample's value there when the sample holds it twice in a row
    #: (ties: the quartile is likely that value or one next to it), else None.
    guesses: list[np.float32 | None] = field(default_factory=lambda: [None, None, None])


def _sampleStep(size: int, rowLength: int) -> int:
    step = max(1, size // SAMPLE_SIZE)
    while step > 1 and math.gcd(step, rowLength) != 1:
        step += 1
    return step


def _plan(
    pixels: np.ndarray,
    mask: np.ndarray | None,
    badBits: int,
    rowLength: int,
    numSigmaClip: float,
    numIter: int,
    kernel: Any = numpyKernel,
) -> _Plan | None:
    step = _sampleStep(pixels.size, rowLength)
    ordered = kernel.sortSample(kernel.sampleCandidates(pixels, mask, badBits, step // 2, step))
    m = ordered.size
    if m < 1024:
        return None
    brackets, guesses = [], []
    for p in QUARTILE_FRACTIONS:
        delta = BRACKET_SIGMAS * math.sqrt(p * (1 - p) / m) + 4.0 / m
        lowRank = max(0, math.floor((p - delta) * (m - 1)))
        highRank = min(m - 1, math.ceil((p + delta) * (m - 1)))
        brackets.append((ordered[lowRank], ordered[highRank]))
        rank = min(m - 2, math.floor(p * (m - 1)))
        guesses.append(ordered[rank] if ordered[rank] == ordered[rank + 1] else None)
    values = ordered.astype(np.float64)
    q1, median, q3 = _interpolate(m, lambda r: float(values[r]))
    center, halfWidth = median, numSigmaClip * IQR_TO_SIGMA * (q3 - q1)
    windows = []
    kept = values
    for i in range(numIter):
        if i > 0:
            center, halfWidth = float(kept.mean()), numSigmaClip * math.sqrt(kept.var(ddof=1))
        if not (math.isfinite(center) and halfWidth >= 0 and math.isfinite(halfWidth)):
            break
        low, high = center - halfWidth, center + halfWidth
        windows.append((low, high))
        kept = values[np.searchsorted(values, low, "left") : np.searchsorted(values, high, "right")]
        if kept.size < 2:
            break
    if not windows:
        return None
    margin = CORE_MARGIN * min(high - low for low, high in windows)
    coreLow = max(low for low, _ in windows) + margin
    coreHigh = min(high for _, high in windows) - margin
    if not coreLow <= coreHigh:
        return None
    coreLow32, coreHigh32 = np.float32(coreLow), np.float32(coreHigh)
    shift = _exactShift(median, coreLow32, coreHigh32)
    return _Plan(brackets, coreLow32, coreHigh32, shift, guesses)


def _exactShift(median: float, low: np.float32, high: np.float32) -> float:
    """A float32 shift ``c`` such that ``x - c`` is exact in float32 for all ``x`` in
    ``[low, high]`` (Sterbenz: ``c / 2 <= x <= 2 c``): the median when that holds, else 0,
    which is then no worse for cancellation since the interval spans a factor of two."""
    c = np.float32(median)
    if c > 0 and c / 2 <= low and high <= 2 * c:
        return float(c)
    if c < 0 and 2 * c <= low and high <= c / 2:
        return float(c)
    return 0.0


class _ScannedSource:
    """Quartiles and window sums from one streaming pass guided by a :class:`_Plan`."""

    def __init__(
        self, pixels: np.ndarray, mask: np.ndarray | None, badBits: int, plan: _Plan, kernel
    ) -> None:
        self.pixels, self.mask, self.badBits, self.plan = pixels, mask, badBits, plan
        self.kernel = kernel
        self.shift = plan.shift
        self.fallbacks: list[str] = []
        self._scan()

    def _scan(self) -> None:
        plan = self.plan
        lows = np.array([low for low, _ in plan.brackets], np.float32)
        highs = np.array([high for _, high in plan.brackets], np.float32)
        plainCount, s1, s2, self.special, self.countsBelow = self.kernel.scanImage(
            self.pixels,
            self.mask,
            self.badBits,
            plan.coreLow,
            plan.coreHigh,
            lows,
            highs,
            np.float32(self.shift),
        )
        self.coreSums = Sums(plainCount, s1, s2, self.shift)
        self.n = plainCount + self.special.size

    def quartiles(self) -> tuple[float, float, float] | None:
        """Exact quartiles from the brackets, or None if a rank is outside its bracket.

        Every candidate inside a bracket was copied out, so the candidate of overall rank
        ``r`` is the one of rank ``r - countBelow`` among the copied-out pixels inside
        that bracket, once ``r`` is proved to fall inside it; each bracket's few pixels
        are partitioned on their own.
        """
        lows = np.array([low for low, _ in self.plan.brackets], np.float32)
        highs = np.array([high for _, high in self.plan.brackets], np.float32)
        brackets = self.kernel.bracketContents(self.special, lows, highs)
        result = []
        for p, countBelow, inside, guess in zip(
            QUARTILE_FRACTIONS, self.countsBelow, brackets, self.plan.guesses, strict=True
        ):
            i, j, t = interpolationRanks(self.n, p)
            if not countBelow <= i <= j < countBelow + inside.size:
                return None
            ranks = i - countBelow, j - countBelow
            result.append(lerp(*_orderStatistics(inside, *ranks, guess), t))
        return result[0], result[1], result[2]

    def sums(self, low: np.float32, high: np.float32) -> Sums:
        """Sums over the candidates in ``[low, high]``; exact whatever the plan was."""
        if low <= self.plan.coreLow and self.plan.coreHigh <= high:
            n, s1, s2 = self.kernel.windowSums(self.special, low, high, self.shift)
            return self.coreSums + Sums(n, s1, s2, self.shift)
        self.fallbacks.append(f"window [{low}, {high}] does not contain the core: full pass")
        return _maskedWindowSums(self.pixels, self.mask, self.badBits, low, high, self.shift)


def _maskedWindowSums(
    pixels: np.ndarray,
    mask: np.ndarray | None,
    badBits: int,
    low: np.float32,
    high: np.float32,
    shift: float,
) -> Sums:
    total = Sums(0, 0.0, 0.0, shift)
    for start in range(0, pixels.size, CHUNK):
        chunk = pixels[start : start + CHUNK]
        good = np.isfinite(chunk)
        if mask is not None:
            good &= (mask[start : start + CHUNK] & badBits) == 0
        total = total + windowSums(chunk[good], low, high, shift)
    return total


def _iterate(source, quartiles, numSigmaClip: float, numIter: int) -> list[Moments]:
    q1, median, q3 = quartiles
    center, halfWidth = median, numSigmaClip * IQR_TO_SIGMA * (q3 - q1)
    iterations: list[Moments] = []
    for i in range(numIter):
        if i > 0:
            previous = iterations[-1]
            if previous.n < 2:
                break  # its variance is undefined: clipping stops, the result stands
            center, halfWidth = previous.mean, numSigmaClip * math.sqrt(previous.variance)
        window = float32Window(center, halfWidth)
        if window is None:
            iterations.append(Moments(0, math.nan, math.nan))
            break
        moments = Moments.fromSums(source.sums(*window))
        iterations.append(moments)
        if moments.n == 0:
            break
    return iterations


def sigmaClippedMoments(
    pixels: np.ndarray,
    mask: np.ndarray | None = None,
    badBits: int = 0,
    numSigmaClip: float = 3.0,
    numIter: int = 2,
    *,
    method: str = "auto",
    kernel: str = "auto",
) -> ClipResult:
    """Sigma-clipped mean and unbiased variance of an image, as LSST afw defines them.

    Parameters
    ----------
    pixels : numpy.ndarray
        Image, any shape and numeric type; used as float32.
    mask : numpy.ndarray, optional
        Integer bit mask of the same shape.
    badBits : int
        Pixels with any of these mask bits set are not candidates.
    numSigmaClip : float
        Clip half-width in standard deviations (> 0).
    numIter : int
        Number of clipping iterations (>= 1).
    method : {"auto", "direct", "scan"}
        ``"direct"`` copies the candidates out and partitions them; ``"scan"`` forces the
        streaming method (falling back to direct when the sample is too small);
        ``"auto"`` picks by size. All give the same result.
    kernel : {"auto", "numpy", "compiled"}
        Who runs the streaming pass: the compiled kernel when a plugin provides one
        (``"auto"``), the numpy code, or the compiled kernel or a ``ValueError``. Results
        are identical; ``ClipResult.kernel`` says which ran (``"numpy"`` or the plugin's
        distribution).

    Returns
    -------
    ClipResult
        ``iterations[-1]`` is the result; with no candidates it is ``Moments(0, nan, nan)``.
    """
    if numIter < 1:
        raise ValueError(f"numIter must be at least 1, not {numIter}")
    if not numSigmaClip > 0:
        raise ValueError(f"numSigmaClip must be positive, not {numSigmaClip}")
    rowLength = pixels.shape[-1] if pixels.ndim else 1
    flat = _flat(pixels, np.float32)
    flatMask = _flat(mask, mask.dtype) if mask is not None and badBits else None
    if flatMask is not None and flatMask.shape != flat.shape:
        raise ValueError(f"mask shape {mask.shape} differs from image shape {pixels.shape}")
    plan = None
    if method == "scan" or (method == "auto" and flat.size > DIRECT_LIMIT):
        chosen, kernelName = chooseKernel(kernel)
        if flatMask is not None and not getattr(chosen, "anyMasked", numpyKernel.anyMasked)(
            flatMask, badBits
        ):
            flatMask = None  # masks nothing (often all zero): not read again
        plan = _plan(flat, flatMask, badBits, rowLength, numSigmaClip, numIter, chosen)
    if plan is not None:
        source = _ScannedSource(flat, flatMask, badBits, plan, chosen)
        quartiles = source.quartiles()
        if quartiles is not None and source.n > 0:
            iterations = _iterate(source, quartiles, numSigmaClip, numIter)
            return ClipResult(iterations, source.n, quartiles, "scan", source.fallbacks, kernelName)
    direct = _DirectSource(candidates(flat, flatMask, badBits))
    path = "direct" if plan is None else "scan, quartiles outside brackets: direct"
    if direct.n == 0:
        nan = math.nan
        return ClipResult([Moments(0, nan, nan)], 0, (nan, nan, nan), path)
    quartiles = direct.quartiles()
    iterations = _iterate(direct, quartiles, numSigmaClip, numIter)
    return ClipResult(iterations, direct.n, quartiles, path)
