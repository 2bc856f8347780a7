"""The ``sigmaClippedScan`` kernel compiled with numba.

It implements the contract of :func:`pipetask_stats.scan.scanChunk` with identical bits.
One compiled pass does what takes numpy a dozen passes over the chunk: it classifies
every pixel with the same float32 comparisons (core interval, quartile brackets, bad mask
bits), counts the pixels below each bracket, copies the special pixels out, and adds the
float64 values ``x - shift`` of the others (and their squares) in exactly the order of
``numpy.sum``: pairwise, runs of 128 values summed by eight interleaved accumulators and
joined pair by pair, for a chunk of any size. Special pixels are marked in bit words
while a run is classified (a loop the compiler vectorises), and only the marked ones are
visited to copy them out.

Compiled once per installation: ``cache=True`` keeps the machine code in ``__pycache__``
beside this file (or in ``NUMBA_CACHE_DIR`` when that is set and writable), and every
later process (every run, every worker) loads it from there. When that folder cannot be
written (a read-only installation), numba uses its per-user cache directory
(``~/.cache/numba``); when no cache location is writable at all, the kernel is compiled
without a cache (:data:`CACHED` is False) in each process that uses it, which costs
seconds per process but gives the same results.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numba.cpython.unsafe.numbers import trailing_zeros
from pipetask_stats.scan import bracketContents as numpyBracketContents
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


@njit(inline="always")
def _isSpecial(x, m, badBits, coreLow, coreHigh, l0, h0, l1, h1, l2, h2):
    """Outside the core (NaN included), inside a quartile bracket, or masked."""
    return (
        (~((x >= coreLow) & (x <= coreHigh)))
        | ((x >= l0) & (x <= h0))
        | ((x >= l1) & (x <= h1))
        | ((x >= l2) & (x <= h2))
        | ((m & badBits) != 0)
    )


@njit(inline="always")
def _runSums(d, length):
    """Sums of ``d[:length]`` and of its squares (``length <= LEAF``) in numpy's order:
    fewer than 8 values added one by one to 0; else eight accumulators ``r[j] += v[8 k +
    j]`` joined as ``((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))``, then the rest."""
    if length < 8:
        s1 = 0.0
        s2 = 0.0
        for i in range(length):
            s1 += d[i]
            s2 += d[i] * d[i]
        return s1, s2
    r0, r1, r2, r3, r4, r5, r6, r7 = d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]
    q0, q1, q2, q3 = r0 * r0, r1 * r1, r2 * r2, r3 * r3
    q4, q5, q6, q7 = r4 * r4, r5 * r5, r6 * r6, r7 * r7
    blocked = length - length % 8
    for k in range(8, blocked, 8):
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
    s1 = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    s2 = ((q0 + q1) + (q2 + q3)) + ((q4 + q5) + (q6 + q7))
    for i in range(blocked, length):
        s1 += d[i]
        s2 += d[i] * d[i]
    return s1, s2


@_compile
def _scanPow2(chunk, mask, badBits, coreLow, coreHigh, lows, highs, shift, special,
              specialMasked, countsBelow):  # fmt: skip
    """:func:`_scan` for a power-of-two chunk of at least ``LEAF`` pixels (every chunk of
    an image but its last): numpy halves it down to runs of exactly ``LEAF`` values and
    adds the halves back up pair by pair. The same steps as there, with fixed trip counts
    that the compiler vectorises (and the classification written out, since a helper
    call in this loop measurably slows it)."""
    l0, l1, l2 = lows[0], lows[1], lows[2]
    h0, h1, h2 = highs[0], highs[1], highs[2]
    numLeaves = chunk.size // LEAF
    sums1 = np.empty(numLeaves, np.float64)
    sums2 = np.empty(numLeaves, np.float64)
    d = np.empty(LEAF, np.float64)
    c0 = c1 = c2 = 0
    count = 0
    for leaf in range(numLeaves):
        base = leaf * LEAF
        w0 = w1 = np.uint64(0)
        for half in range(2):
            word = np.uint64(0)
            for b in range(64):
                i = 64 * half + b
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
                word |= np.uint64(s) << np.uint64(b)
                d[i] = 0.0 if s else np.float64(x - shift)
            if half == 0:
                w0 = word
            else:
                w1 = word
        sums1[leaf], sums2[leaf] = _runSums(d, LEAF)
        for half in range(2):
            word = w0 if half == 0 else w1
            while word:
                i = base + 64 * half + np.int64(trailing_zeros(word))
                special[count] = chunk[i]
                if mask is not None:
                    specialMasked[count] = (mask[i] & badBits) != 0
                count += 1
                word &= word - np.uint64(1)
    n = numLeaves
    while n > 1:
        n //= 2
        for i in range(n):
            sums1[i] = sums1[2 * i] + sums1[2 * i + 1]
            sums2[i] = sums2[2 * i] + sums2[2 * i + 1]
    countsBelow[0] += c0
    countsBelow[1] += c1
    countsBelow[2] += c2
    return count, sums1[0], sums2[0]


@_compile
def _scan(chunk, mask, badBits, coreLow, coreHigh, lows, highs, shift, special, specialMasked,
          countsBelow):  # fmt: skip
    """The whole contract in one pass over a chunk of any size; returns the count of
    special pixels and the two sums.

    numpy adds ``n > LEAF`` values as the sum of its first ``n2`` and its other values,
    ``n2`` being ``n // 2`` rounded down to a multiple of 8, recursively. The runs this
    splitting ends in are walked left to right with an explicit stack, so the special
    pixels come out in order, and each finished pair of sums is joined as numpy joins it.
    Each run is classified into a local buffer while its special pixels are marked in two
    64-bit words (a loop the compiler vectorises); only the marked ones are then visited.
    """
    l0, l1, l2 = lows[0], lows[1], lows[2]
    h0, h1, h2 = highs[0], highs[1], highs[2]
    noMask = mask is None
    d = np.empty(LEAF, np.float64)
    c0 = c1 = c2 = 0
    count = 0
    # Pending nodes (start, length, slot); a slot holds a node's sums once it is finished.
    stackStart = np.empty(128, np.int64)
    stackLength = np.empty(128, np.int64)
    stackSlot = np.empty(128, np.int64)
    # Every run but a lone one holds at least LEAF // 2 - 8 values.
    numNodes = 2 * (chunk.size // 56 + 1) + 1
    sums1 = np.zeros(numNodes, np.float64)
    sums2 = np.zeros(numNodes, np.float64)
    filled = np.zeros(numNodes, np.int64)
    parent = np.full(numNodes, -1, np.int64)
    nodes = 1
    stackStart[0], stackLength[0], stackSlot[0] = 0, chunk.size, 0
    top = 1
    while top:
        top -= 1
        start, length, slot = stackStart[top], stackLength[top], stackSlot[top]
        if length > LEAF:
            n2 = length // 2
            n2 -= n2 % 8
            left, right = nodes, nodes + 1
            nodes += 2
            parent[left] = slot
            parent[right] = slot
            # The right half is pushed first, so the left half is walked first.
            stackStart[top], stackLength[top], stackSlot[top] = start + n2, length - n2, right
            stackStart[top + 1], stackLength[top + 1], stackSlot[top + 1] = start, n2, left
            top += 2
            continue
        w0 = w1 = np.uint64(0)
        if length == LEAF:  # the usual run: fixed trip counts, vectorised
            for half in range(2):
                word = np.uint64(0)
                for b in range(64):
                    i = 64 * half + b
                    x = chunk[start + i]
                    m = 0 if noMask else mask[start + i]
                    s = _isSpecial(x, m, badBits, coreLow, coreHigh, l0, h0, l1, h1, l2, h2)
                    c0 += x < l0
                    c1 += x < l1
                    c2 += x < l2
                    word |= np.uint64(s) << np.uint64(b)
                    d[i] = 0.0 if s else np.float64(x - shift)
                if half == 0:
                    w0 = word
                else:
                    w1 = word
        else:
            for i in range(length):
                x = chunk[start + i]
                m = 0 if noMask else mask[start + i]
                s = _isSpecial(x, m, badBits, coreLow, coreHigh, l0, h0, l1, h1, l2, h2)
                c0 += x < l0
                c1 += x < l1
                c2 += x < l2
                if i < 64:
                    w0 |= np.uint64(s) << np.uint64(i)
                else:
                    w1 |= np.uint64(s) << np.uint64(i - 64)
                d[i] = 0.0 if s else np.float64(x - shift)
        for half in range(2):
            word = w0 if half == 0 else w1
            while word:
                i = start + 64 * half + np.int64(trailing_zeros(word))
                special[count] = chunk[i]
                if not noMask:
                    specialMasked[count] = (mask[i] & badBits) != 0
                count += 1
                word &= word - np.uint64(1)
        s1, s2 = _runSums(d, length)
        sums1[slot], sums2[slot] = s1, s2
        # Join finished pairs upwards: a node is finished when both its halves are.
        while slot != 0:
            up = parent[slot]
            filled[up] += 1
            if filled[up] < 2:
                break
            left = slot if slot % 2 else slot - 1
            sums1[up] = sums1[left] + sums1[left + 1]
            sums2[up] = sums2[left] + sums2[left + 1]
            slot = up
    countsBelow[0] += c0
    countsBelow[1] += c1
    countsBelow[2] += c2
    return count, sums1[0], sums2[0]


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
    size = chunk.size
    scan = _scanPow2 if size >= LEAF and size & (size - 1) == 0 else _scan
    count, s1, s2 = scan(
        chunk, mask, np.int64(badBits), np.float32(coreLow), np.float32(coreHigh),
        bracketLows, bracketHighs, np.float32(shift), special, specialMasked, countsBelow,
    )  # fmt: skip
    return int(count), 0.0 + float(s1), 0.0 + float(s2)


#: Bits of the sort key taken per pass of the radix sort (three passes cover 32 bits).
_RADIX_BITS = 11


@_compile
def _radixSort(values):
    """``values`` (float32, no NaN) sorted ascending: a stable LSD radix sort of keys that
    order as the floats do (sign bit flipped for positives, all bits for negatives)."""
    n = values.size
    keys = values.view(np.uint32)
    a = np.empty(n, np.uint32)
    for i in range(n):
        k = keys[i]
        a[i] = ~k if k >> np.uint32(31) else k | np.uint32(0x80000000)
    b = np.empty(n, np.uint32)
    radix = 1 << _RADIX_BITS
    digit = np.uint32(radix - 1)
    counts = np.empty(radix, np.int64)
    for shift in range(0, 32, _RADIX_BITS):
        s = np.uint32(shift)
        counts[:] = 0
        for i in range(n):
            counts[(a[i] >> s) & digit] += 1
        total = 0
        for d in range(radix):
            c = counts[d]
            counts[d] = total
            total += c
        for i in range(n):
            d = (a[i] >> s) & digit
            b[counts[d]] = a[i]
            counts[d] += 1
        a, b = b, a
    for i in range(n):
        k = a[i]
        b[i] = k & np.uint32(0x7FFFFFFF) if k >> np.uint32(31) else ~k
    return b.view(np.float32)


def sortSample(values: np.ndarray) -> np.ndarray:
    """Compiled :func:`pipetask_stats.scan.sortSample`: the same values in the same order
    (a zero's sign aside, where no result depends on it)."""
    if values.dtype != np.float32:
        return np.sort(values)
    return _radixSort(np.ascontiguousarray(values))


@_compile
def _bracketContents(special, lows, highs):
    """One pass copying each value into the bracket(s) holding it, in order."""
    l0, l1, l2 = lows[0], lows[1], lows[2]
    h0, h1, h2 = highs[0], highs[1], highs[2]
    n = special.size
    out0 = np.empty(n, np.float32)
    out1 = np.empty(n, np.float32)
    out2 = np.empty(n, np.float32)
    n0 = n1 = n2 = 0
    for i in range(n):
        x = special[i]
        out0[n0] = x
        out1[n1] = x
        out2[n2] = x
        n0 += (x >= l0) & (x <= h0)
        n1 += (x >= l1) & (x <= h1)
        n2 += (x >= l2) & (x <= h2)
    return out0[:n0], out1[:n1], out2[:n2]


def bracketContents(
    special: np.ndarray, bracketLows: np.ndarray, bracketHighs: np.ndarray
) -> list[np.ndarray]:
    """Compiled :func:`pipetask_stats.scan.bracketContents`."""
    if special.dtype != np.float32 or bracketLows.dtype != np.float32 or bracketLows.size != 3:
        return numpyBracketContents(special, bracketLows, bracketHighs)
    return list(_bracketContents(special, bracketLows, bracketHighs))
