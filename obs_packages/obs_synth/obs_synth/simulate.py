"""Simulate raw CCD images of the ``synth`` camera.

Each raw is a uint16 FITS image (stored with BZERO=32768, as real raws are) of
``size`` rows by ``size + overscan`` columns, made in electrons and converted to ADU:

- a sky level that varies from visit to visit, with Poisson noise;
- stars with a Gaussian PSF (seeing varies per visit) and power-law fluxes;
- cosmic rays (short sharp tracks added after the noise);
- a dead column per CCD;
- saturation at ``SATURATE`` ADU, with a short bleed along the column;
- a bias level and Gaussian read noise everywhere, and an overscan region
  (the last ``overscan`` columns) holding only bias and read noise.

Header keys follow the obs_test raws: ``FILTER``, ``EXPTIME``, ``GAIN``, ``RDNOISE``,
``SATURATE``, ``BIAS``, ``DATASEC``, ``BIASSEC``, ``TRIMSEC``, ``MJD-OBS``, ``AIRMASS``,
``OBSID``, a TAN WCS, and ``VISIT``/``CCD``, from which the camera's ingest rule reads the
data ID. Output is reproducible: the random state depends only on (visit, ccd, seed).

Command line::

    python -m obs_synth.simulate OUTDIR --visits N --ccds M [--size 512] [--first-visit 1]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

FILTERS = ("g", "r", "i")
BIAS_ADU = 1000.0
SATURATE_ADU = 60000.0
PIXEL_SCALE_DEG = 0.2 / 3600.0


def simulateRaw(
    visit: int, ccd: int, size: int = 512, overscan: int = 32, seed: int = 0
) -> tuple[Any, dict[str, Any]]:
    """Pixels (uint16, rows x columns) and header keywords of one raw.

    Parameters
    ----------
    visit, ccd : int
        The data ID; they seed the random state and set per-visit and per-CCD traits.
    size : int
        Rows and data columns.
    overscan : int
        Overscan columns to the right of the data.
    seed : int
        Extra seed, to make a different but equally reproducible set.
    """
    import numpy as np

    rng = np.random.default_rng([seed, visit, ccd, 20151223])
    visitRng = np.random.default_rng([seed, visit, 7])
    gain = 1.5 + 0.05 * (ccd % 4)  # electrons per ADU
    readNoise = 5.0  # electrons
    exptime = 30.0
    skyElectrons = float(visitRng.uniform(800.0, 1600.0))
    seeingSigma = float(visitRng.uniform(1.2, 2.2))  # pixels
    filterName = FILTERS[visit % len(FILTERS)]

    # Sky and stars in electrons.
    image = np.full((size, size), skyElectrons, dtype=np.float64)
    nStars = int(rng.integers(40, 120)) * size * size // (512 * 512) + 5
    fluxes = 2000.0 * (1.0 + rng.pareto(1.5, nStars))  # electrons
    fluxes[: 1 + nStars // 60] = rng.uniform(3e6, 8e6, 1 + nStars // 60)  # these saturate
    xs = rng.uniform(0, size, nStars)
    ys = rng.uniform(0, size, nStars)
    half = int(np.ceil(5 * seeingSigma))
    offsets = np.arange(-half, half + 1)
    norm = 1.0 / (2 * np.pi * seeingSigma**2)
    for flux, x, y in zip(fluxes, xs, ys, strict=True):
        x0, y0 = int(x), int(y)
        cols = x0 + offsets
        rows = y0 + offsets
        keepC = (cols >= 0) & (cols < size)
        keepR = (rows >= 0) & (rows < size)
        gx = np.exp(-0.5 * ((cols[keepC] + 0.5 - x) / seeingSigma) ** 2)
        gy = np.exp(-0.5 * ((rows[keepR] + 0.5 - y) / seeingSigma) ** 2)
        image[np.ix_(rows[keepR], cols[keepC])] += flux * norm * np.outer(gy, gx)
    image = rng.poisson(image).astype(np.float64)

    # Cosmic rays: short tracks of a few pixels, thousands of electrons each.
    for _ in range(int(rng.integers(5, 20)) * size * size // (512 * 512) + 1):
        length = int(rng.integers(1, 8))
        x, y = rng.uniform(0, size, 2)
        angle = rng.uniform(0, np.pi)
        t = np.arange(length)
        cx = np.clip((x + t * np.cos(angle)).astype(int), 0, size - 1)
        cy = np.clip((y + t * np.sin(angle)).astype(int), 0, size - 1)
        image[cy, cx] += rng.uniform(3000.0, 20000.0, length)

    # To ADU, then saturation with a short bleed up and down the column.
    adu = image / gain
    saturated = adu > SATURATE_ADU - BIAS_ADU
    if saturated.any():
        bleed = saturated.copy()
        for shift in range(1, 4):
            bleed[shift:] |= saturated[:-shift]
            bleed[:-shift] |= saturated[shift:]
        adu[bleed] = SATURATE_ADU - BIAS_ADU

    # Dead column, bias, read noise, overscan.
    deadColumn = (37 * (ccd + 1)) % size
    adu[:, deadColumn] = 0.0
    full = np.empty((size, size + overscan), dtype=np.float64)
    full[:, :size] = adu
    full[:, size:] = 0.0
    full += BIAS_ADU + rng.normal(0.0, readNoise / gain, full.shape)
    pixels = np.clip(np.rint(full), 0, 65535).astype(np.uint16)

    header = {
        "FILTER": filterName,
        "EXPTIME": exptime,
        "GAIN": round(gain, 4),
        "RDNOISE": readNoise,
        "SATURATE": SATURATE_ADU,
        "BIAS": BIAS_ADU,
        "DATASEC": f"[1:{size},1:{size}]",
        "BIASSEC": f"[{size + 1}:{size + overscan},1:{size}]",
        "TRIMSEC": f"[1:{size},1:{size}]",
        "VISIT": visit,
        "CCD": ccd,
        "OBSID": 900000000 + visit,
        "MJD-OBS": 60000.0 + visit * 0.01,
        "AIRMASS": round(1.0 + float(visitRng.uniform(0.0, 0.5)), 4),
        "SKYLEVEL": round(skyElectrons / gain + BIAS_ADU, 2),
        "SEEING": round(seeingSigma, 3),
        "BADCOL": deadColumn + 1,
        "CTYPE1": "RA---TAN",
        "CTYPE2": "DEC--TAN",
        "CRVAL1": 150.0 + 0.5 * visit,
        "CRVAL2": 2.0,
        "CRPIX1": size / 2 - (ccd % 4) * size,
        "CRPIX2": size / 2 - (ccd // 4) * size,
        "CD1_1": -PIXEL_SCALE_DEG,
        "CD1_2": 0.0,
        "CD2_1": 0.0,
        "CD2_2": PIXEL_SCALE_DEG,
    }
    return pixels, header


def writeRaw(path: str | Path, pixels: Any, header: dict[str, Any]) -> None:
    """Write one raw as a single-HDU FITS file (uint16 stored with BZERO=32768)."""
    from astropy.io import fits

    hdu = fits.PrimaryHDU(data=pixels)
    for key, value in header.items():
        hdu.header[key] = value
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    hdu.writeto(tmp, overwrite=True)
    os.replace(tmp, path)


def simulate(
    outdir: str | Path,
    visits: int,
    ccds: int,
    size: int = 512,
    firstVisit: int = 1,
    seed: int = 0,
) -> list[Path]:
    """Write raws ``raw_v<visit>_c<ccd>.fits`` for ``visits`` visits of ``ccds`` CCDs each.

    Returns the paths written, visit by visit.
    """
    if visits < 1 or ccds < 1 or size < 16:
        raise ValueError("need at least one visit, one CCD and a size of 16 pixels")
    outdir = Path(outdir)
    written = []
    for visit in range(firstVisit, firstVisit + visits):
        for ccd in range(ccds):
            pixels, header = simulateRaw(visit, ccd, size, seed=seed)
            path = outdir / f"raw_v{visit}_c{ccd}.fits"
            writeRaw(path, pixels, header)
            written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m obs_synth.simulate",
        description="Write simulated raws of the synth camera into OUTDIR.",
    )
    parser.add_argument("outdir", metavar="OUTDIR", help="directory for the raws")
    parser.add_argument("--visits", type=int, default=3, help="number of visits (default 3)")
    parser.add_argument("--ccds", type=int, default=4, help="CCDs per visit (default 4, max 8)")
    parser.add_argument("--size", type=int, default=512, help="pixels per side (default 512)")
    parser.add_argument("--first-visit", type=int, default=1, help="first visit number")
    parser.add_argument("--seed", type=int, default=0, help="extra random seed")
    args = parser.parse_args(argv)
    if not 1 <= args.ccds <= 8:
        parser.error(f"--ccds must be between 1 and 8, not {args.ccds}")
    if args.visits < 1:
        parser.error(f"--visits must be at least 1, not {args.visits}")
    if args.size < 16:
        parser.error(f"--size must be at least 16, not {args.size}")
    paths = simulate(args.outdir, args.visits, args.ccds, args.size, args.first_visit, args.seed)
    print(f"wrote {len(paths)} raws ({args.visits} visits x {args.ccds} CCDs) to {args.outdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
