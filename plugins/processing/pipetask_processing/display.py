"""Debug display of a calexp: zscale image, mask planes in colour, sources circled, legend.

Colours follow what LSST's display showed in ds9. Row 0 is drawn at the bottom.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from pipetask.butler.atomic import writeAtomic
from pipetask_image.display import encodePng, zscaleToBytes

#: Mask plane -> RGB, in drawing order (later planes drawn over earlier ones).
MASK_COLOURS = {
    "DETECTED": (40, 90, 255),
    "INTRP": (0, 200, 0),
    "SAT": (0, 255, 0),
    "BAD": (255, 0, 0),
    "CR": (255, 0, 255),
    "EDGE": (255, 255, 0),
    "NO_DATA": (255, 165, 0),
}
SOURCE_COLOUR = (255, 80, 80)
ALPHA = 0.45

# A 3x5 pixel font for the legend: five rows per glyph, "#" lit.
_FONT = {
    "A": (".#.", "#.#", "###", "#.#", "#.#"),
    "B": ("##.", "#.#", "##.", "#.#", "##."),
    "C": (".##", "#..", "#..", "#..", ".##"),
    "D": ("##.", "#.#", "#.#", "#.#", "##."),
    "E": ("###", "#..", "##.", "#..", "###"),
    "G": (".##", "#..", "#.#", "#.#", ".##"),
    "I": ("###", ".#.", ".#.", ".#.", "###"),
    "N": ("#.#", "###", "###", "#.#", "#.#"),
    "O": (".#.", "#.#", "#.#", "#.#", ".#."),
    "P": ("##.", "#.#", "##.", "#..", "#.."),
    "R": ("##.", "#.#", "##.", "#.#", "#.#"),
    "S": (".##", "#..", ".#.", "..#", "##."),
    "T": ("###", ".#.", ".#.", ".#.", ".#."),
    "U": ("#.#", "#.#", "#.#", "#.#", ".#."),
    "_": ("...", "...", "...", "...", "###"),
    " ": ("...", "...", "...", "...", "..."),
}


def _glyph(char: str) -> np.ndarray:
    rows = _FONT.get(char, _FONT[" "])
    return np.array([[c == "#" for c in row] for row in rows], bool)


def _text(canvas: np.ndarray, text: str, x: int, y: int, scale: int, colour) -> None:
    for i, char in enumerate(text.upper()):
        glyph = np.kron(_glyph(char), np.ones((scale, scale), bool))
        x0 = x + i * 4 * scale
        h, w = glyph.shape
        region = canvas[y : y + h, x0 : x0 + w]
        region[glyph[: region.shape[0], : region.shape[1]]] = colour


def _circle(canvas: np.ndarray, x: float, y: float, radius: float, colour) -> None:
    angles = np.linspace(0, 2 * np.pi, max(16, int(8 * radius)), endpoint=False)
    cols = np.rint(x + radius * np.cos(angles)).astype(int)
    rows = np.rint(y + radius * np.sin(angles)).astype(int)
    keep = (rows >= 0) & (rows < canvas.shape[0]) & (cols >= 0) & (cols < canvas.shape[1])
    canvas[rows[keep], cols[keep]] = colour


def render(exposure, table=None, psfFwhm: float = 3.0) -> np.ndarray:
    """The RGB picture (rows, columns, 3) of ``exposure`` with masks, sources and legend."""
    mi = exposure.maskedImage
    gray = zscaleToBytes(mi.image).astype(np.float32)
    rgb = np.repeat(gray[:, :, None], 3, axis=2)
    shown = []
    for plane, colour in MASK_COLOURS.items():
        if plane not in mi.maskPlanes:
            continue
        hit = (mi.mask & mi.getPlaneBitMask(plane)) != 0
        if hit.any():
            rgb[hit] = (1 - ALPHA) * rgb[hit] + ALPHA * np.array(colour, np.float32)
            shown.append((plane, colour))
    canvas = rgb.astype(np.uint8)
    if table is not None and len(table):
        radius = max(4.0, 2.0 * psfFwhm)
        leaves = np.asarray(table["deblend_nChild"]) == 0
        for x, y in zip(
            np.asarray(table["slot_Centroid_x"])[leaves],
            np.asarray(table["slot_Centroid_y"])[leaves],
            strict=True,
        ):
            _circle(canvas, x, y, radius, SOURCE_COLOUR)
        shown.append(("SOURCE", SOURCE_COLOUR))
    canvas = canvas[::-1].copy()  # row 0 at the bottom, as ds9 shows FITS images
    return _withLegend(canvas, shown)


def _withLegend(canvas: np.ndarray, entries) -> np.ndarray:
    scale = max(1, canvas.shape[1] // 400)
    height = 9 * scale
    strip = np.zeros((height, canvas.shape[1], 3), np.uint8)
    x = 2 * scale
    for name, colour in entries:
        strip[2 * scale : 7 * scale, x : x + 5 * scale] = colour
        _text(strip, name, x + 7 * scale, 2 * scale, scale, (255, 255, 255))
        x += (len(name) * 4 + 12) * scale
    return np.concatenate([strip, canvas], axis=0)


def showSources(exposure, table, *, title: str, outputDir: str, psfFwhm: float = 3.0) -> str:
    """Write the PNG of :func:`render` into ``outputDir`` (atomically); return its path."""
    import re

    data = encodePng(render(exposure, table, psfFwhm), title)
    os.makedirs(outputDir, exist_ok=True)
    stem = re.sub(r"[^A-Za-z0-9._=-]+", "_", title).strip("._") or "calexp"
    path = os.path.join(outputDir, stem[:120] + ".png")
    writeAtomic(path, lambda tmp: Path(tmp).write_bytes(data))
    return path
