"""Debug pictures of exposures: the image with its mask planes overlaid, marks, a legend.

What ds9 showed LSST users, as a PNG: the image in grey (zscale), each mask plane set on a
pixel tinting it in the plane's colour (the later plane of the list wins where several are
set), optional circles (sources), and a legend strip under the image with the title and
each plane's colour, name and pixel count. Row 0 of the image is drawn at the bottom, as
ds9 does. The ISR and processCcd displays are both made here.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from pipetask.butler.atomic import writeAtomic

from .display import _fileName, encodePng, zscaleToBytes
from .font import HEIGHT, drawText

#: Plane -> RGB, in drawing order (LSST's ds9 colours where it had them).
PLANE_COLOURS: dict[str, tuple[int, int, int]] = {
    "DETECTED": (0, 0, 255),
    "DETECTED_NEGATIVE": (0, 255, 255),
    "EDGE": (255, 255, 0),
    "SUSPECT": (160, 82, 45),
    "NO_DATA": (128, 128, 128),
    "CR": (255, 0, 255),
    "INTRP": (0, 200, 0),
    "SAT": (255, 160, 0),
    "BAD": (255, 0, 0),
}
_EXTRA = [(128, 0, 255), (0, 128, 128), (128, 128, 0), (255, 128, 192)]
OPACITY = 0.6
_SCALE = 2

#: A legend line: (name, RGB colour, count).
LegendEntry = tuple[str, tuple[int, int, int], int]


def overlay(exposure: Any) -> tuple[np.ndarray, list[LegendEntry]]:
    """RGB pixels (row 0 at the bottom) and the legend entries ``(plane, colour, count)``."""
    mi = getattr(exposure, "maskedImage", exposure)
    gray = zscaleToBytes(np.asarray(mi.image, np.float32))
    rgb = np.repeat(gray[:, :, None], 3, axis=2).astype(np.float32)
    mask = np.asarray(mi.mask)
    planes = mi.getMaskPlaneDict()
    order = [p for p in PLANE_COLOURS if p in planes] + sorted(
        p for p in planes if p not in PLANE_COLOURS
    )
    legend = []
    extra = iter(_EXTRA * 8)
    for name in order:
        colour = PLANE_COLOURS.get(name) or next(extra)
        hit = (mask & (1 << planes[name])) != 0
        count = int(hit.sum())
        if count:
            rgb[hit] = (1 - OPACITY) * rgb[hit] + OPACITY * np.array(colour, np.float32)
        legend.append((name, colour, count))
    return np.clip(rgb, 0, 255).astype(np.uint8)[::-1].copy(), legend


def drawCircle(canvas: np.ndarray, x: float, y: float, radius: float, colour) -> None:
    """A one-pixel circle on an RGB ``canvas`` at column ``x``, row ``y`` (clipped)."""
    angles = np.linspace(0, 2 * np.pi, max(16, int(8 * radius)), endpoint=False)
    cols = np.rint(x + radius * np.cos(angles)).astype(int)
    rows = np.rint(y + radius * np.sin(angles)).astype(int)
    keep = (rows >= 0) & (rows < canvas.shape[0]) & (cols >= 0) & (cols < canvas.shape[1])
    canvas[rows[keep], cols[keep]] = colour


def withLegend(picture: np.ndarray, legend: Iterable[LegendEntry], title: str) -> np.ndarray:
    """``picture`` above a white strip with ``title`` and one line per legend entry."""
    legend = list(legend)
    height, width = picture.shape[:2]
    lineHeight = (HEIGHT + 3) * _SCALE
    strip = np.full(
        (lineHeight * (1 + len(legend)) + 2 * _SCALE, max(width, 300), 3), 255, np.uint8
    )
    drawText(strip, title, 2 * _SCALE, _SCALE, (0, 0, 0), _SCALE)
    for i, (name, colour, count) in enumerate(legend, start=1):
        y = i * lineHeight + _SCALE
        strip[y : y + HEIGHT * _SCALE, 2 * _SCALE : 8 * _SCALE] = colour
        drawText(strip, f"{name} {count}", 10 * _SCALE, y, (0, 0, 0), _SCALE)
    canvas = np.full((height + strip.shape[0], strip.shape[1], 3), 255, np.uint8)
    canvas[:height, :width] = picture
    canvas[height:] = strip
    return canvas


def writePng(canvas: np.ndarray, *, title: str, outputDir: str) -> str:
    """Write the RGB ``canvas`` as a PNG named after ``title`` into ``outputDir``
    (created if missing; written under a temporary name and renamed); return its path."""
    data = encodePng(canvas, title)
    os.makedirs(outputDir, exist_ok=True)
    path = os.path.join(outputDir, _fileName(title))
    writeAtomic(path, lambda tmp: Path(tmp).write_bytes(data))
    return path


def showWithMasks(exposure: Any, *, title: str, outputDir: str) -> str:
    """The PNG of ``exposure`` with its mask planes and legend; returns its path."""
    picture, legend = overlay(exposure)
    return writePng(withLegend(picture, legend, title), title=title, outputDir=outputDir)
