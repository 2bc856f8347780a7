"""The ``sigmaClippedScan`` kernel compiled with numba.

It implements the contract of :func:`pipetask_stats.scan.scanChunk` with identical bits.
One compiled pass does what takes numpy a dozen passes over the chunk: it classifies
every pixel with the same float32 comparisons (core interval, quartile brackets, bad mask
bits), counts the pixels below each bracket, copies the special pixels out, and adds the
float64 values ``x - shift`` of the others (and their squares) in exactly the order of
``numpy.sum``: pairwise, runs of 128 values summed by eight interleaved accumulators and
joined pair by pair. That order is reproduced for the power-of-two chunks the streaming
pass uses; a chunk of another size (an image's last) is classified by compiled loops and
summed by numpy itself.

Compiled once per installation: ``cache=True`` keeps the machine code in ``__pycache__``
beside this file (or in ``NUMBA_CACHE_DIR`` when that is set and writable), and every
later process (every run, every worker) loads it from there. When that folder cannot be
written (a read-only installation), numba uses its per-user cache directory
(``~/.cache/numba``); when no cache location is writable at all, the kernel is compiled
without a cache (:data:`CACHED` is False) in each process that uses it, which costs
seconds per process but gives the same results.
"""

from __future__ import annotations

import threading

import numpy as np
from numba import njit
from pipetask_stats.scan import scanChunk as numpyScanChunk

#: Whether the compiled code is cached on disk (False when no location is writable).
CACHED = True


def _compile(function):
    """``numba.njit`` with the on-disk cache; without it if no cache location is writable."""
    global CACHED
    try:
        return njit(cache=True, nogil=True)(function)
    except RuntimeError:  # numba: "cannot cache function ...: no locator available"
        CACHED = False
        return njit(nogil=True)(function)


#: numpy's pairwise summation sums runs of up to this many values with eight accumulators.
LEAF = 128


@_compile
def _classify(chunk, mask, badBits, coreLow, coreHigh, lows, highs, shift, isSpecial, diff):
    """Flag the special pixels, count those below each bracket, fill the values to add."""
    l0, l1, l2 = lows[0], lows[1], lows[2]
    h0, h1, h2 = highs[0], highs[1], highs[2]
    c0 = c1 = c2 = 0
    for i in range(chunk.size):
        x = chunk[i]
        c0 += x < l0
        c1 += x < l1
        c2 += x < l2
        inBracket = ((x >= l0) & (x <= h0)) | ((x >= l1) & (x <= h1)) | ((x >= l2) & (x <= h2))
        special = (~((x >= coreLow) & (x <= coreHigh))) | inBracket
        if mask is not None:
            special = special | ((mask[i] & badBits) != 0)
        isSpecial[i] = special
        diff[i] = 0.0 if special else np.float64(x - shift)
    return c0, c1, c2


@_compile
def _copyOut(chunk, mask, badBits, isSpecial, special, specialMasked):
    """Copy the flagged pixels (and whether each is masked) to the front of the outputs."""
    count = 0
    for i in range(chunk.size):
        special[count] = chunk[i]
        if mask is not None:
            specialMasked[count] = (mask[i] & badBits) != 0
        count += isSpecial[i]
    return count


@_compile
def _scanPow2(chunk, mask, badBits, coreLow, coreHigh, lows, highs, shift, special, specialMasked):
    """The whole contract in one pass, for a power-of-two chunk of at least ``LEAF`` pixels.

    numpy halves such a run down to runs of 128 values, sums each with eight accumulators
    ``r[j] += v[8 k + j]`` joined as ``((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))``,
    and adds the halves back up pair by pair: done here leaf by leaf, for the values and
    their squares at once, classifying each leaf's pixels just before they are summed.
    """
    l0, l1, l2 = lows[0], lows[1], lows[2]
    h0, h1, h2 = highs[0], highs[1], highs[2]
    numLeaves = chunk.size // LEAF
    sums1 = np.empty(numLeaves, np.float64)
    sums2 = np.empty(numLeaves, np.float64)
    d = np.empty(LEAF, np.float64)
    flags = np.empty(LEAF, np.bool_)
    c0 = c1 = c2 = 0
    count = 0
    for leaf in range(numLeaves):
        base = leaf * LEAF
        anySpecial = False
        for i in range(LEAF):
            x = chunk[base + i]
            c0 += x < l0
            c1 += x < l1
            c2 += x < l2
            s = (
                (~((x >= coreLow) & (x <= coreHigh)))
                | ((x >= l0) & (x <= h0))
                | ((x >= l1) & (x <= h1))
                | ((x >= l2) & (x <= h2))
            )
            if mask is not None:
                s = s | ((mask[base + i] & badBits) != 0)
            flags[i] = s
            d[i] = 0.0 if s else np.float64(x - shift)
            anySpecial |= s
        r0, r1, r2, r3, r4, r5, r6, r7 = d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]
        q0, q1, q2, q3 = r0 * r0, r1 * r1, r2 * r2, r3 * r3
        q4, q5, q6, q7 = r4 * r4, r5 * r5, r6 * r6, r7 * r7
        for k in range(8, LEAF, 8):
            v0, v1, v2, v3 = d[k], d[k + 1], d[k + 2], d[k + 3]
            v4, v5, v6, v7 = d[k + 4], d[k + 5], d[k + 6], d[k + 7]
            r0 += v0
            r1 += v1
            r2 += v2
            r3 += v3
            r4 += v4
            r5 += v5
            r6 += v6
            r7 += v7
            q0 += v0 * v0
            q1 += v1 * v1
            q2 += v2 * v2
            q3 += v3 * v3
            q4 += v4 * v4
            q5 += v5 * v5
            q6 += v6 * v6
            q7 += v7 * v7
        sums1[leaf] = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
        sums2[leaf] = ((q0 + q1) + (q2 + q3)) + ((q4 + q5) + (q6 + q7))
        if anySpecial:
            for i in range(LEAF):
                special[count] = chunk[base + i]
                if mask is not None:
                    specialMasked[count] = (mask[base + i] & badBits) != 0
                count += flags[i]
    n = numLeaves
    while n > 1:
        n //= 2
        for i in range(n):
            sums1[i] = sums1[2 * i] + sums1[2 * i + 1]
            sums2[i] = sums2[2 * i] + sums2[2 * i + 1]
    return count, c0, c1, c2, sums1[0], sums2[0]


#: Per-thread scratch arrays (flags and values), reused across chunks.
_local = threading.local()


def _scratch(size: int) -> tuple[np.ndarray, np.ndarray]:
    arrays = getattr(_local, "arrays", None)
    if arrays is None or arrays[0].size < size:
        arrays = _local.arrays = (np.empty(size, np.bool_), np.empty(size, np.float64))
    return arrays[0][:size], arrays[1][:size]


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
    """Compiled :func:`pipetask_stats.scan.scanChunk` (see there for the contract)."""
    if bracketLows.size != 3 or chunk.dtype != np.float32:
        return numpyScanChunk(
            chunk, mask, badBits, coreLow, coreHigh, bracketLows, bracketHighs, shift,
            special, specialMasked, countsBelow,
        )  # fmt: skip
    bits, low, high = np.int64(badBits), np.float32(coreLow), np.float32(coreHigh)
    shift32 = np.float32(shift)
    size = chunk.size
    if size >= LEAF and size & (size - 1) == 0:
        count, c0, c1, c2, s1, s2 = _scanPow2(
            chunk, mask, bits, low, high, bracketLows, bracketHighs, shift32, special,
            specialMasked,
        )  # fmt: skip
        countsBelow += np.array([c0, c1, c2], np.int64)
        return int(count), 0.0 + float(s1), 0.0 + float(s2)
    # Another size (the last chunk of an image): numpy adds the values.
    isSpecial, diff = _scratch(size)
    counts = _classify(
        chunk, mask, bits, low, high, bracketLows, bracketHighs, shift32, isSpecial, diff
    )
    countsBelow += np.array(counts, np.int64)
    count = _copyOut(chunk, mask, bits, isSpecial, special, specialMasked)
    s1 = float(diff.sum())
    s2 = float(np.square(diff, out=diff).sum())
    return int(count), s1, s2
