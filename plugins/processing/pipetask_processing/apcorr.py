"""Aperture correction: bring PSF fluxes onto the scale of the calibration aperture."""

from __future__ import annotations

import numpy as np
from pipetask import Config, Field, RangeField, Struct

from .imaging import enclosedFraction


class MeasureApCorrConfig(Config):
    minSignalToNoise = Field(
        doc="Minimum calibration-aperture S/N of a star used to measure the correction",
        dtype=float,
        default=50.0,
    )
    minStars = RangeField(
        doc="Fewest stars to measure the correction from; with fewer it is computed from the "
        "Gaussian PSF model",
        dtype=int,
        default=5,
        min=1,
    )
    numSigmaClip = Field(
        doc="Clip ratios this many robust sigmas from the median", dtype=float, default=3.0
    )


BAD_FLAGS = (
    "base_PixelFlags_flag_edge",
    "base_PixelFlags_flag_saturated",
    "base_PixelFlags_flag_cr",
    "base_PixelFlags_flag_bad",
    "base_PixelFlags_flag_interpolatedCenter",
    "base_PsfFlux_flag",
    "slot_Centroid_flag",
)


def measureApCorr(
    config: MeasureApCorrConfig, table, calibName: str, calibRadius: float, psfSigma: float
) -> Struct:
    """The factor that turns ``base_PsfFlux`` into the calibration-aperture flux.

    Measured as the clipped median of calibFlux / psfFlux over bright, clean, isolated
    stars (no other source within the calibration radius); from the PSF model (the
    Gaussian's enclosed fraction within ``calibRadius``) when there are too few.
    """
    n = len(table)
    good = np.ones(n, bool)
    if n:
        good &= table["deblend_nChild"] == 0
        for name in BAD_FLAGS:
            good &= ~np.asarray(table[name], bool)
        calib = np.asarray(table[calibName + "_instFlux"], float)
        calibErr = np.asarray(table[calibName + "_instFluxErr"], float)
        psf = np.asarray(table["base_PsfFlux_instFlux"], float)
        good &= ~np.asarray(table[calibName + "_flag"], bool)
        good &= (calibErr > 0) & (calib > config.minSignalToNoise * calibErr) & (psf > 0)
        x = np.asarray(table["slot_Centroid_x"], float)
        y = np.asarray(table["slot_Centroid_y"], float)
        index = np.flatnonzero(good)
        if len(index):
            reach = calibRadius + 4 * psfSigma
            d2 = (x[index, None] - x[None, :]) ** 2 + (y[index, None] - y[None, :]) ** 2
            d2[np.arange(len(index)), index] = np.inf
            good[index] &= d2.min(axis=1) > reach**2
    if good.sum() >= config.minStars:
        ratio = calib[good] / psf[good]
        median = np.median(ratio)
        spread = 1.4826 * np.median(np.abs(ratio - median))
        if spread > 0:
            ratio = ratio[np.abs(ratio - median) <= config.numSigmaClip * spread]
        value = float(np.median(ratio))
        error = float(1.2533 * ratio.std() / np.sqrt(len(ratio))) if len(ratio) > 1 else 0.0
        return Struct(value=value, error=error, nStars=int(len(ratio)), source="stars")
    value = enclosedFraction(calibRadius, psfSigma)
    return Struct(value=value, error=0.0, nStars=int(good.sum()), source="psf")
