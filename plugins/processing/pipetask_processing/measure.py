"""Per-CCD numbers for the report's per-visit plots, read from what processCcd wrote.

Each function has the ``pipetask_measurers`` contract: ``(butler, datasetType, dataId)``
-> ``{"name (unit)": value}``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from pipetask_image.fits_camera import readHeader
from pipetask_image.thumbnail import imagePlane


def sourceCount(butler: Any, datasetType: str, dataId: Mapping[str, Any]) -> dict[str, float]:
    """The number of rows of the source catalog (deblended parents included, as in the
    task's ``numSources`` metadata)."""
    return {"sources": float(len(butler.get(datasetType, dict(dataId))))}


def psfAndBackground(butler: Any, datasetType: str, dataId: Mapping[str, Any]) -> dict[str, float]:
    """The PSF FWHM from the calexp's header (no pixels read) and the median of the
    subtracted background model (``calexpBackground``) when it was stored."""
    dataId = dict(dataId)
    found: dict[str, float] = {}
    header = readHeader(str(butler.getUri(datasetType, dataId)), 0)
    fwhm = header.get("PSF_FWHM")
    if isinstance(fwhm, (int, float)) and math.isfinite(fwhm):
        found["PSF FWHM (px)"] = float(fwhm)
    if butler.datasetExists("calexpBackground", dataId):
        background = butler.get("calexpBackground", dataId)
        plane = imagePlane(background)
        if plane is not None:
            unit = str(background.metadata.get("BUNIT", "") or "ADU").strip() or "ADU"
            found[f"background ({unit})"] = float(np.nanmedian(plane))
    return found
