"""Report thumbnail of a calexp: the zscale image, shrunk, with its detected sources circled."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from pipetask_image.display import encodePng, zscaleToBytes
from pipetask_image.overlay import drawCircle
from pipetask_image.thumbnail import imagePlane, shrink

from .display import SOURCE_COLOUR


def thumbnail(
    butler: Any, datasetType: str, dataId: Mapping[str, Any], *, size: int
) -> bytes | None:
    """A PNG of the calexp with the sources of its ``src`` catalog circled (deblended
    parents left out), row 0 at the bottom; None if the dataset is not an image."""
    dataId = dict(dataId)
    array = imagePlane(butler.get(datasetType, dataId))
    if array is None:
        return None
    small = shrink(array, size)
    factor = array.shape[1] / small.shape[1]
    canvas = np.repeat(zscaleToBytes(small)[:, :, None], 3, axis=2)
    if butler.datasetExists("src", dataId):
        table = butler.get("src", dataId)
        leaves = np.asarray(table["deblend_nChild"]) == 0
        xs = np.asarray(table["slot_Centroid_x"])[leaves] / factor
        ys = np.asarray(table["slot_Centroid_y"])[leaves] / factor
        for x, y in zip(xs, ys, strict=True):
            drawCircle(canvas, x, y, 3.0, SOURCE_COLOUR)
    return encodePng(canvas[::-1].copy(), f"{datasetType} with sources")
