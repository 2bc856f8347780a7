"""Combining frames pixel by pixel: the clipped mean of master calibrations."""

from __future__ import annotations

import numpy as np


def clippedMeanStack(
    frames: list[np.ndarray], numSigmaClip: float = 3.0, numIter: int = 3
) -> np.ndarray:
    """The per-pixel mean of ``frames`` after iterative clipping at ``numSigmaClip``.

    The first pass clips about the per-pixel median with a robust scatter (the
    interquartile range of the stack, or of all pixels' deviations when the stack is too
    short for quartiles); later passes about the clipped mean with the clipped standard
    deviation. A pixel rejected in every frame gets the plain median.
    """
    stack = np.stack([np.asarray(f, np.float64) for f in frames])
    if len(frames) == 1:
        return stack[0].astype(np.float32)
    centre = np.median(stack, axis=0)
    deviation = stack - centre
    # A robust scatter per pixel is too noisy with a handful of frames: use the scatter of
    # all deviations (frames of one kind share their noise level, up to the signal).
    q1, q3 = np.percentile(deviation, [25, 75], axis=0)
    perPixel = 0.741301109252802 * (q3 - q1)
    globalScale = float(np.median(perPixel)) or float(np.std(deviation))
    scale = (
        np.maximum(perPixel, globalScale) if len(frames) >= 5 else np.full_like(centre, globalScale)
    )
    keep = np.abs(deviation) <= numSigmaClip * scale
    for _ in range(max(0, numIter - 1)):
        count = keep.sum(axis=0)
        safe = np.maximum(count, 1)
        mean = np.where(keep, stack, 0.0).sum(axis=0) / safe
        var = np.where(keep, (stack - mean) ** 2, 0.0).sum(axis=0) / np.maximum(count - 1, 1)
        sigma = np.sqrt(np.maximum(var, globalScale**2 * 0.25))
        keep = np.abs(stack - mean) <= numSigmaClip * sigma
    count = keep.sum(axis=0)
    mean = np.where(keep, stack, 0.0).sum(axis=0) / np.maximum(count, 1)
    return np.where(count > 0, mean, centre).astype(np.float32)
