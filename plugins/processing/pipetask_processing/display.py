"""Debug display of a calexp: the mask-plane picture of pipetask-image with the
measured sources circled (deblended parents left out) and counted in the legend."""

from __future__ import annotations

import numpy as np
from pipetask_image.overlay import drawCircle, overlay, withLegend, writePng

#: Colour of the source circles (in the debug PNG and the report thumbnails).
SOURCE_COLOUR = (255, 80, 80)


def render(exposure, table=None, psfFwhm: float = 3.0, title: str = "") -> np.ndarray:
    """The RGB picture (rows, columns, 3) of ``exposure`` with masks, sources and legend."""
    picture, legend = overlay(exposure)
    if table is not None:
        radius = max(4.0, 2.0 * psfFwhm)
        leaves = np.asarray(table["deblend_nChild"]) == 0 if len(table) else np.zeros(0, bool)
        xs = np.asarray(table["slot_Centroid_x"])[leaves]
        ys = np.asarray(table["slot_Centroid_y"])[leaves]
        top = picture.shape[0] - 1  # the picture has row 0 at the bottom
        for x, y in zip(xs, ys, strict=True):
            drawCircle(picture, x, top - y, radius, SOURCE_COLOUR)
        legend.append(("SOURCES", SOURCE_COLOUR, int(leaves.sum())))
    return withLegend(picture, legend, title)


def showSources(exposure, table, *, title: str, outputDir: str, psfFwhm: float = 3.0) -> str:
    """Write the PNG of :func:`render` into ``outputDir`` (atomically); return its path."""
    return writePng(render(exposure, table, psfFwhm, title), title=title, outputDir=outputDir)
