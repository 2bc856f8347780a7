"""The loops of the ``sigmaClippedScan`` kernel, in the numba subset of Python.

:mod:`pipetask_stats_numba.native` compiles them once per installation, ahead of time into
an extension module (:data:`EXPORTS` gives the signatures), or with numba's just-in-time
compiler when that cannot be built; :mod:`pipetask_stats_numba.scan` calls them.

The streaming pass does in one compiled pass per chunk what takes numpy a dozen: it
classifies every pixel with the same float32 comparisons (core interval, quartile
brackets, bad mask bits), counts the candidates below each bracket, copies out the special
pixels that are candidates, and adds the float64 values ``x - shift`` of the others (and
their squares) in exactly the order of ``numpy.sum``: pairwise, runs of 128 values summed by
eight interleaved accumulators and joined pair by pair, for a chunk of any size. Special
pixels are marked in bit words while a run is classified (a loop the compiler vectorises),
and only the marked ones are visited.
"""

from __future__ import annotations

import numpy as np
from numba import njit, types
from numba.cpython.unsafe.numbers import trailing_zeros

#: numpy's pairwise summation sums runs of up to this many values with eight accumulators.
LEAF = 128


@njit(inline="always")
def _runSums(d, start, length):
    """Sums of ``d[start:start + length]`` and of its squares (``length <= LEAF``) in numpy's
    order: fewer than 8 values added one by one to 0; else eight accumulators ``r[j] +=
    v[8 k + j]`` joined as ``((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))``, then the
    rest."""
    if length < 8:
        s1 = 0.0
        s2 = 0.0
        for i in range(start, start + length):
            s1 += d[i]
            s2 += d[i] * d[i]
        return s1, s2
    b = start
    r0, r1, r2, r3 = d[b], d[b + 1], d[b + 2], d[b + 3]
    r4, r5, r6, r7 = d[b + 4], d[b + 5], d[b + 6], d[b + 7]
    q0, q1, q2, q3 = r0 * r0, r1 * r1, r2 * r2, r3 * r3
    q4, q5, q6, q7 = r4 * r4, r5 * r5, r6 * r6, r7 * r7
    blocked = length - length % 8
    for k in range(b + 8, b + blocked, 8):
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
    for i in range(b + blocked, b + length):
        s1 += d[i]
        s2 += d[i] * d[i]
    return s1, s2


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
def _copyOut(word, first, chunk, mask, badBits, special, specialMasked, count):
    """Copy the pixels marked in ``word`` (bit ``b``: pixel ``first + b``) to ``special``
    from ``count`` on, with whether each is masked; the new count."""
    while word:
        i = first + np.int64(trailing_zeros(word))
        special[count] = chunk[i]
        if mask is not None:
            specialMasked[count] = (mask[i] & badBits) != 0
        count += 1
        word &= word - np.uint64(1)
    return count


@njit
def _keepCandidates(special, specialMasked, k, hasMask, out, count, bad, l0, l1, l2):
    """Append the candidates (finite, not masked) among ``special[:k]`` to ``out`` from
    ``count`` on and count the others below each bracket into ``bad``; the new count.
    Branch-free: masked pixels are scattered, so a branch would be mispredicted."""
    b0 = b1 = b2 = 0
    for i in range(k):
        x = special[i]
        ok = np.isfinite(x)
        if hasMask:
            ok = ok & ~specialMasked[i]
        out[count] = x
        count += ok
        b0 += (~ok) & (x < l0)
        b1 += (~ok) & (x < l1)
        b2 += (~ok) & (x < l2)
    bad[0] += b0
    bad[1] += b1
    bad[2] += b2
    return count


@njit
def _scanPow2(chunk, mask, badBits, coreLow, coreHigh, lows, highs, shift, special,
              specialMasked, below):  # fmt: skip
    """:func:`_scanChunk` for a power-of-two chunk of at least ``LEAF`` pixels (every chunk
    of an image but its last): numpy halves it down to runs of exactly ``LEAF`` values and
    adds the halves back up pair by pair. Fixed trip counts, which the compiler vectorises
    (the classification written out: a helper call in this loop measurably slows it)."""
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
        sums1[leaf], sums2[leaf] = _runSums(d, 0, LEAF)
        count = _copyOut(w0, base, chunk, mask, badBits, special, specialMasked, count)
        count = _copyOut(w1, base + 64, chunk, mask, badBits, special, specialMasked, count)
    n = numLeaves
    while n > 1:
        n //= 2
        for i in range(n):
            sums1[i] = sums1[2 * i] + sums1[2 * i + 1]
            sums2[i] = sums2[2 * i] + sums2[2 * i + 1]
    below[0] += c0
    below[1] += c1
    below[2] += c2
    return count, sums1[0], sums2[0]


@njit
def _scanChunk(chunk, mask, badBits, coreLow, coreHigh, lows, highs, shift, special,
               specialMasked, below):  # fmt: skip
    """One pass over a chunk of any size: copies the special pixels to ``special`` (and
    whether each is masked to ``specialMasked``), adds the count below each bracket to
    ``below``; returns the number of special pixels and the two sums.

    numpy adds ``n > LEAF`` values as the sum of its first ``n2`` and its other values,
    ``n2`` being ``n // 2`` rounded down to a multiple of 8, recursively. The runs this
    splitting ends in are walked left to right with an explicit stack, so the special
    pixels come out in order, and each finished pair of sums is joined as numpy joins it.
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
        count = _copyOut(w0, start, chunk, mask, badBits, special, specialMasked, count)
        count = _copyOut(w1, start + 64, chunk, mask, badBits, special, specialMasked, count)
        s1, s2 = _runSums(d, 0, length)
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
    below[0] += c0
    below[1] += c1
    below[2] += c2
    return count, sums1[0], sums2[0]


def scanImage(pixels, mask, badBits, coreLow, coreHigh, lows, highs, shift, chunkSize):
    """:func:`pipetask_stats.scan.scanImage` for three brackets: ``(plainCount, s1, s2,
    special, countsBelow)``, the chunks' sums added in order from 0.0."""
    size = pixels.size
    k = min(size, chunkSize)
    special = np.empty(k, np.float32)
    specialMasked = np.zeros(k, np.bool_)
    out = np.empty(k, np.float32)
    count = 0
    numSpecial = 0
    below = np.zeros(3, np.int64)
    bad = np.zeros(3, np.int64)
    l0, l1, l2 = lows[0], lows[1], lows[2]
    s1 = 0.0
    s2 = 0.0
    for start in range(0, size, chunkSize):
        stop = min(start + chunkSize, size)
        n = stop - start
        chunk = pixels[start:stop]
        if mask is None:
            if n >= LEAF and n & (n - 1) == 0:
                k, c1, c2 = _scanPow2(chunk, None, badBits, coreLow, coreHigh, lows, highs,
                                      shift, special, specialMasked, below)  # fmt: skip
            else:
                k, c1, c2 = _scanChunk(chunk, None, badBits, coreLow, coreHigh, lows, highs,
                                       shift, special, specialMasked, below)  # fmt: skip
        else:
            m = mask[start:stop]
            if n >= LEAF and n & (n - 1) == 0:
                k, c1, c2 = _scanPow2(chunk, m, badBits, coreLow, coreHigh, lows, highs,
                                      shift, special, specialMasked, below)  # fmt: skip
            else:
                k, c1, c2 = _scanChunk(chunk, m, badBits, coreLow, coreHigh, lows, highs,
                                       shift, special, specialMasked, below)  # fmt: skip
        if out.size - count < k:
            grown = np.empty(max(2 * out.size, count + k), np.float32)
            grown[:count] = out[:count]
            out = grown
        count = _keepCandidates(
            special, specialMasked, k, mask is not None, out, count, bad, l0, l1, l2
        )
        numSpecial += k
        s1 += c1
        s2 += c2
    return size - numSpecial, s1, s2, out[:count], below - bad


@njit
def _pairwiseSums(d, n):
    """Sums of ``d[:n]`` and of its squares in numpy's pairwise order (see
    :func:`_scanChunk`), for any ``n``."""
    if n <= LEAF:
        return _runSums(d, 0, n)
    stackStart = np.empty(128, np.int64)
    stackLength = np.empty(128, np.int64)
    stackSlot = np.empty(128, np.int64)
    numNodes = 2 * (n // 56 + 1) + 1
    sums1 = np.zeros(numNodes, np.float64)
    sums2 = np.zeros(numNodes, np.float64)
    filled = np.zeros(numNodes, np.int64)
    parent = np.full(numNodes, -1, np.int64)
    nodes = 1
    stackStart[0], stackLength[0], stackSlot[0] = 0, n, 0
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
            stackStart[top], stackLength[top], stackSlot[top] = start + n2, length - n2, right
            stackStart[top + 1], stackLength[top + 1], stackSlot[top + 1] = start, n2, left
            top += 2
            continue
        sums1[slot], sums2[slot] = _runSums(d, start, length)
        while slot != 0:
            up = parent[slot]
            filled[up] += 1
            if filled[up] < 2:
                break
            left = slot if slot % 2 else slot - 1
            sums1[up] = sums1[left] + sums1[left + 1]
            sums2[up] = sums2[left] + sums2[left + 1]
            slot = up
    return sums1[0], sums2[0]


def windowSums(values, low, high, shift, chunkSize):
    """:func:`pipetask_stats.scan.windowSums`: per chunk of ``chunkSize`` values, ``d =
    (float64(x) - shift) * (low <= x <= high)`` summed pairwise with its squares, the chunk
    sums added in order from 0.0."""
    size = values.size
    d = np.empty(min(size, chunkSize), np.float64)
    n = 0
    s1 = 0.0
    s2 = 0.0
    for start in range(0, size, chunkSize):
        k = min(chunkSize, size - start)
        for i in range(k):
            x = values[start + i]
            inside = (x >= low) & (x <= high)
            n += inside
            d[i] = (np.float64(x) - shift) * np.float64(inside)
        c1, c2 = _pairwiseSums(d, k)
        s1 += c1
        s2 += c2
    return n, s1, s2


def sampleCandidates(pixels, mask, badBits, offset, step):
    """:func:`pipetask_stats.scan.sampleCandidates`: one strided pass, each pixel and its
    mask read once."""
    out = np.empty((pixels.size - offset + step - 1) // step if pixels.size > offset else 0,
                   np.float32)  # fmt: skip
    n = 0
    for i in range(offset, pixels.size, step):
        x = pixels[i]
        ok = np.isfinite(x)
        if mask is not None:
            ok = ok and (mask[i] & badBits) == 0
        out[n] = x
        n += ok
    return out[:n]


#: Bits of the sort key taken per pass of the radix sort (three passes cover 32 bits).
_RADIX_BITS = 11


def radixSort(values):
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


def bracketContents(special, lows, highs):
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


def _signatures():
    f32 = types.float32
    pixels = types.Array(f32, 1, "C")
    i64 = types.int64
    scanned = types.Tuple((i64, types.float64, types.float64, pixels, types.Array(i64, 1, "C")))
    scan = {}
    for name, mask in (("m32", types.Array(types.int32, 1, "C")), ("nomask", types.none)):
        scan[name] = scanned(pixels, mask, i64, f32, f32, pixels, pixels, f32, i64)
    return {
        "scanImage_m32": (scanImage, scan["m32"]),
        "scanImage_nomask": (scanImage, scan["nomask"]),
        "windowSums": (
            windowSums,
            types.Tuple((i64, types.float64, types.float64))(pixels, f32, f32, types.float64, i64),
        ),
        "radixSort": (radixSort, pixels(pixels)),
        "sampleCandidates_m32": (
            sampleCandidates,
            pixels(pixels, types.Array(types.int32, 1, "C"), i64, i64, i64),
        ),
        "sampleCandidates_nomask": (sampleCandidates, pixels(pixels, types.none, i64, i64, i64)),
        "bracketContents": (bracketContents, types.UniTuple(pixels, 3)(pixels, pixels, pixels)),
    }


#: Exported name: (Python function, numba signature), for the ahead-of-time build.
EXPORTS = _signatures()
