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


#: Matching radius (pixels) between detections and injected stars.
MATCH_RADIUS = 2.0
#: Pixel flags that make a flux unfit for comparison with the truth.
FLUX_FLAGS = (
    "base_PixelFlags_flag_edge",
    "base_PixelFlags_flag_saturated",
    "base_PixelFlags_flag_interpolatedCenter",
    "base_PixelFlags_flag_crCenter",
    "base_PsfFlux_flag",
)


def scoreFrame(table, truth: dict, mask, crBit: int) -> dict:
    """Counts and per-star values comparing one frame's ``src`` with its truth.

    Returned lists and counts add up over frames (:func:`summarise`). Stars are those of
    PSF S/N >= 7 (:func:`truthSnr`); detections those of measured PSF S/N >= 7, leaves
    only (sources that were not split by the deblender). The dead column carries no
    signal (its pixels read 0 and are interpolated), so cosmic-ray pixels on it are left
    out of both the hits and the false flags.
    """
    stars = truth["stars"]
    xt = np.array([s["x"] for s in stars])
    yt = np.array([s["y"] for s in stars])
    ft = np.array([s["flux"] for s in stars])
    saturated = np.array([s["saturated"] for s in stars], bool)
    snr = truthSnr(truth, ft)
    leaf = table[np.asarray(table["deblend_nChild"]) == 0]
    x, y = np.asarray(leaf["slot_Centroid_x"]), np.asarray(leaf["slot_Centroid_y"])
    flux = np.asarray(leaf["base_PsfFlux_instFlux"])
    err = np.asarray(leaf["base_PsfFlux_instFluxErr"])
    found = match(xt, yt, x, y, MATCH_RADIUS)
    real = match(x, y, xt, yt, MATCH_RADIUS) >= 0
    measuredSnr = np.where(err > 0, flux / np.where(err > 0, err, 1), 0)
    clean = np.ones(len(leaf), bool)
    for name in FLUX_FLAGS:
        clean &= ~np.asarray(leaf[name], bool)
    usable = (found >= 0) & (snr >= 7) & ~saturated
    usable[usable] &= clean[found[usable]]
    j = found[usable]
    bright = (found >= 0) & (snr > 20) & ~saturated
    k = found[bright]
    crPixels = np.array(truth["cosmicRays"], float).reshape(-1, 3)
    injected = np.zeros(mask.shape, bool)
    injected[crPixels[:, 1].astype(int), crPixels[:, 0].astype(int)] = True
    flagged = (mask & crBit) != 0
    if "badColumn" in truth:
        injected[:, truth["badColumn"]] = False
        flagged[:, truth["badColumn"]] = False
    return {
        "stars": int((snr >= 7).sum()),
        "starsFound": int(((snr >= 7) & (found >= 0)).sum()),
        "faint": int(((snr >= 7) & (snr < 10)).sum()),
        "faintFound": int(((snr >= 7) & (snr < 10) & (found >= 0)).sum()),
        "detections": int((measuredSnr >= 7).sum()),
        "detectionsReal": int(((measuredSnr >= 7) & real).sum()),
        "fluxRatio": list(flux[j] / ft[usable]),
        "fluxPull": list((flux[j] - ft[usable]) / err[j]),
        "centroidOffset": list(np.hypot(x[k] - xt[bright], y[k] - yt[bright])),
        "crInjected": int(injected.sum()),
        "crFound": int((injected & flagged).sum()),
        "crFalse": int((flagged & ~injected).sum()),
        "pixels": int(mask.size),
    }


def summarise(scores: list[dict]) -> dict:
    """The bars' figures over several frames."""
    total = {
        key: sum(s[key] for s in scores)
        for key in scores[0]
        if not isinstance(scores[0][key], list)
    }
    lists = {
        key: np.concatenate([s[key] for s in scores])
        for key in scores[0]
        if isinstance(scores[0][key], list)
    }
    pull = lists["fluxPull"]
    return {
        "completeness": total["starsFound"] / total["stars"],
        "completenessFaint": total["faintFound"] / max(1, total["faint"]),
        "purity": total["detectionsReal"] / max(1, total["detections"]),
        "fluxMedian": float(np.median(lists["fluxRatio"])),
        "fluxScatterOverErrors": float(1.4826 * np.median(np.abs(pull - np.median(pull)))),
        "centroidMedian": float(np.median(lists["centroidOffset"])),
        "crFlagged": total["crFound"] / max(1, total["crInjected"]),
        "crFalsePerMegapixel": total["crFalse"] / total["pixels"] * 1e6,
        "stars": total["stars"],
        "faint": total["faint"],
        "detections": total["detections"],
        "fluxStars": len(lists["fluxRatio"]),
        "brightStars": len(lists["centroidOffset"]),
    }
