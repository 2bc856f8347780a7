"""The ``sigmaClippedScan`` kernel compiled with numba.

It implements the contract of :func:`pipetask_stats.scan.scanChunk` with identical bits.
Two compiled loops do what takes numpy a dozen passes over the chunk: one classifies
every pixel with the same float32 comparisons (core interval, quartile brackets, bad mask
bits), counts the pixels below each bracket and fills the float64 values to add (zero for
a special pixel); it has no branch, so the compiler vectorises it. The other copies the
special pixels out. The two sums are then ``numpy.sum`` of those values, so they are added
in exactly numpy's order.

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


#: Pixels per block of the fused loop: its values stay in the L2 cache while summed.
BLOCK = 1 << 14
#: numpy's pairwise summation sums runs of this many values with eight accumulators.
_LEAF = 128


@_compile
def _classify(
    chunk, mask, start, stop, badBits, coreLow, coreHigh, lows, highs, shift, isSpecial, diff
):
    """Flag the special pixels of ``chunk[start:stop]``, count those below each bracket,
    fill the values to add."""
    l0, l1, l2 = lows[0], lows[1], lows[2]
    h0, h1, h2 = highs[0], highs[1], highs[2]
    c0 = c1 = c2 = 0
    for i in range(stop - start):
        x = chunk[start + i]
        c0 += x < l0
        c1 += x < l1
        c2 += x < l2
        inBracket = ((x >= l0) & (x <= h0)) | ((x >= l1) & (x <= h1)) | ((x >= l2) & (x <= h2))
        special = (~((x >= coreLow) & (x <= coreHigh))) | inBracket
        if mask is not None:
            special = special | ((mask[start + i] & badBits) != 0)
        isSpecial[i] = special
        diff[i] = 0.0 if special else np.float64(x - shift)
    return c0, c1, c2


@_compile
def _copyOut(chunk, mask, start, stop, badBits, isSpecial, special, specialMasked, count):
    """Copy the flagged pixels of ``chunk[start:stop]`` (and whether each is masked) to
    ``special[count:]``."""
    for i in range(stop - start):
        special[count] = chunk[start + i]
        if mask is not None:
            specialMasked[count] = (mask[start + i] & badBits) != 0
        count += isSpecial[i]
    return count


@_compile
def _balanced(sums, n):
    """Add ``sums[:n]`` (``n`` a power of two) in pairs, level by level, in place."""
    while n > 1:
        n //= 2
        for i in range(n):
            sums[i] = sums[2 * i] + sums[2 * i + 1]
    return sums[0]


@_compile
def _pairwisePow2(values, leafSums, square):
    """``numpy.sum`` of ``values`` (or of their squares) for a power-of-two size >= 128.

    numpy splits such a run into halves down to runs of 128, each summed by eight
    accumulators ``r[j] += x[8 k + j]`` joined as ``((r0+r1)+(r2+r3))+((r4+r5)+(r6+r7))``.
    """
    numLeaves = values.size // _LEAF
    r = np.empty(8, np.float64)
    for leaf in range(numLeaves):
        base = leaf * _LEAF
        for j in range(8):
            v = values[base + j]
            r[j] = v * v if square else v
        for k in range(8, _LEAF, 8):
            for j in range(8):
                v = values[base + k + j]
                r[j] += v * v if square else v
        leafSums[leaf] = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
    return _balanced(leafSums, numLeaves)


@_compile
def _scanBlocks(
    chunk, mask, badBits, coreLow, coreHigh, lows, highs, shift, special, specialMasked
):
    """The whole chunk (a power-of-two multiple of ``BLOCK``) block by block: flags, copies
    and both sums, added in numpy's order (its halving reaches the blocks exactly)."""
    isSpecial = np.empty(BLOCK, np.bool_)
    diff = np.empty(BLOCK, np.float64)
    leafSums = np.empty(BLOCK // _LEAF, np.float64)
    numBlocks = chunk.size // BLOCK
    blockSums1 = np.empty(numBlocks, np.float64)
    blockSums2 = np.empty(numBlocks, np.float64)
    counts = np.zeros(3, np.int64)
    count = 0
    for b in range(numBlocks):
        start, stop = b * BLOCK, (b + 1) * BLOCK
        c0, c1, c2 = _classify(
            chunk, mask, start, stop, badBits, coreLow, coreHigh, lows, highs, shift,
            isSpecial, diff,
        )  # fmt: skip
        counts[0] += c0
        counts[1] += c1
        counts[2] += c2
        count = _copyOut(
            chunk, mask, start, stop, badBits, isSpecial, special, specialMasked, count
        )
        blockSums1[b] = _pairwisePow2(diff, leafSums, False)
        blockSums2[b] = _pairwisePow2(diff, leafSums, True)
    return count, counts, _balanced(blockSums1, numBlocks), _balanced(blockSums2, numBlocks)


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
    bits, low, high, shift32 = (
        np.int64(badBits),
        np.float32(coreLow),
        np.float32(coreHigh),
        np.float32(shift),
    )
    numBlocks = chunk.size // BLOCK
    if chunk.size % BLOCK == 0 and numBlocks & (numBlocks - 1) == 0:
        count, counts, s1, s2 = _scanBlocks(
            chunk, mask, bits, low, high, bracketLows, bracketHighs, shift32,
            special, specialMasked,
        )  # fmt: skip
        countsBelow += counts
        return int(count), 0.0 + float(s1), 0.0 + float(s2)
    # Another size (the last chunk of an image): numpy adds the values.
    isSpecial, diff = _scratch(chunk.size)
    size = chunk.size
    counts = _classify(
        chunk, mask, 0, size, bits, low, high, bracketLows, bracketHighs, shift32, isSpecial,
        diff,
    )  # fmt: skip
    countsBelow += np.array(counts, np.int64)
    count = _copyOut(chunk, mask, 0, size, bits, isSpecial, special, specialMasked, 0)
    s1 = float(diff.sum())
    s2 = float(np.square(diff, out=diff).sum())
    return int(count), s1, s2
