"""Simulate raw CCD frames of the ``synth`` camera, with a truth file for each.

Each raw is a uint16 FITS image (stored with BZERO=32768, as real raws are) of ``size``
rows by ``size + overscan`` columns. Three kinds of frame (header ``IMAGETYP``):

- ``OBJECT`` (science): a sky level that varies from visit to visit and stars with a
  Gaussian PSF (seeing varies per visit) and power-law fluxes, in electrons, times the
  CCD's flat pattern for the visit's filter; Poisson noise; cosmic rays (short sharp
  tracks added after the noise); a dead column per CCD;
- ``BIAS``: no light at all;
- ``FLAT``: a uniform illumination times the CCD's flat pattern for the filter, Poisson
  noise, a few cosmic rays.

Every frame then gets, in ADU: a bias level (that drifts a little from frame to frame),
the CCD's fixed bias pattern (data section only: the overscan does not see it) and
Gaussian read noise everywhere; saturation is applied last, after the noise: a pixel whose
charge went past full well reads ``SATURATE`` ADU, bleeding a few pixels up and down the
column. The overscan (the last ``overscan`` columns) holds only bias level and read noise.

Header keys follow the obs_test raws: ``FILTER``, ``EXPTIME``, ``GAIN``, ``RDNOISE``,
``SATURATE``, ``BIAS``, ``DATASEC``, ``BIASSEC``, ``TRIMSEC``, ``MJD-OBS``, ``DATE-OBS``,
``AIRMASS``, ``OBSID``, a TAN WCS, ``IMAGETYP`` and ``VISIT``/``CCD``, from which the
camera's ingest rule reads the data ID. Output is reproducible: the random state depends
only on (visit, ccd, seed); the bias pattern only on (ccd, seed) and the flat pattern on
(ccd, filter, seed), so :func:`biasPattern` and :func:`flatPattern` regenerate them.

Truth files
-----------
Next to each ``raw_v<visit>_c<ccd>.fits`` the simulator writes
``raw_v<visit>_c<ccd>.truth.json``, a JSON object with what it injected. Pixel coordinates
are 0-based (column ``x``, row ``y``) in the data section, pixel centres at integers
(LSST's convention); fluxes are electrons before the flat pattern and noise.

- ``visit``, ``ccd``, ``kind`` (``science``, ``bias`` or ``flat``), ``filter``, ``mjd``
- ``gain`` (electrons per ADU), ``readNoise`` (electrons), ``biasLevel`` (ADU, this frame),
  ``saturation`` (ADU), ``size``, ``overscan``, ``seed``
- ``biasPattern``: ``{"ccd", "seed", "rms"}`` (ADU): ``biasPattern(ccd, size, seed)``
- ``flatPattern``: ``{"ccd", "filter", "seed", "rms"}`` (relative, mean 1):
  ``flatPattern(ccd, filter, size, seed)``; null for bias frames
- ``illumination``: electrons per pixel before the flat (the sky of a science frame, the
  lamp of a flat frame; 0 for a bias)
- ``seeingSigma`` (pixels, science frames), ``badColumn`` (0-based column, science frames)
- ``stars``: ``[{"x", "y", "flux", "saturated"}]`` every star injected (science frames),
  ``saturated`` when its peak went past full well
- ``cosmicRays``: ``[[x, y, electrons], ...]`` every pixel a cosmic ray hit, once each
  with the electrons it deposited
- ``saturatedPixels``: how many data pixels read ``saturation``

Command line::

    python -m obs_synth.simulate OUTDIR --visits N --ccds M [--size 512] [--first-visit 1]
        [--kind science|bias|flat] [--filter g] [--mjd MJD] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

FILTERS = ("g", "r", "i")
KINDS = ("science", "bias", "flat")
IMAGETYP = {"science": "OBJECT", "bias": "BIAS", "flat": "FLAT"}
BIAS_ADU = 1000.0
SATURATE_ADU = 60000.0
READ_NOISE = 5.0  # electrons
FLAT_ELECTRONS = 20000.0
PIXEL_SCALE_DEG = 0.2 / 3600.0
#: Rms of the fixed bias pattern (ADU) and of the pixel-to-pixel flat response.
BIAS_PATTERN_RMS = 4.0
FLAT_PIXEL_RMS = 0.01
MJD_ZERO = 60000.0


def gainFor(ccd: int) -> float:
    """Gain (electrons per ADU) of a CCD's amplifier."""
    return round(1.5 + 0.05 * (ccd % 4), 4)


def defaultMjd(visit: int) -> float:
    """Observation date (MJD) of a visit when none is given: 0.01 day per visit number."""
    return MJD_ZERO + visit * 0.01


def biasPattern(ccd: int, size: int, seed: int = 0) -> Any:
    """The fixed bias structure (ADU, ``size`` x ``size``) of a CCD's data section.

    A column pattern, a gradient along the rows and a fixed pixel-level structure,
    scaled to :data:`BIAS_PATTERN_RMS`.
    """
    import numpy as np

    rng = np.random.default_rng([seed, ccd, 424242])
    columns = rng.normal(0.0, 1.0, size)
    rows = np.linspace(-1.0, 1.0, size) * rng.uniform(0.5, 1.5)
    pixels = rng.normal(0.0, 0.5, (size, size))
    pattern = columns[None, :] + rows[:, None] + pixels
    pattern -= pattern.mean()
    return pattern * (BIAS_PATTERN_RMS / pattern.std())


def flatPattern(ccd: int, filterName: str, size: int, seed: int = 0) -> Any:
    """The relative response (mean 1, ``size`` x ``size``) of a CCD's pixels in a filter.

    A vignetting-like fall-off across the 2x4 mosaic (a few per cent, stronger in bluer
    filters), a tilt per CCD and a pixel-to-pixel response of :data:`FLAT_PIXEL_RMS`.
    """
    import numpy as np

    index = FILTERS.index(filterName) if filterName in FILTERS else len(FILTERS)
    rng = np.random.default_rng([seed, ccd, index, 171717])
    centre = np.arange(size) + 0.5
    x = ((ccd % 4) * size + centre) / (4 * size) - 0.5  # mosaic coordinates, -0.5..0.5
    y = ((ccd // 4) * size + centre) / (2 * size) - 0.5
    radius2 = x[None, :] ** 2 + (y[:, None] * 0.5) ** 2
    strength = 0.08 - 0.02 * index
    tilt = rng.uniform(-0.01, 0.01, 2)
    pattern = 1.0 - strength * radius2 + tilt[0] * x[None, :] + tilt[1] * y[:, None]
    pattern = pattern * (1.0 + rng.normal(0.0, FLAT_PIXEL_RMS, (size, size)))
    return pattern / pattern.mean()


def _addStars(image, rng, size: int, seeingSigma: float) -> list[dict[str, Any]]:
    """Add Gaussian stars (electrons) to ``image``; returns their truth records."""
    import numpy as np

    nStars = int(rng.integers(40, 120)) * size * size // (512 * 512) + 5
    fluxes = 2000.0 * (1.0 + rng.pareto(1.5, nStars))
    fluxes[: 1 + nStars // 60] = rng.uniform(3e6, 8e6, 1 + nStars // 60)  # these saturate
    xs = rng.uniform(0, size, nStars)
    ys = rng.uniform(0, size, nStars)
    half = int(np.ceil(5 * seeingSigma))
    offsets = np.arange(-half, half + 1)
    norm = 1.0 / (2 * np.pi * seeingSigma**2)
    stars = []
    for flux, x, y in zip(fluxes, xs, ys, strict=True):
        x0, y0 = int(x), int(y)
        cols = x0 + offsets
        rows = y0 + offsets
        keepC = (cols >= 0) & (cols < size)
        keepR = (rows >= 0) & (rows < size)
        gx = np.exp(-0.5 * ((cols[keepC] + 0.5 - x) / seeingSigma) ** 2)
        gy = np.exp(-0.5 * ((rows[keepR] + 0.5 - y) / seeingSigma) ** 2)
        image[np.ix_(rows[keepR], cols[keepC])] += flux * norm * np.outer(gy, gx)
        stars.append({"x": float(x) - 0.5, "y": float(y) - 0.5, "flux": float(flux)})
    return stars


def _addCosmicRays(image, rng, size: int, count: int) -> list[list[float]]:
    """Add ``count`` short cosmic-ray tracks (electrons); returns ``[x, y, e-]`` per pixel."""
    import numpy as np

    hits: dict[tuple[int, int], float] = {}
    for _ in range(count):
        length = int(rng.integers(1, 8))
        x, y = rng.uniform(0, size, 2)
        angle = rng.uniform(0, np.pi)
        t = np.arange(length)
        cx = np.clip((x + t * np.cos(angle)).astype(int), 0, size - 1)
        cy = np.clip((y + t * np.sin(angle)).astype(int), 0, size - 1)
        deposits = rng.uniform(3000.0, 20000.0, length)
        np.add.at(image, (cy, cx), deposits)
        for col, row, value in zip(cx.tolist(), cy.tolist(), deposits.tolist(), strict=True):
            hits[(col, row)] = hits.get((col, row), 0.0) + value
    return [[col, row, round(value, 1)] for (col, row), value in sorted(hits.items())]


def simulateFrame(
    visit: int,
    ccd: int,
    size: int = 512,
    overscan: int = 32,
    seed: int = 0,
    kind: str = "science",
    filterName: str | None = None,
    mjd: float | None = None,
) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """Pixels (uint16, rows x columns), header keywords and truth of one raw frame.

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
    kind : str
        ``science``, ``bias`` or ``flat``.
    filterName : str, optional
        Filter; by default science frames cycle through ``g r i`` by visit and flats use g.
    mjd : float, optional
        Observation date (MJD); :func:`defaultMjd` of the visit by default.
    """
    import numpy as np

    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    rng = np.random.default_rng([seed, visit, ccd, 20151223])
    visitRng = np.random.default_rng([seed, visit, 7])
    gain = gainFor(ccd)
    if filterName is None:
        filterName = FILTERS[visit % len(FILTERS)] if kind == "science" else "g"
    mjd = defaultMjd(visit) if mjd is None else float(mjd)
    exptime = {"science": 30.0, "bias": 0.0, "flat": 5.0}[kind]
    seeingSigma = float(visitRng.uniform(1.2, 2.2))  # pixels
    skyElectrons = float(visitRng.uniform(800.0, 1600.0))
    biasLevel = BIAS_ADU + float(visitRng.normal(0.0, 3.0))
    truth: dict[str, Any] = {
        "visit": visit,
        "ccd": ccd,
        "kind": kind,
        "filter": filterName,
        "mjd": mjd,
        "gain": gain,
        "readNoise": READ_NOISE,
        "biasLevel": round(biasLevel, 4),
        "saturation": SATURATE_ADU,
        "size": size,
        "overscan": overscan,
        "seed": seed,
        "biasPattern": {"ccd": ccd, "seed": seed, "rms": BIAS_PATTERN_RMS},
        "flatPattern": None,
        "illumination": 0.0,
        "stars": [],
        "cosmicRays": [],
    }

    # Light, in electrons.
    image = np.zeros((size, size), dtype=np.float64)
    if kind != "bias":
        flat = flatPattern(ccd, filterName, size, seed)
        truth["flatPattern"] = {"ccd": ccd, "filter": filterName, "seed": seed}
        truth["flatPattern"]["rms"] = round(float(flat.std()), 6)
        if kind == "science":
            image += skyElectrons
            truth["illumination"] = skyElectrons
            truth["seeingSigma"] = seeingSigma
            truth["stars"] = _addStars(image, rng, size, seeingSigma)
        else:
            image += FLAT_ELECTRONS
            truth["illumination"] = FLAT_ELECTRONS
        image = rng.poisson(image * flat).astype(np.float64)
        nRays = int(rng.integers(5, 20)) if kind == "science" else int(rng.integers(1, 4))
        nRays = nRays * size * size // (512 * 512) + 1
        truth["cosmicRays"] = _addCosmicRays(image, rng, size, nRays)

    # Full well: charge past it reads as saturated, and bleeds along the column.
    fullWell = (SATURATE_ADU - biasLevel) * gain
    overflow = image >= fullWell
    if overflow.any():
        bleed = overflow.copy()
        for shift in range(1, 4):
            bleed[shift:] |= overflow[:-shift]
            bleed[:-shift] |= overflow[shift:]
        overflow = bleed
    for star in truth["stars"]:
        col, row = int(round(star["x"])), int(round(star["y"]))
        star["saturated"] = bool(0 <= col < size and 0 <= row < size and overflow[row, col])

    adu = image / gain
    if kind == "science":
        deadColumn = (37 * (ccd + 1)) % size
        adu[:, deadColumn] = 0.0
        truth["badColumn"] = deadColumn
        truth["seeingSigma"] = round(seeingSigma, 4)
    full = np.empty((size, size + overscan), dtype=np.float64)
    full[:, :size] = adu + biasPattern(ccd, size, seed)
    full[:, size:] = 0.0
    full += biasLevel + rng.normal(0.0, READ_NOISE / gain, full.shape)
    # Saturation after the noise: a pixel past full well reads exactly SATURATE.
    full[:, :size][overflow] = SATURATE_ADU
    full = np.minimum(full, SATURATE_ADU)
    pixels = np.clip(np.rint(full), 0, 65535).astype(np.uint16)
    truth["saturatedPixels"] = int((pixels[:, :size] >= SATURATE_ADU).sum())

    header = {
        "IMAGETYP": IMAGETYP[kind],
        "FILTER": filterName,
        "EXPTIME": exptime,
        "GAIN": gain,
        "RDNOISE": READ_NOISE,
        "SATURATE": SATURATE_ADU,
        "BIAS": BIAS_ADU,
        "DATASEC": f"[1:{size},1:{size}]",
        "BIASSEC": f"[{size + 1}:{size + overscan},1:{size}]",
        "TRIMSEC": f"[1:{size},1:{size}]",
        "VISIT": visit,
        "CCD": ccd,
        "OBSID": 900000000 + visit,
        "MJD-OBS": mjd,
        "DATE-OBS": _isoDate(mjd),
        "AIRMASS": round(1.0 + float(visitRng.uniform(0.0, 0.5)), 4),
    }
    if kind == "science":
        header.update(
            {
                "SKYLEVEL": round(skyElectrons / gain + BIAS_ADU, 2),
                "SEEING": round(seeingSigma, 3),
                "BADCOL": truth["badColumn"] + 1,
            }
        )
    header.update(
        {
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
    )
    return pixels, header, truth


def simulateRaw(
    visit: int, ccd: int, size: int = 512, overscan: int = 32, seed: int = 0
) -> tuple[Any, dict[str, Any]]:
    """Pixels and header of one science raw (:func:`simulateFrame` without the truth)."""
    pixels, header, _ = simulateFrame(visit, ccd, size, overscan, seed)
    return pixels, header


def _isoDate(mjd: float) -> str:
    from datetime import datetime, timedelta

    moment = datetime(1858, 11, 17) + timedelta(days=mjd)
    return moment.isoformat(timespec="milliseconds")


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


def truthPath(rawPath: str | Path) -> Path:
    """The truth file written next to a simulated raw."""
    rawPath = Path(rawPath)
    return rawPath.with_name(rawPath.name.split(".fits")[0] + ".truth.json")


def readTruth(rawPath: str | Path) -> dict[str, Any]:
    """The truth of a simulated raw (given the raw's path or the truth file's)."""
    path = Path(rawPath)
    if not path.name.endswith(".truth.json"):
        path = truthPath(path)
    return json.loads(path.read_text())


def _writeTruth(path: Path, truth: dict[str, Any]) -> None:
    tmp = path.with_name(f".tmp-{os.getpid()}-{path.name}")
    tmp.write_text(json.dumps(truth, indent=1) + "\n")
    os.replace(tmp, path)


def simulate(
    outdir: str | Path,
    visits: int,
    ccds: int,
    size: int = 512,
    firstVisit: int = 1,
    seed: int = 0,
    kind: str = "science",
    filterName: str | None = None,
    mjd: float | None = None,
) -> list[Path]:
    """Write raws ``raw_v<visit>_c<ccd>.fits`` and their ``.truth.json`` files.

    ``visits`` visits of ``ccds`` CCDs each, of one ``kind``. With ``mjd``, the first
    visit is observed then and each next one 0.01 day later. Returns the raw paths
    written, visit by visit.
    """
    if visits < 1 or ccds < 1 or size < 16:
        raise ValueError("need at least one visit, one CCD and a size of 16 pixels")
    outdir = Path(outdir)
    written = []
    for visit in range(firstVisit, firstVisit + visits):
        date = None if mjd is None else mjd + (visit - firstVisit) * 0.01
        for ccd in range(ccds):
            pixels, header, truth = simulateFrame(
                visit, ccd, size, seed=seed, kind=kind, filterName=filterName, mjd=date
            )
            path = outdir / f"raw_v{visit}_c{ccd}.fits"
            writeRaw(path, pixels, header)
            _writeTruth(truthPath(path), truth)
            written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m obs_synth.simulate",
        description="Write simulated raws of the synth camera (and their truth) into OUTDIR.",
    )
    parser.add_argument("outdir", metavar="OUTDIR", help="directory for the raws")
    parser.add_argument("--visits", type=int, default=3, help="number of visits (default 3)")
    parser.add_argument("--ccds", type=int, default=4, help="CCDs per visit (default 4, max 8)")
    parser.add_argument("--size", type=int, default=512, help="pixels per side (default 512)")
    parser.add_argument("--first-visit", type=int, default=1, help="first visit number")
    parser.add_argument("--seed", type=int, default=0, help="extra random seed")
    parser.add_argument(
        "--kind", choices=KINDS, default="science", help="frame type (default science)"
    )
    parser.add_argument(
        "--filter", choices=FILTERS, default=None, help="filter (default: by visit; g for flats)"
    )
    parser.add_argument(
        "--mjd", type=float, default=None, help="date of the first visit (default 60000+visit/100)"
    )
    args = parser.parse_args(argv)
    if not 1 <= args.ccds <= 8:
        parser.error(f"--ccds must be between 1 and 8, not {args.ccds}")
    if args.visits < 1:
        parser.error(f"--visits must be at least 1, not {args.visits}")
    if args.size < 16:
        parser.error(f"--size must be at least 16, not {args.size}")
    paths = simulate(
        args.outdir,
        args.visits,
        args.ccds,
        args.size,
        args.first_visit,
        args.seed,
        args.kind,
        args.filter,
        args.mjd,
    )
    print(
        f"wrote {len(paths)} {args.kind} raws ({args.visits} visits x {args.ccds} CCDs) "
        f"and their truth files to {args.outdir}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
