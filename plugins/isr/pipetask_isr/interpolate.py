"""Interpolation over masked pixels along rows (as LSST's ISR did over defects)."""

from __future__ import annotations

import numpy as np


def interpolateOverMask(image: np.ndarray, bad: np.ndarray) -> int:
    """Replace ``bad`` pixels of ``image`` (in place) by linear interpolation along their
    row between the nearest good pixels; a row with no good pixel gets the image median.

    Returns the number of pixels replaced.
    """
    rowsWithBad = np.nonzero(bad.any(axis=1))[0]
    if rowsWithBad.size == 0:
        return 0
    columns = np.arange(image.shape[1])
    fallback = None
    for row in rowsWithBad:
        badRow = bad[row]
        good = ~badRow
        if good.any():
            image[row, badRow] = np.interp(columns[badRow], columns[good], image[row, good])
        else:
            if fallback is None:
                fallback = float(np.median(image[~bad])) if (~bad).any() else 0.0
            image[row] = fallback
    return int(bad.sum())
