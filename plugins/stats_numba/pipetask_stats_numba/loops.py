"""The loops of the ``sigmaClippedScan`` kernel, in the numba subset of Python.

:mod:`pipetask_stats_numba.native` compiles them once per installation, ahead of time into
an extension module (:data:`EXPORTS` gives the signatures), or with numba's just-in-time
compiler when that cannot be built; :mod:`pipetask_stats_numba.scan` calls them.

The streaming pass does in one compiled pass per chunk what takes numpy a dozen: it
classifies every pixel with the same float32 comparisons (core interval, quartile
brackets, bad mask bits), counts the candidates below each bracket, copies out the special
pixels that are candidates, and adds the float64 values ``x - shift`` of the others (and
their squares) in exactly the order of ``numpy.sum``: pairwise, runs of 128 values summed by
eight interleaved accumulators and joined pair by pair, for a chunk of any size.

numpy's eight accumulators are the eight lanes of a vector: a run's whole groups of 8
pixels are classified and summed with explicit LLVM vectors (:func:`_scanGroups`, an
intrinsic: the compiler does not vectorise those accumulators by itself, since that looks
like reordering a floating-point sum), which marks the special pixels in bit words; only
the marked ones are then visited. The window sums over the copied-out pixels use the same
vectors (:func:`_sumGroups`).
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.cpython.unsafe.numbers import trailing_zeros
from numba.extending import intrinsic

#: numpy's pairwise summation sums runs of up to this many values with eight accumulators.
LEAF = 128
#: Lanes of the vectors of :func:`_scanGroups`: numpy's eight accumulators, side by side.
LANES = 8

_F32, _I8, _I32, _I64 = ir.FloatType(), ir.IntType(8), ir.IntType(32), ir.IntType(64)
_FLOATS, _DOUBLES, _INTS = (ir.VectorType(t, LANES) for t in (_F32, ir.DoubleType(), _I32))


def _splat(builder, value, vectorType):
    """``value`` in every lane."""
    lanes = ir.Constant(ir.VectorType(_I32, LANES), [0] * LANES)
    undefined = ir.Constant(vectorType, ir.Undefined)
    one = builder.insert_element(undefined, value, ir.Constant(_I32, 0))
    return builder.shuffle_vector(one, undefined, lanes)


def _load(builder, pointer, index, vectorType):
    """``LANES`` consecutive elements from ``pointer[index]`` (no alignment assumed)."""
    element = builder.gep(pointer, [index])
    return builder.load(builder.bitcast(element, vectorType.as_pointer()), align=4)


def _joined(builder, vector):
    """``((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))``: numpy's join of its eight
    accumulators."""
    r = [builder.extract_element(vector, ir.Constant(_I32, j)) for j in range(LANES)]
    pairs = [builder.fadd(r[j], r[j + 1]) for j in range(0, LANES, 2)]
    return builder.fadd(builder.fadd(pairs[0], pairs[1]), builder.fadd(pairs[2], pairs[3]))


@intrinsic
def _scanGroups(typingctx, chunk, mask, bits32, start, groups, coreLow, coreHigh, l0, h0, l1,
                h1, l2, h2, shift, specialBytes):  # fmt: skip
    """Classify, count and sum ``groups`` (1 to 16) groups of 8 pixels from
    ``chunk[start]``, with explicit vectors (the compiler does not vectorise the
    accumulators of numpy's order by itself).

    A pixel is *plain* when in the core, in no bracket and not masked: ``mask & bits32 ==
    0``. Byte ``g`` of ``specialBytes`` gets the bits of the other pixels of group ``g``;
    plain pixels add ``d = float64(x - shift)`` (others 0) to eight float64 accumulators,
    lane ``j`` taking pixels ``8 k + j``, the first group initialising them, joined as
    numpy joins its own: ``(s1, s2)``, as numpy sums a run of ``8 * groups`` values ``d``
    and their squares. Also returns the number of pixels ``< l0``, ``< l1``, ``< l2``.

    A bracket test reuses the count's comparison: ``not (l <= x <= h)`` is ``x < l or x >
    h`` but for NaN, which is outside the core anyway."""
    hasMask = not isinstance(mask, types.NoneType)
    result = types.Tuple((types.float64, types.float64, types.int64, types.int64, types.int64))
    signature = result(chunk, mask, bits32, start, groups, coreLow, coreHigh, l0, h0, l1, h1,
                       l2, h2, shift, specialBytes)  # fmt: skip

    def codegen(context, builder, sig, args):
        pixels = context.make_array(sig.args[0])(context, builder, args[0]).data
        maskData = None
        if hasMask:
            maskData = context.make_array(sig.args[1])(context, builder, args[1]).data
        out = context.make_array(sig.args[14])(context, builder, args[14]).data
        startIndex, numGroups = args[3], args[4]
        low, high, lows, highs, shiftV = (
            _splat(builder, args[5], _FLOATS),
            _splat(builder, args[6], _FLOATS),
            [_splat(builder, args[i], _FLOATS) for i in (7, 9, 11)],
            [_splat(builder, args[i], _FLOATS) for i in (8, 10, 12)],
            _splat(builder, args[13], _FLOATS),
        )
        bits = _splat(builder, builder.trunc(args[2], _I32), _INTS)
        zero = ir.Constant(_INTS, None)
        # The three counts share one accumulator, 10 bits each (at most 16 per lane).
        fields = [ir.Constant(_INTS, [1 << (10 * b)] * LANES) for b in range(3)]

        def group(g):
            index = builder.add(startIndex, builder.mul(g, ir.Constant(_I64, LANES)))
            x = _load(builder, pixels, index, _FLOATS)
            below = [builder.fcmp_ordered("<", x, b) for b in lows]
            inCore = builder.fcmp_ordered(">=", x, low), builder.fcmp_ordered("<=", x, high)
            plain = builder.and_(*inCore)
            for lt, h in zip(below, highs, strict=True):
                plain = builder.and_(plain, builder.or_(lt, builder.fcmp_unordered(">", x, h)))
            if hasMask:
                m = builder.and_(_load(builder, maskData, index, _INTS), bits)
                plain = builder.and_(plain, builder.icmp_unsigned("==", m, zero))
            builder.store(builder.not_(builder.bitcast(plain, _I8)), builder.gep(out, [g]))
            counted = None
            for lt, field in zip(below, fields, strict=True):
                one = builder.and_(builder.sext(lt, _INTS), field)
                counted = one if counted is None else builder.or_(counted, one)
            # Special pixels become the shift itself, so d is exactly 0 (no select after
            # the widening, which costs more).
            d = builder.fpext(builder.fsub(builder.select(plain, x, shiftV), shiftV), _DOUBLES)
            return counted, d

        counted, d = group(ir.Constant(_I64, 0))
        counts = cgutils.alloca_once_value(builder, counted)
        r = cgutils.alloca_once_value(builder, d)
        q = cgutils.alloca_once_value(builder, builder.fmul(d, d))
        one = ir.Constant(_I64, 1)
        with cgutils.for_range_slice(builder, one, numGroups, one) as (g, _):
            counted, d = group(g)
            builder.store(builder.add(builder.load(counts), counted), counts)
            builder.store(builder.fadd(builder.load(r), d), r)
            builder.store(builder.fadd(builder.load(q), builder.fmul(d, d)), q)
        packed = builder.load(counts)
        values = [_joined(builder, builder.load(r)), _joined(builder, builder.load(q))]
        for b in range(3):
            field = builder.lshr(packed, ir.Constant(_INTS, [10 * b] * LANES))
            field = builder.and_(field, ir.Constant(_INTS, [1023] * LANES))
            total = builder.extract_element(field, ir.Constant(_I32, 0))
            for j in range(1, LANES):
                total = builder.add(total, builder.extract_element(field, ir.Constant(_I32, j)))
            values.append(builder.zext(total, _I64))
        return context.make_tuple(builder, sig.return_type, values)

    return signature, codegen


@intrinsic
def _sumGroups(typingctx, d, start, groups):
    """Sums of ``groups`` (at least 1) groups of 8 float64 values from ``d[start]`` and of
    their squares, as numpy sums them: eight accumulators, lane ``j`` taking values ``8 k +
    j``, initialised by the first group and joined as in :func:`_joined`."""
    signature = types.UniTuple(types.float64, 2)(d, start, groups)

    def codegen(context, builder, sig, args):
        data = context.make_array(sig.args[0])(context, builder, args[0]).data
        first = _load(builder, data, args[1], _DOUBLES)
        r = cgutils.alloca_once_value(builder, first)
        q = cgutils.alloca_once_value(builder, builder.fmul(first, first))
        one = ir.Constant(_I64, 1)
        with cgutils.for_range_slice(builder, one, args[2], one) as (g, _):
            index = builder.add(args[1], builder.mul(g, ir.Constant(_I64, LANES)))
            v = _load(builder, data, index, _DOUBLES)
            builder.store(builder.fadd(builder.load(r), v), r)
            builder.store(builder.fadd(builder.load(q), builder.fmul(v, v)), q)
        values = [_joined(builder, builder.load(r)), _joined(builder, builder.load(q))]
        return context.make_tuple(builder, sig.return_type, values)

    return signature, codegen


@njit(inline="always")
def _runSums(d, start, length):
    """Sums of ``d[start:start + length]`` and of its squares (``length <= LEAF``) in numpy's
    order: fewer than 8 values added one by one to 0; else eight accumulators ``r[j] +=
    v[8 k + j]`` joined as ``((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))``, then the
    rest."""
    blocked = length - length % LANES
    s1 = 0.0
    s2 = 0.0
    if blocked:
        s1, s2 = _sumGroups(d, start, blocked // LANES)
    for i in range(start + blocked, start + length):
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
def _scanLeaf(chunk, mask, badBits, bits32, start, length, coreLow, coreHigh, l0, h0, l1,
              h1, l2, h2, shift, specialBytes, specialWords, special, specialMasked, count,
              below):  # fmt: skip
    """One run of ``length <= LEAF`` pixels from ``chunk[start]``, as numpy sums a run: its
    whole groups of 8 by :func:`_scanGroups`, the rest one by one after the join (from 0
    when there is no whole group). Copies its special pixels out in order from ``count``
    on, adds to ``below``; returns the new count and the run's two sums."""
    groups = length // LANES
    s1 = 0.0
    s2 = 0.0
    if groups:
        for g in range(groups, LEAF // LANES):
            specialBytes[g] = 0
        s1, s2, c0, c1, c2 = _scanGroups(chunk, mask, bits32, start, groups, coreLow,
                                         coreHigh, l0, h0, l1, h1, l2, h2, shift,
                                         specialBytes)  # fmt: skip
        below[0] += c0
        below[1] += c1
        below[2] += c2
        count = _copyOut(specialWords[0], start, chunk, mask, badBits, special, specialMasked,
                         count)  # fmt: skip
        count = _copyOut(specialWords[1], start + 64, chunk, mask, badBits, special,
                         specialMasked, count)  # fmt: skip
    for i in range(start + groups * LANES, start + length):
        x = chunk[i]
        m = 0 if mask is None else mask[i]
        below[0] += x < l0
        below[1] += x < l1
        below[2] += x < l2
        if _isSpecial(x, m, badBits, coreLow, coreHigh, l0, h0, l1, h1, l2, h2):
            special[count] = x
            if mask is not None:
                specialMasked[count] = (m & badBits) != 0
            count += 1
        else:
            d = np.float64(x - shift)
            s1 += d
            s2 += d * d
    return count, s1, s2


@njit
def _scanChunk(chunk, mask, badBits, coreLow, coreHigh, lows, highs, shift, special,
               specialMasked, below):  # fmt: skip
    """One pass over a chunk of any size: copies the special pixels to ``special`` (and
    whether each is masked to ``specialMasked``), adds the count below each bracket to
    ``below``; returns the number of special pixels and the two sums.

    numpy adds ``n > LEAF`` values as the sum of its first ``n2`` and its other values,
    ``n2`` being ``n // 2`` rounded down to a multiple of 8, recursively. For a power of two
    of at least ``LEAF`` pixels (every chunk of an image but its last) that halves it down
    to runs of exactly ``LEAF``, whose sums are added back up pair by pair; otherwise the
    runs this splitting ends in are walked left to right with an explicit stack, so the
    special pixels come out in order, and each finished pair of sums is joined as numpy
    joins it.
    """
    l0, l1, l2 = lows[0], lows[1], lows[2]
    h0, h1, h2 = highs[0], highs[1], highs[2]
    # (mask & bits32) != 0 in int32 exactly when (int64(mask) & badBits) != 0: the mask's
    # sign bit stands for all the bits from 31 up.
    bits32 = (badBits & 0x7FFFFFFF) | (0x80000000 if badBits >> 31 else 0)
    specialBytes = np.zeros(LEAF // LANES, np.uint8)
    specialWords = specialBytes.view(np.uint64)
    count = 0
    size = chunk.size
    if size >= LEAF and size & (size - 1) == 0:
        numLeaves = size // LEAF
        sums1 = np.empty(numLeaves, np.float64)
        sums2 = np.empty(numLeaves, np.float64)
        for leaf in range(numLeaves):
            count, sums1[leaf], sums2[leaf] = _scanLeaf(
                chunk, mask, badBits, bits32, leaf * LEAF, LEAF, coreLow, coreHigh, l0, h0,
                l1, h1, l2, h2, shift, specialBytes, specialWords, special, specialMasked,
                count, below,
            )  # fmt: skip
        n = numLeaves
        while n > 1:
            n //= 2
            for i in range(n):
                sums1[i] = sums1[2 * i] + sums1[2 * i + 1]
                sums2[i] = sums2[2 * i] + sums2[2 * i + 1]
        return count, sums1[0], sums2[0]
    # Pending nodes (start, length, slot); a slot holds a node's sums once it is finished.
    stackStart = np.empty(128, np.int64)
    stackLength = np.empty(128, np.int64)
    stackSlot = np.empty(128, np.int64)
    # Every run but a lone one holds at least LEAF // 2 - 8 values.
    numNodes = 2 * (size // 56 + 1) + 1
    sums1 = np.zeros(numNodes, np.float64)
    sums2 = np.zeros(numNodes, np.float64)
    filled = np.zeros(numNodes, np.int64)
    parent = np.full(numNodes, -1, np.int64)
    nodes = 1
    stackStart[0], stackLength[0], stackSlot[0] = 0, size, 0
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
        count, sums1[slot], sums2[slot] = _scanLeaf(
            chunk, mask, badBits, bits32, start, length, coreLow, coreHigh, l0, h0, l1, h1,
            l2, h2, shift, specialBytes, specialWords, special, specialMasked, count, below,
        )  # fmt: skip
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
        chunk = pixels[start:stop]
        if mask is None:
            k, c1, c2 = _scanChunk(chunk, None, badBits, coreLow, coreHigh, lows, highs, shift,
                                   special, specialMasked, below)  # fmt: skip
        else:
            k, c1, c2 = _scanChunk(chunk, mask[start:stop], badBits, coreLow, coreHigh, lows,
                                   highs, shift, special, specialMasked, below)  # fmt: skip
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


#: Mask elements per block of :func:`anyMasked` (it stops at the first masked block).
_MASK_BLOCK = 4096


def anyMasked(mask, badBits):
    """:func:`pipetask_stats.scan.anyMasked`: blocks of OR-ed elements, the first block
    holding a masked element ending the search.

    Each full block is a loop of a fixed count with an int32 accumulator, which the
    compiler vectorises (a block bounded by ``min`` and an int64 accumulator ran 20 times
    slower, slower than the scan of the pixels itself); the elements after the last full
    block are OR-ed at the end.
    """
    n = mask.size
    full = n - n % _MASK_BLOCK
    for start in range(0, full, _MASK_BLOCK):
        block = mask[start : start + _MASK_BLOCK]
        seen = np.int32(0)
        for i in range(_MASK_BLOCK):
            seen = np.int32(seen | block[i])
        if np.int64(seen) & badBits:
            return True
    seen = np.int32(0)
    for i in range(full, n):
        seen = np.int32(seen | mask[i])
    return (np.int64(seen) & badBits) != 0


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
        for value in range(radix):
            c = counts[value]
            counts[value] = total
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
    """Each value copied into the bracket(s) holding it, in order: one pass counts them, so
    that the outputs are allocated at their sizes (fresh memory costs a page fault per
    page touched), a second one copies them."""
    l0, l1, l2 = lows[0], lows[1], lows[2]
    h0, h1, h2 = highs[0], highs[1], highs[2]
    n = special.size
    n0 = n1 = n2 = 0
    for i in range(n):
        x = special[i]
        n0 += (x >= l0) & (x <= h0)
        n1 += (x >= l1) & (x <= h1)
        n2 += (x >= l2) & (x <= h2)
    # One spare element each: a value outside a bracket is written past its end.
    out0 = np.empty(n0 + 1, np.float32)
    out1 = np.empty(n1 + 1, np.float32)
    out2 = np.empty(n2 + 1, np.float32)
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
        "anyMasked": (anyMasked, types.boolean(types.Array(types.int32, 1, "C"), i64)),
        "sampleCandidates_m32": (
            sampleCandidates,
            pixels(pixels, types.Array(types.int32, 1, "C"), i64, i64, i64),
        ),
        "sampleCandidates_nomask": (sampleCandidates, pixels(pixels, types.none, i64, i64, i64)),
        "bracketContents": (bracketContents, types.UniTuple(pixels, 3)(pixels, pixels, pixels)),
    }


#: Exported name: (Python function, numba signature), for the ahead-of-time build.
EXPORTS = _signatures()
