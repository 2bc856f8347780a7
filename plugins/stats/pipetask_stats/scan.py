"""The loops of the sigma-clipped statistics (numpy): the streaming pass over the pixels,
the sort of the sample, the selection of the quartile brackets and the sums over a window.

This module is the contract of the kernel named ``sigmaClippedScan``: a plugin may provide
a compiled implementation through the hook ``pipetask_kernels``, a module with the
functions :func:`anyMasked`, :func:`sampleCandidates`, :func:`sortSample`,
:func:`scanImage`, :func:`bracketContents` and :func:`windowSums` below, and
:mod:`pipetask_stats.clipping` then calls them instead (a kernel without :func:`anyMasked`
gets this module's). An implementation must give bit-identical results;
pipetask-stats-numba does.
"""

from __future__ import annotations

import numpy as np

from .moments import windowSums as _windowSums

#: Pixels per chunk of the streaming pass: each chunk's sums are added up in order, so
#: this fixes the summation order (fewer, larger chunks: less interpreter time).
SCAN_CHUNK = 1 << 18


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
    """The streaming pass of :class:`~.clipping._ScannedSource` over the whole image.

    Runs :func:`scanChunk` on each ``SCAN_CHUNK`` pixels in turn and adds up its sums.

    Returns
    -------
    tuple
        ``(plainCount, s1, s2, special, countsBelow)``: the number of pixels that are not
        special; ``s1`` and ``s2``, the float sums of each chunk's ``s1`` and ``s2`` added
        in chunk order starting from 0.0; the special pixels that are candidates (finite,
        not masked), in order, as a float32 array; and, per bracket, the number of
        candidates ``< low``.
    """
    size = pixels.size
    k = min(SCAN_CHUNK, size)
    special, specialMasked = np.empty(k, np.float32), np.empty(k, bool)
    countsBelow = np.zeros(bracketLows.size, np.int64)
    parts, maskedParts = [], []
    s1 = s2 = 0.0
    for start in range(0, size, SCAN_CHUNK):
        stop = start + SCAN_CHUNK
        count, c1, c2 = scanChunk(
            pixels[start:stop],
            None if mask is None else mask[start:stop],
            badBits,
            coreLow,
            coreHigh,
            bracketLows,
            bracketHighs,
            shift,
            special,
            specialMasked,
            countsBelow,
        )
        parts.append(special[:count].copy())
        if mask is not None:
            maskedParts.append(specialMasked[:count].copy())
        s1 += c1
        s2 += c2
    values = np.concatenate(parts) if parts else np.empty(0, np.float32)
    good = np.isfinite(values)
    if mask is not None:
        good &= ~np.concatenate(maskedParts)
    bad = values[~good]
    below = [
        int(c) - int(np.count_nonzero(bad < low))
        for c, low in zip(countsBelow, bracketLows, strict=True)
    ]
    return size - values.size, s1, s2, values[good], below


def scanChunk(
    chunk: np.ndarray,
    mask: np.ndarray | None,
    badBits: int,
    coreLow: np.float32,
    coreHigh: np.float32,
    bracketLows: np.ndarray,
    bracketHighs: np.ndarray,
    shift: np.float32,
    special: np.ndarray,
    specialMasked: np.ndarray,
    countsBelow: np.ndarray,
) -> tuple[int, float, float]:
    """Count, copy out and sum one chunk of pixels for :class:`~.clipping._ScannedSource`.

    Parameters
    ----------
    chunk : numpy.ndarray
        1-D float32 pixels.
    mask : numpy.ndarray or None
        1-D integer mask of the same length (None: no pixel is masked).
    badBits : int
        A pixel with any of these mask bits is *masked*.
    coreLow, coreHigh, shift : numpy.float32
        The core interval and the shift of the sums.
    bracketLows, bracketHighs : numpy.ndarray
        1-D float32 ends of the quartile brackets.
    special, specialMasked : numpy.ndarray
        Outputs of at least ``chunk.size`` float32 and bool elements: the *special*
        pixels, in order, and whether each is masked. A pixel is special when it is
        outside ``[coreLow, coreHigh]`` (NaN included), inside a bracket ``[low, high]``,
        or masked.
    countsBelow : numpy.ndarray
        int64, one per bracket: the number of pixels ``< low`` is added (masked included).

    Returns
    -------
    tuple
        ``(number of special pixels, s1, s2)``: ``s1`` is the sum of
        ``float64(float32(x - shift))`` over the other pixels and ``s2`` the sum of its
        squares, each as ``numpy.sum`` adds a float64 array (pairwise) holding the
        chunk's values with the special pixels set to zero.
    """
    k = chunk.size
    core = np.greater_equal(chunk, coreLow)
    below = np.less_equal(chunk, coreHigh)
    np.logical_and(core, below, out=core)
    isSpecial = np.logical_not(core)  # outside the core, NaN and inf included
    inBracket = np.empty(k, bool)
    for b in range(bracketLows.size):
        np.less(chunk, bracketLows[b], out=below)
        countsBelow[b] += int(np.count_nonzero(below))
        np.less_equal(chunk, bracketHighs[b], out=inBracket)
        np.greater(inBracket, below, out=inBracket)  # <= high and not < low
        np.logical_or(isSpecial, inBracket, out=isSpecial)
    bits = None
    if mask is not None:
        bits = np.bitwise_and(mask, badBits)
        np.logical_or(isSpecial, bits, out=isSpecial)
    where = np.flatnonzero(isSpecial)
    count = where.size
    special[:count] = chunk[where]
    if bits is not None:
        specialMasked[:count] = bits[where] != 0
    # Exact for every core pixel: the plan chose the shift so (Sterbenz lemma).
    d = np.empty(k, np.float64)
    np.subtract(chunk, shift, out=d)
    d[where] = 0.0
    s1 = float(d.sum())
    s2 = float(np.square(d, out=d).sum())
    return count, s1, s2


def anyMasked(mask: np.ndarray, badBits: int) -> bool:
    """Whether any element of the 1-D integer ``mask`` has one of ``badBits`` set (a mask
    without one masks nothing: the pixels are then scanned as if there were no mask)."""
    for start in range(0, mask.size, SCAN_CHUNK):
        if np.bitwise_and(mask[start : start + SCAN_CHUNK], badBits).any():
            return True
    return False


def sampleCandidates(
    pixels: np.ndarray, mask: np.ndarray | None, badBits: int, offset: int, step: int
) -> np.ndarray:
    """The candidates (finite, none of ``badBits`` set) among ``pixels[offset::step]``, in
    order, as a new contiguous float32 array: the sample of the plan."""
    sample = pixels[offset::step]
    good = np.isfinite(sample)
    if mask is not None:
        good &= (mask[offset::step] & badBits) == 0
    return np.ascontiguousarray(sample[good])


def sortSample(values: np.ndarray) -> np.ndarray:
    """The 1-D float32 ``values`` (no NaN) sorted ascending, as a new array: the sample
    that predicts the quartiles and the clip windows."""
    return np.sort(values)


def bracketContents(
    special: np.ndarray, bracketLows: np.ndarray, bracketHighs: np.ndarray
) -> list[np.ndarray]:
    """For each bracket ``[low, high]``, the float32 ``special`` values inside it, in
    order (new arrays, which the caller may reorder)."""
    return [
        special[(special >= low) & (special <= high)]
        for low, high in zip(bracketLows, bracketHighs, strict=True)
    ]


def windowSums(
    values: np.ndarray, low: np.float32, high: np.float32, shift: float
) -> tuple[int, float, float]:
    """``(n, s1, s2)``: the count of the finite float32 ``values`` in ``[low, high]`` and
    the sums of ``float64(x) - shift`` and of its squares over them, as
    :func:`pipetask_stats.moments.windowSums` adds them."""
    sums = _windowSums(values, low, high, shift)
    return sums.n, sums.s1, sums.s2
