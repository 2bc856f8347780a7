"""Report thumbnails of any image dataset: a zscale-stretched, block-averaged grayscale PNG."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from .display import encodePng, zscaleToBytes


def shrink(array: np.ndarray, size: int) -> np.ndarray:
    """Block-average a 2-D array so that its longer side is at most ``size`` pixels
    (NaN-aware; edge rows and columns that do not fill a block are dropped)."""
    factor = max(1, -(-max(array.shape) // size))
    if factor == 1:
        return array
    ny, nx = array.shape[0] // factor, array.shape[1] // factor
    blocks = array[: ny * factor, : nx * factor].reshape(ny, factor, nx, factor)
    with np.errstate(invalid="ignore"):
        return np.nanmean(blocks, axis=(1, 3)) if np.isnan(blocks).any() else blocks.mean((1, 3))


def imagePlane(obj: Any) -> np.ndarray | None:
    """The 2-D image plane of an Exposure, MaskedImage or array, or None."""
    plane = getattr(obj, "image", obj)
    try:
        array = np.asarray(plane, dtype=np.float32)
    except (TypeError, ValueError):
        return None
    return array if array.ndim == 2 and array.size else None


def thumbnail(
    butler: Any, datasetType: str, dataId: Mapping[str, Any], *, size: int
) -> bytes | None:
    """A PNG of the dataset's image plane (row 0 at the bottom), or None for non-images."""
    array = imagePlane(butler.get(datasetType, dict(dataId)))
    if array is None:
        return None
    small = shrink(array, size)
    return encodePng(zscaleToBytes(small)[::-1], f"{datasetType}")
