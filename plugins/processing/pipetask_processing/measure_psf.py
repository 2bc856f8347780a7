"""PSF measurement (LSST's ``MeasurePsfTask``): a circular Gaussian width from bright stars.

Candidates are bright detections with no flagged pixel (SAT, BAD, CR, INTRP, EDGE) and no
other detection peak nearby. Their adaptive second moments give a width each; widths more
than ``nSigmaClip`` robust sigmas from the median are dropped and the rest averaged. With
fewer than ``minStars`` stars the configured ``fallbackFwhm`` is used, and the log, the
calexp's metadata and the catalog's header say so.
"""

from __future__ import annotations

import numpy as np
from pipetask import Config, Field, ListField, RangeField, Struct, Task

from .footprints import Footprints
from .imaging import SIGMA_TO_FWHM, adaptiveMoments


class MeasurePsfConfig(Config):
    fallbackFwhm = RangeField(
        doc="FWHM (pixels) of the Gaussian PSF used when the PSF cannot be measured (LSST's "
        "installSimplePsf default)",
        dtype=float,
        default=1.5 * SIGMA_TO_FWHM,
        min=0.5,
    )
    minStars = RangeField(
        doc="Fewest stars from which a PSF width is measured", dtype=int, default=5, min=1
    )
    maxStars = RangeField(doc="Most (brightest) candidates measured", dtype=int, default=200, min=1)
    nSigmaClip = Field(
        doc="Keep widths within this many sigma of the median", dtype=float, default=2.0
    )
    widthMin = Field(doc="Minimum width (sigma, pixels) of a star", dtype=float, default=0.3)
    widthMax = Field(doc="Maximum width (sigma, pixels) of a star", dtype=float, default=10.0)
    isolation = Field(
        doc="No other detection peak may lie within this many PSF FWHMs of a star",
        dtype=float,
        default=3.0,
    )
    badMaskPlanes = ListField(
        doc="A candidate with any of these planes in its footprint is rejected",
        dtype=str,
        default=["SAT", "BAD", "CR", "INTRP", "EDGE", "NO_DATA"],
    )


class MeasurePsfTask(Task):
    """Measure a Gaussian PSF width from the bright isolated stars of an exposure."""

    ConfigClass = MeasurePsfConfig
    _DefaultName = "measurePsf"

    def run(self, exposure, footprints: Footprints, sigmaGuess: float) -> Struct:
        """Returns ``Struct(sigma, fwhm, nStars, fallback)``."""
        cfg = self.config
        mi = exposure.maskedImage
        rows, cols = mi.shape
        candidates = np.ones(len(footprints), bool)
        planes = [p for p in cfg.badMaskPlanes if p in mi.maskPlanes]
        if planes and len(footprints):
            candidates &= ~footprints.anyOf((mi.mask & mi.getPlaneBitMask(planes)) != 0)
        x, y = footprints.xPeak.astype(float), footprints.yPeak.astype(float)
        border = int(np.ceil(4 * sigmaGuess)) + 1
        candidates &= (x >= border) & (y >= border) & (x < cols - border) & (y < rows - border)
        index = np.flatnonzero(candidates)
        if len(index) > 4 * cfg.maxStars:  # the brightest, before the pairwise distances
            peak = mi.image[footprints.yPeak[index], footprints.xPeak[index]]
            index = index[np.argsort(-peak)[: 4 * cfg.maxStars]]
        if len(footprints) > 1 and len(index):
            radius = cfg.isolation * sigmaGuess * SIGMA_TO_FWHM
            d2 = (x[index, None] - x[None, :]) ** 2 + (y[index, None] - y[None, :]) ** 2
            d2[np.arange(len(index)), index] = np.inf
            index = index[d2.min(axis=1) > radius**2]
        if len(index) > cfg.maxStars:
            peak = mi.image[footprints.yPeak[index], footprints.xPeak[index]]
            index = index[np.argsort(-peak)[: cfg.maxStars]]
        widths = np.zeros(0)
        if len(index):
            _, _, xx, yy, xy, ok = adaptiveMoments(
                np.nan_to_num(mi.image), x[index], y[index], sigmaGuess
            )
            widths = np.sqrt(0.5 * (xx + yy))[ok]
            widths = widths[(widths >= cfg.widthMin) & (widths <= cfg.widthMax)]
        if len(widths) >= cfg.minStars:
            median = np.median(widths)
            spread = 1.4826 * np.median(np.abs(widths - median))
            if spread > 0:
                widths = widths[np.abs(widths - median) <= cfg.nSigmaClip * spread]
        if len(widths) < cfg.minStars:
            sigma = cfg.fallbackFwhm / SIGMA_TO_FWHM
            self.log.warning(
                "PSF not measured: %d usable stars, fewer than minStars=%d; using the fallback "
                "Gaussian of FWHM %.3f pixels (measurePsf.fallbackFwhm)",
                len(widths),
                cfg.minStars,
                cfg.fallbackFwhm,
            )
            return Struct(
                sigma=sigma, fwhm=cfg.fallbackFwhm, nStars=int(len(widths)), fallback=True
            )
        sigma = float(np.mean(widths))
        self.log.info(
            "PSF sigma %.4f pixels (FWHM %.3f) from %d stars",
            sigma,
            sigma * SIGMA_TO_FWHM,
            len(widths),
        )
        return Struct(
            sigma=sigma, fwhm=sigma * SIGMA_TO_FWHM, nStars=int(len(widths)), fallback=False
        )
