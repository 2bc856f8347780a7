"""Simulated frames for the processing tests, with an exact ISR done from the truth.

The obs_synth simulator records what it injected (bias level and pattern, flat pattern,
gain, dead column); :func:`postIsrFromTruth` undoes exactly that, so the processing tests
measure the processing alone, independent of the ISR's own errors. Images are electrons.
"""

from __future__ import annotations

import numpy as np


def interpolateRows(image: np.ndarray, bad: np.ndarray) -> None:
    """Replace ``bad`` pixels by linear interpolation along their rows (in place)."""
    columns = np.arange(image.shape[1])
    for row in np.flatnonzero(bad.any(axis=1)):
        good = ~bad[row]
        if good.sum() >= 2:
            image[row, ~good] = np.interp(columns[~good], columns[good], image[row, good])


def postIsrFromTruth(visit: int, ccd: int, size: int = 256, seed: int = 0):
    """An obs_synth science frame after a perfect ISR: (Exposure, truth)."""
    from astropy.io import fits
    from obs_synth.simulate import biasPattern, flatPattern, simulateFrame
    from pipetask_image import Exposure, MaskedImage

    pixels, header, truth = simulateFrame(visit, ccd, size=size, seed=seed)
    raw = pixels[:, :size].astype(np.float64)
    gain = truth["gain"]
    flat = flatPattern(ccd, truth["filter"], size, seed)
    adu = raw - truth["biasLevel"] - biasPattern(ccd, size, seed)
    electrons = adu * gain / flat
    readNoise = truth["readNoise"]
    variance = np.clip(electrons * flat, 0, None) / flat**2 + (readNoise / flat) ** 2
    mi = MaskedImage(electrons, variance=variance)
    sat = raw >= truth["saturation"]
    bad = np.zeros_like(sat)
    bad[:, truth["badColumn"]] = True
    mi.mask[sat] |= mi.getPlaneBitMask("SAT")
    mi.mask[bad] |= mi.getPlaneBitMask("BAD")
    interpolateRows(mi.image, sat | bad)
    mi.mask[sat | bad] |= mi.getPlaneBitMask("INTRP")
    meta = fits.Header()
    for key, value in header.items():
        meta[key] = value
    meta["BUNIT"] = "electron"
    return Exposure(mi, meta), truth


def truthSnr(truth: dict, flux: np.ndarray) -> np.ndarray:
    """PSF-optimal S/N of stars of ``flux`` electrons on the frame's sky and read noise."""
    sigma = truth["seeingSigma"]
    noisePerPixel = truth["illumination"] + truth["readNoise"] ** 2
    return flux / np.sqrt(flux + 4 * np.pi * sigma**2 * noisePerPixel)


def match(xTrue, yTrue, x, y, radius: float):
    """Nearest detection within ``radius`` of each true position: index or -1."""
    xTrue, yTrue = np.asarray(xTrue, float), np.asarray(yTrue, float)
    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(x) == 0:
        return np.full(len(xTrue), -1)
    d2 = (xTrue[:, None] - x[None, :]) ** 2 + (yTrue[:, None] - y[None, :]) ** 2
    nearest = d2.argmin(axis=1)
    found = d2[np.arange(len(xTrue)), nearest] <= radius**2
    return np.where(found, nearest, -1)
