"""Cosmic-ray repair (LSST's ``RepairTask``): astroscrappy's L.A.Cosmic, or none.

Cosmic-ray pixels get the CR mask plane and, with ``doInterpolate``, are replaced by the
mean of their good neighbours and get INTRP too.
"""

from __future__ import annotations

import numpy as np
from pipetask import Config, ConfigField, Field, ListField, RangeField, Struct, Task, TaskError

from .backends import requireLibrary
from .imaging import dilate

#: Pixels mirrored around the image for the cosmic-ray search.
EDGE_MARGIN = 4


class CosmicRayConfig(Config):
    """L.A.Cosmic parameters (astroscrappy's names) and LSST's pixel limit."""

    sigclip = Field(
        doc="Laplacian-to-noise limit for cosmic-ray detection (LSST's minSigma, 6; "
        "astroscrappy's own default 4.5 flags about 50 noise pixels per megapixel)",
        dtype=float,
        default=6.0,
    )
    sigfrac = Field(
        doc="Fraction of sigclip used for the pixels next to a cosmic ray",
        dtype=float,
        default=0.3,
    )
    objlim = Field(
        doc="Minimum contrast between the Laplacian image and the fine-structure image "
        "(raise it if the cores of stars are flagged)",
        dtype=float,
        default=5.0,
    )
    niteration = RangeField(doc="Number of iterations", dtype=int, default=4, min=1)
    nCrPixelMax = RangeField(
        doc="Maximum number of contaminated pixels; more is an error",
        dtype=int,
        default=10000,
        min=1,
    )
    ignoredMask = ListField(
        doc="Mask planes whose pixels are neither searched nor used",
        dtype=str,
        default=["SAT", "NO_DATA"],
    )
    ignoredGrow = RangeField(
        doc="Grow the ignored pixels by this many pixels (the sharp edges of interpolated "
        "saturated cores look like cosmic rays)",
        dtype=int,
        default=2,
        min=0,
    )


class RepairConfig(Config):
    doInterpolate = Field(doc="Interpolate over cosmic rays?", dtype=bool, default=True)
    doCosmicRay = Field(doc="Find and mask out cosmic rays?", dtype=bool, default=True)
    cosmicray = ConfigField(
        doc="Options for finding and masking cosmic rays", dtype=CosmicRayConfig
    )


class AstroscrappyRepairTask(Task):
    """Find cosmic rays with astroscrappy (L.A.Cosmic), mask and interpolate them."""

    ConfigClass = RepairConfig
    _DefaultName = "repair"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._scrappy = requireLibrary("astroscrappy", self.getFullName())

    def run(self, exposure, background=None) -> Struct:
        """Mask (and repair) the cosmic rays of ``exposure`` in place.

        ``background`` is the sky the image no longer holds (None if it still holds it):
        the noise model needs the sky. Returns ``Struct(nCrPixels=...)``.
        """
        if not self.config.doCosmicRay:
            return Struct(nCrPixels=0)
        cfg = self.config.cosmicray
        mi = exposure.maskedImage
        planes = [p for p in cfg.ignoredMask if p in mi.maskPlanes]
        ignored = ~np.isfinite(mi.image)
        if planes:
            ignored |= (mi.mask & mi.getPlaneBitMask(planes)) != 0
            ignored = dilate(ignored, cfg.ignoredGrow)
        variance = mi.variance
        goodVar = np.isfinite(variance) & (variance > 0) & ~ignored
        if not goodVar.any():
            raise TaskError(
                "repair: the variance plane has no positive value; cannot model "
                "the noise to find cosmic rays"
            )
        fill = float(np.median(variance[goodVar]))
        invar = np.where(goodVar, variance, fill).astype(np.float32)
        data = np.nan_to_num(mi.image).astype(np.float32)
        sky = None if background is None else np.asarray(background, np.float32)
        if sky is not None:
            data = data + sky
        # Mirror a margin around the image, so that the Laplacian sees a cosmic ray on the
        # edge as sharp as one inside.
        pad = EDGE_MARGIN
        crMask, cleaned = self._scrappy.detect_cosmics(
            np.pad(data, pad, mode="reflect"),
            inmask=np.pad(ignored, pad, mode="reflect"),
            invar=np.pad(invar, pad, mode="reflect"),
            sigclip=cfg.sigclip,
            sigfrac=cfg.sigfrac,
            objlim=cfg.objlim,
            gain=1.0,
            readnoise=0.0,
            satlevel=np.inf,
            niter=cfg.niteration,
            cleantype="meanmask",
        )
        crMask = crMask[pad:-pad, pad:-pad]
        cleaned = cleaned[pad:-pad, pad:-pad]
        crMask &= ~ignored
        count = int(crMask.sum())
        if count > cfg.nCrPixelMax:
            raise TaskError(
                f"repair: {count} cosmic-ray pixels found, more than cosmicray.nCrPixelMax="
                f"{cfg.nCrPixelMax}; the image is not what L.A.Cosmic expects"
            )
        mi.mask[crMask] |= 1 << mi.addMaskPlane("CR")
        if self.config.doInterpolate and count:
            repaired = cleaned if sky is None else cleaned - sky
            mi.image[crMask] = repaired[crMask]
            mi.mask[crMask] |= 1 << mi.addMaskPlane("INTRP")
        self.log.info("Identified %d cosmic-ray pixels", count)
        return Struct(nCrPixels=count)


class NoRepairConfig(Config):
    """No fields: nothing is repaired."""


class NoRepairTask(Task):
    """Leave cosmic rays alone (the ``noRepair`` retarget)."""

    ConfigClass = NoRepairConfig
    _DefaultName = "repair"

    def run(self, exposure, background=None) -> Struct:
        self.log.info("Cosmic-ray repair is off (repair retargeted to noRepair)")
        return Struct(nCrPixels=0)
