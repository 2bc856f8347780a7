"""Footprints: the pixels of detected sources, as a label image, with one peak each."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Footprints:
    """Detected (or deblended) sources.

    Attributes
    ----------
    labels : ndarray of int32
        Label image: 0 where there is no source, ``i + 1`` on the pixels of source ``i``.
    xPeak, yPeak : ndarray of int
        Column and row of each source's peak (its brightest pixel in the smoothed image).
    xCenter, yCenter : ndarray of float, optional
        Sub-pixel peak positions (deblended children: the centre their measurement uses,
        since a window around a child would take in its neighbours' light).
    parent : ndarray of int
        For deblended children, the index of the detection footprint each came from;
        for detections, ``-1``.
    """

    labels: np.ndarray
    xPeak: np.ndarray
    yPeak: np.ndarray
    parent: np.ndarray = field(default_factory=lambda: np.zeros(0, int))
    xCenter: np.ndarray | None = None
    yCenter: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.xPeak = np.asarray(self.xPeak, int)
        self.yPeak = np.asarray(self.yPeak, int)
        if len(self.parent) != len(self.xPeak):
            self.parent = np.full(len(self.xPeak), -1, int)

    def __len__(self) -> int:
        return len(self.xPeak)

    def area(self) -> np.ndarray:
        """Number of pixels of each source."""
        return np.bincount(self.labels.ravel(), minlength=len(self) + 1)[1 : len(self) + 1]

    def anyOf(self, flags: np.ndarray) -> np.ndarray:
        """For each source, whether any of its pixels has ``flags`` true."""
        hits = np.bincount(self.labels[flags], minlength=len(self) + 1)
        return hits[1 : len(self) + 1] > 0

    @classmethod
    def empty(cls, shape: tuple[int, int]) -> Footprints:
        """No sources on an image of ``shape``."""
        return cls(np.zeros(shape, np.int32), np.zeros(0, int), np.zeros(0, int))


def subpixelPeaks(image: np.ndarray, xPeak: np.ndarray, yPeak: np.ndarray):
    """Peaks refined by a parabola through the 3 pixels along each axis."""
    rows, cols = image.shape
    x = np.clip(xPeak, 1, cols - 2)
    y = np.clip(yPeak, 1, rows - 2)
    centre = image[y, x]

    def offset(minus, plus):
        curvature = minus - 2 * centre + plus
        step = np.where(
            curvature < 0, 0.5 * (minus - plus) / np.where(curvature < 0, curvature, -1), 0
        )
        return np.clip(step, -0.5, 0.5)

    dx = offset(image[y, x - 1], image[y, x + 1])
    dy = offset(image[y - 1, x], image[y + 1, x])
    return x + dx, y + dy
