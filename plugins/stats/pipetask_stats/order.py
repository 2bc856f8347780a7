"""Quantiles by linear interpolation between order statistics, and float32 clip windows."""

from __future__ import annotations

import math

import numpy as np

#: Fractions of the first quartile, the median and the third quartile.
QUARTILE_FRACTIONS = (0.25, 0.5, 0.75)

_FLT_MAX = float(np.finfo(np.float32).max)


def interpolationRanks(n: int, fraction: float) -> tuple[int, int, float]:
    """0-based ranks ``(i, j)`` and weight ``t`` of the quantile at ``fraction * (n - 1)``.

    ``j = min(i + 1, n - 1)``; the quantile is ``lerp(x[i], x[j], t)`` of the sorted data.
    """
    position = fraction * (n - 1)
    i = math.floor(position)
    return i, min(i + 1, n - 1), position - i


def lerp(a: float, b: float, t: float) -> float:
    """``a + (b - a) t``, exact at both ends (the form numpy's 'linear' percentile uses)."""
    diff = b - a
    if t >= 0.5:
        return b - diff * (1.0 - t)
    return a + diff * t


def _inside(x: np.float32, center: float, halfWidth: float) -> bool:
    return abs(float(x) - center) <= halfWidth


def _edge(center: float, halfWidth: float, direction: int) -> np.float32 | None:
    outward = np.float32(direction * math.inf)
    inward = np.float32(-direction * math.inf)
    start = min(max(center + direction * halfWidth, -_FLT_MAX), _FLT_MAX)
    x = np.float32(start)
    if not np.isfinite(x):
        x = np.float32(math.copysign(_FLT_MAX, start))
    for _ in range(1000):
        if _inside(x, center, halfWidth):
            step = np.nextafter(x, outward)
            if not np.isfinite(step) or not _inside(step, center, halfWidth):
                return x
            x = step
        elif direction * (float(x) - center) < 0:
            return None  # outside and already past the center: no float32 is inside
        else:
            x = np.nextafter(x, inward)
    raise RuntimeError(f"no float32 edge found for {center!r} +- {halfWidth!r}")


def float32Window(center: float, halfWidth: float) -> tuple[np.float32, np.float32] | None:
    """The float32 values ``x`` with ``|x - center| <= halfWidth`` (evaluated in float64).

    They form an interval; return its ends ``(low, high)``, or None when it is empty.
    Comparing float32 pixels with these ends selects exactly the pixels the float64 test
    selects, without converting any pixel.
    """
    if not (halfWidth >= 0.0) or not math.isfinite(center):
        return None
    low = _edge(center, halfWidth, -1)
    high = _edge(center, halfWidth, +1)
    if low is None or high is None or low > high:
        return None
    return low, high
