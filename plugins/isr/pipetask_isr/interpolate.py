"""Interpolation over masked pixels along rows (as LSST's ISR did over defects)."""

from __future__ import annotations

import numpy as np


def interpolateOverMask(image: np.ndarray, bad: np.ndarray) -> int:
    """Replace ``bad`` pixels of ``image`` (in place) by linear interpolation along their
    row between the nearest good pixels on either side (the one good side's value at a
    row's end); a row with no good pixel gets the median of the good pixels.

    Returns the number of pixels replaced.
    """
    rows = np.nonzero(bad.any(axis=1))[0]
    if rows.size == 0:
        return 0
    sub = bad[rows]
    width = image.shape[1]
    columns = np.arange(width)
    # nearest good column to the left and to the right of every pixel (-1 / width: none)
    left = np.maximum.accumulate(np.where(sub, -1, columns), axis=1)
    right = np.minimum.accumulate(np.where(sub, width, columns)[:, ::-1], axis=1)[:, ::-1]
    r, c = np.nonzero(sub)
    lo, hi = left[r, c], right[r, c]
    values = image[rows]
    hasLo, hasHi = lo >= 0, hi < width
    vLo = values[r, np.where(hasLo, lo, 0)]
    vHi = values[r, np.where(hasHi, hi, 0)]
    span = np.where(hasLo & hasHi, hi - lo, 1)
    weight = np.where(hasLo & hasHi, (c - lo) / span, 0.0)
    filled = np.where(hasLo, vLo, vHi) * (1 - weight) + np.where(hasHi, vHi, vLo) * weight
    empty = ~(hasLo | hasHi)
    if empty.any():
        good = ~bad
        filled[empty] = float(np.median(image[good])) if good.any() else 0.0
    values[r, c] = filled
    image[rows] = values
    return int(r.size)
