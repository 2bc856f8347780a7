"""Pixel operations every backend shares: Gaussian smoothing, clipped noise, growing masks,
postage stamps, adaptive moments and PSF-weighted fluxes (numpy only).

Coordinates are 0-based with pixel centres at integers (LSST's convention): ``x`` is the
column, ``y`` the row.
"""

from __future__ import annotations

import math

import numpy as np

#: FWHM of a Gaussian per unit sigma.
SIGMA_TO_FWHM = 2.0 * math.sqrt(2.0 * math.log(2.0))


def gaussianKernel1d(sigma: float, nSigmaForKernel: float = 7.0) -> np.ndarray:
    """A normalised 1-D Gaussian of ``sigma`` pixels, ``nSigmaForKernel`` sigmas wide."""
    half = max(1, int(math.ceil(0.5 * nSigmaForKernel * sigma)))
    offsets = np.arange(-half, half + 1, dtype=np.float64)
    kernel = np.exp(-0.5 * (offsets / sigma) ** 2)
    return kernel / kernel.sum()


def _convolveAxis(image: np.ndarray, kernel: np.ndarray, axis: int) -> np.ndarray:
    half = len(kernel) // 2
    pad = [(0, 0), (0, 0)]
    pad[axis] = (half, half)
    padded = np.pad(image, pad, mode="reflect")
    out = np.zeros(image.shape, np.float32)
    length = image.shape[axis]
    for index, weight in enumerate(kernel):
        piece = padded[index : index + length] if axis == 0 else padded[:, index : index + length]
        out += np.float32(weight) * piece
    return out


def smoothGaussian(image: np.ndarray, sigma: float, nSigmaForKernel: float = 7.0) -> np.ndarray:
    """Convolve with a normalised circular Gaussian (separable; edges mirrored)."""
    kernel = gaussianKernel1d(sigma, nSigmaForKernel)
    return _convolveAxis(_convolveAxis(image.astype(np.float32), kernel, 0), kernel, 1)


def smoothedNoiseFactor(sigma: float, nSigmaForKernel: float = 7.0) -> float:
    """Noise of white noise of unit rms after :func:`smoothGaussian`: ``sqrt(sum k**2)``."""
    kernel = gaussianKernel1d(sigma, nSigmaForKernel)
    return float(np.sum(kernel**2))  # (sum k1**2) squared, square-rooted


def clippedStd(values: np.ndarray, nSigma: float = 3.0, nIter: int = 3) -> tuple[float, float]:
    """Sigma-clipped mean and standard deviation of finite ``values`` (IQR start)."""
    values = values[np.isfinite(values)]
    if values.size < 2:
        return float("nan"), float("nan")
    q1, median, q3 = np.percentile(values, [25, 50, 75])
    centre, width = float(median), 0.741301109252802 * float(q3 - q1)
    for _ in range(nIter):
        if not width > 0:
            break
        kept = values[np.abs(values - centre) <= nSigma * width]
        if kept.size < 2:
            break
        centre, width = float(kept.mean()), float(kept.std(ddof=1))
    return centre, width


def sample(array: np.ndarray, good: np.ndarray, maxSamples: int = 200_000) -> np.ndarray:
    """At most about ``maxSamples`` values of ``array`` where ``good`` is true."""
    flat, ok = array.ravel(), good.ravel()
    step = max(1, flat.size // maxSamples)
    return flat[::step][ok[::step]]


def dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """Grow a boolean mask by ``radius`` pixels (a square of side ``2 * radius + 1``)."""
    out = mask.copy()
    for _ in range(max(0, int(radius))):
        grown = out.copy()
        grown[1:] |= out[:-1]
        grown[:-1] |= out[1:]
        out = grown
        grown = out.copy()
        grown[:, 1:] |= out[:, :-1]
        grown[:, :-1] |= out[:, 1:]
        out = grown
    return out


def stamps(image: np.ndarray, x: np.ndarray, y: np.ndarray, half: int):
    """Square cut-outs of side ``2 * half + 1`` around the nearest pixels of (x, y).

    Returns ``(cubes, dx, dy, inside)``: the stamps (N, side, side) with pixels off the
    image set to 0, the offsets of each stamp pixel from (x, y) and a boolean cube of the
    pixels that are on the image.
    """
    rows, cols = image.shape
    offsets = np.arange(-half, half + 1)
    cx = np.rint(x).astype(int)
    cy = np.rint(y).astype(int)
    colIdx = cx[:, None] + offsets[None, :]
    rowIdx = cy[:, None] + offsets[None, :]
    inCol = (colIdx >= 0) & (colIdx < cols)
    inRow = (rowIdx >= 0) & (rowIdx < rows)
    cube = image[np.clip(rowIdx, 0, rows - 1)[:, :, None], np.clip(colIdx, 0, cols - 1)[:, None, :]]
    inside = inRow[:, :, None] & inCol[:, None, :]
    cube = np.where(inside, cube, 0.0)
    dx = colIdx[:, None, :] - x[:, None, None]
    dy = rowIdx[:, :, None] - y[:, None, None]
    return cube.astype(np.float64), dx, dy, inside


def adaptiveMoments(
    image: np.ndarray, x: np.ndarray, y: np.ndarray, sigma0: float, maxIter: int = 20
):
    """Adaptive Gaussian-weighted moments of the sources at (x, y).

    The weight is an elliptical Gaussian matched iteratively to the source (as LSST's
    SdssShape does); for a Gaussian source the result is its own covariance.
    Returns ``(xc, yc, xx, yy, xy, ok)``.
    """
    n = len(x)
    xc, yc = np.asarray(x, float).copy(), np.asarray(y, float).copy()
    xx = np.full(n, sigma0**2)
    yy = np.full(n, sigma0**2)
    xy = np.zeros(n)
    ok = np.ones(n, bool)
    half = max(3, int(math.ceil(4 * sigma0)))
    for _ in range(maxIter):
        cube, dx, dy, inside = stamps(image, xc, yc, half)
        det = xx * yy - xy**2
        bad = ~(det > 0)
        det = np.where(bad, 1.0, det)
        ixx, iyy, ixy = yy / det, xx / det, -xy / det
        q = ixx[:, None, None] * dx**2 + iyy[:, None, None] * dy**2
        q += 2 * ixy[:, None, None] * dx * dy
        w = np.exp(-0.5 * q) * inside
        wi = w * cube
        s0 = wi.sum(axis=(1, 2))
        good = (s0 > 0) & ~bad
        s0 = np.where(good, s0, 1.0)
        mx = (wi * dx).sum(axis=(1, 2)) / s0
        my = (wi * dy).sum(axis=(1, 2)) / s0
        mxx = (wi * (dx - mx[:, None, None]) ** 2).sum(axis=(1, 2)) / s0
        myy = (wi * (dy - my[:, None, None]) ** 2).sum(axis=(1, 2)) / s0
        mxy = (wi * (dx - mx[:, None, None]) * (dy - my[:, None, None])).sum(axis=(1, 2)) / s0
        # Weighted moments of a Gaussian of covariance C under weight W: (C^-1 + W^-1)^-1.
        # The fixed point W = C is reached by W <- 2 M (exact for round sources).
        newXx, newYy, newXy = 2 * mxx, 2 * myy, 2 * mxy
        sane = good & (newXx > 0.05) & (newYy > 0.05) & (newXx * newYy > newXy**2)
        sane &= (np.abs(mx) < half) & (np.abs(my) < half)
        ok &= sane
        step = np.where(sane, 1.0, 0.0)
        xc = xc + step * mx
        yc = yc + step * my
        change = np.abs(newXx - xx) + np.abs(newYy - yy)
        xx = np.where(sane, newXx, xx)
        yy = np.where(sane, newYy, yy)
        xy = np.where(sane, newXy, xy)
        if np.all((change < 1e-4 * (xx + yy)) | ~ok):
            break
    return xc, yc, xx, yy, xy, ok


def psfFlux(
    image: np.ndarray, variance: np.ndarray, x: np.ndarray, y: np.ndarray, sigma: float
) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares amplitude of a circular Gaussian PSF of ``sigma`` at each (x, y).

    Unweighted by pixel (the PSF is the weight), as LSST's PsfFlux: flux =
    sum(P I) / sum(P P), error = sqrt(sum(P P V)) / sum(P P). Returns (flux, error).
    """
    half = max(3, int(math.ceil(4 * sigma)))
    cube, dx, dy, inside = stamps(image, x, y, half)
    varCube, _, _, _ = stamps(variance, x, y, half)
    model = np.exp(-0.5 * (dx**2 + dy**2) / sigma**2) / (2 * math.pi * sigma**2) * inside
    norm = (model**2).sum(axis=(1, 2))
    norm = np.where(norm > 0, norm, np.nan)
    flux = (model * cube).sum(axis=(1, 2)) / norm
    error = np.sqrt((model**2 * varCube).sum(axis=(1, 2))) / norm
    return flux, error


def enclosedFraction(radius: float, sigma: float) -> float:
    """Fraction of a circular Gaussian's flux within ``radius``, the pixels taken as squares.

    Aperture sums treat each pixel as uniform over its area, which widens a sampled
    Gaussian by a square pixel's variance, 1/12 per axis.
    """
    s2 = sigma**2 + 1.0 / 12.0
    return 1.0 - math.exp(-0.5 * radius**2 / s2)
