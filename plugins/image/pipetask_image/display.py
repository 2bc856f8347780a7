"""Display backend ``png``: a zscale-stretched 8-bit grayscale PNG, no ds9 needed.

The PNG is written by hand (zlib and struct), so nothing beyond numpy and astropy is
needed. Row 0 of the image is drawn at the bottom, as ds9 shows FITS images.
"""

from __future__ import annotations

import os
import re
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np
from pipetask.butler.atomic import writeAtomic

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _pixels(image: Any) -> np.ndarray:
    """The 2-D image plane of an Exposure, a MaskedImage or an array."""
    plane = getattr(image, "image", image)
    array = np.asarray(plane, dtype=np.float32)
    if array.ndim != 2 or array.size == 0:
        raise ValueError(f"can only display a non-empty 2-D image, got shape {array.shape}")
    return array


ZSCALE_SAMPLES = 10_000


def _sample(array: np.ndarray) -> np.ndarray:
    """About ``ZSCALE_SAMPLES`` finite pixels, on a stride that is not a multiple of the
    row length (a stride of whole rows would sample one column, e.g. an overscan)."""
    flat = array.ravel()
    step = max(1, flat.size // ZSCALE_SAMPLES)
    while step > 1 and np.gcd(step, array.shape[1]) != 1:
        step += 1
    values = flat[::step]
    return values[np.isfinite(values)]


def zscaleToBytes(array: np.ndarray) -> np.ndarray:
    """Map pixels to 0..255 with the IRAF zscale limits; non-finite pixels are black."""
    from astropy.visualization import ZScaleInterval

    values = _sample(array)
    if values.size == 0:
        return np.zeros(array.shape, np.uint8)
    low, high = ZScaleInterval(n_samples=values.size).get_limits(values)
    if not high > low:
        low, high = float(values.min()), float(values.max())
    scale = 255.0 / (high - low) if high > low else 0.0
    scaled = (np.nan_to_num(array, nan=low, posinf=high, neginf=low) - low) * scale
    return np.clip(scaled, 0, 255).astype(np.uint8)


def _chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def encodePng(gray: np.ndarray, title: str = "") -> bytes:
    """Encode a uint8 array as an 8-bit PNG (row 0 at the top): grayscale when 2-D,
    RGB when of shape (rows, columns, 3)."""
    height, width = gray.shape[:2]
    colour = gray.ndim == 3
    rowBytes = width * (3 if colour else 1)
    rows = np.empty((height, rowBytes + 1), np.uint8)
    rows[:, 0] = 0  # filter type "none" for every row
    rows[:, 1:] = gray.reshape(height, rowBytes)
    header = struct.pack(">IIBBBBB", width, height, 8, 2 if colour else 0, 0, 0, 0)
    parts = [PNG_SIGNATURE, _chunk(b"IHDR", header)]
    if title:
        parts.append(_chunk(b"tEXt", b"Title\x00" + title.encode("latin-1", "replace")))
    parts.append(_chunk(b"IDAT", zlib.compress(rows.tobytes(), 6)))
    parts.append(_chunk(b"IEND", b""))
    return b"".join(parts)


def _fileName(title: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9._=-]+", "_", title).strip("._") or "image"
    return stem[:120] + ".png"


def show(image: Any, *, title: str, outputDir: str) -> str:
    """Write a zscale-stretched PNG of ``image`` into ``outputDir``; return its path.

    Parameters
    ----------
    image : Exposure, MaskedImage or 2-D array
        What to show (the image plane).
    title : str
        Stored in the PNG and used, made file-name safe, as the file name.
    outputDir : str
        Directory for the PNG; created if missing. The file is written under a temporary
        name and renamed, so readers never see a partial PNG.
    """
    gray = zscaleToBytes(_pixels(image))[::-1]
    data = encodePng(gray, title)
    os.makedirs(outputDir, exist_ok=True)
    path = os.path.join(outputDir, _fileName(title))
    writeAtomic(path, lambda tmp: Path(tmp).write_bytes(data))
    return path
