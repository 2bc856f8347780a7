"""The loops of the sigma-clipped statistics (numpy): the streaming pass over one chunk of
pixels, the sort of the sample and the selection of the quartile brackets.

This module is the contract of the kernel named ``sigmaClippedScan``: a plugin may provide
a compiled implementation through the hook ``pipetask_kernels``, a module with the three
functions :func:`scanChunk`, :func:`sortSample` and :func:`bracketContents` below, and
:mod:`pipetask_stats.clipping` then calls them instead. An implementation must give
bit-identical results; pipetask-stats-numba does.
"""

from __future__ import annotations

import numpy as np


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
