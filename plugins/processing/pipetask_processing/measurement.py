"""Source measurement (LSST's ``SingleFrameMeasurementTask``), with sep and photutils backends.

One row per source: every detection footprint, and, for a footprint the deblender split,
each child too (``parent`` is the row id of its footprint, ``deblend_nChild`` counts a
parent's children). Columns keep LSST's names:

- ``id``, ``parent``, ``deblend_nChild``, ``coord_ra``, ``coord_dec`` (degrees, from the
  exposure's WCS);
- ``slot_Centroid_x``/``_y`` (+ ``Err``, ``_flag``): the backend's centroid (sep: windowed
  position; photutils: a 2-D Gaussian fitted in a box);
- ``base_SdssShape_xx``/``_yy``/``_xy``/``_flag``: adaptive Gaussian-weighted second
  moments (pixels squared);
- ``base_PsfFlux_instFlux``/``Err``/``_flag``: amplitude of the Gaussian PSF model,
  aperture-corrected by the calibrate task (``base_PsfFlux_apCorr``);
- ``base_CircularApertureFlux_<r>_instFlux``/``Err``/``_flag`` for each radius (the
  backend's exact circular apertures; ``12_0`` is the calibration flux);
- ``ext_photometryKron_KronFlux_instFlux``/``Err``/``_radius``/``_flag``;
- ``base_PixelFlags_flag_<plane>`` (any footprint pixel) and ``..._<plane>Center`` (the
  3x3 pixels at the centroid) for edge, bad, saturated, cr, interpolated.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
from pipetask import Config, ConfigField, Field, FieldValidationError, ListField, Struct, Task

from .backends import requireLibrary
from .footprints import Footprints
from .imaging import adaptiveMoments, psfFlux

#: How far (in PSF sigmas) a child's centroid may move from the deblender's centre.
CHILD_MAX_SHIFT = 0.5

#: Pixel flag name -> mask plane.
PIXEL_FLAGS = {
    "edge": "EDGE",
    "bad": "BAD",
    "saturated": "SAT",
    "cr": "CR",
    "interpolated": "INTRP",
}


def apertureName(radius: float) -> str:
    """LSST's name of a circular aperture: ``base_CircularApertureFlux_12_0``."""
    return "base_CircularApertureFlux_" + f"{radius:.1f}".replace(".", "_")


class CircularApertureFluxConfig(Config):
    radii = ListField(
        doc="Radius (in pixels) of apertures.",
        dtype=float,
        default=[3.0, 4.5, 6.0, 9.0, 12.0, 17.0, 25.0, 35.0, 50.0, 70.0],
        minLength=1,
        itemCheck=lambda r: r > 0,
    )


class KronFluxConfig(Config):
    nRadiusForFlux = Field(doc="Number of Kron radii for Kron flux", dtype=float, default=2.5)
    nSigmaForRadius = Field(
        doc="Multiplier of rms size for aperture used to initially estimate the Kron radius",
        dtype=float,
        default=6.0,
    )
    minimumRadius = Field(
        doc="Minimum Kron radius (pixels); smaller radii become this circle",
        dtype=float,
        default=1.75,
    )


class SlotsConfig(Config):
    calibFlux = Field(
        doc="The name of the flux measurement algorithm used for calibration",
        dtype=str,
        default="base_CircularApertureFlux_12_0",
    )
    psfFlux = Field(
        doc="The name of the algorithm used to set the source psf flux slot",
        dtype=str,
        default="base_PsfFlux",
    )


class SingleFrameMeasurementConfig(Config):
    """Config of every measurement backend (LSST plugin names where they apply)."""

    base_CircularApertureFlux = ConfigField(
        doc="Circular aperture fluxes", dtype=CircularApertureFluxConfig
    )
    ext_photometryKron_KronFlux = ConfigField(doc="Kron fluxes", dtype=KronFluxConfig)
    slots = ConfigField(doc="Mapping from algorithms to special aliases", dtype=SlotsConfig)
    centerFlagRadius = Field(
        doc="Half-size of the box around the centroid for the ..._<plane>Center pixel flags",
        dtype=int,
        default=1,
    )

    def validate(self) -> None:
        super().validate()
        names = {apertureName(r) for r in self.base_CircularApertureFlux.radii}
        if self.slots.calibFlux not in names:
            raise FieldValidationError(
                "slots.calibFlux",
                f"{self.slots.calibFlux!r} is not one of the apertures that "
                f"base_CircularApertureFlux.radii gives: {', '.join(sorted(names))}",
            )


class SingleFrameMeasurementTask(Task):
    """Shared driver: rows, shapes, PSF fluxes, pixel flags, sky coordinates."""

    ConfigClass = SingleFrameMeasurementConfig
    _DefaultName = "measurement"

    def run(self, exposure, footprints: Footprints, children: Footprints, nChild, psfSigma):
        """Measure every footprint and child of ``exposure``; return an astropy Table."""
        from astropy.table import Table

        mi = exposure.maskedImage
        image = np.nan_to_num(mi.image).astype(np.float32)
        variance = np.nan_to_num(mi.variance).astype(np.float32)
        nParent, nKids = len(footprints), len(children)
        nRows = nParent + nKids
        ids = np.arange(1, nRows + 1, dtype=np.int64)
        parentCol = np.zeros(nRows, np.int64)
        parentCol[nParent:] = children.parent + 1
        nChildCol = np.zeros(nRows, np.int32)
        nChildCol[:nParent] = nChild if len(nChild) else 0
        xPeak = np.concatenate([footprints.xPeak, children.xPeak]).astype(float)
        yPeak = np.concatenate([footprints.yPeak, children.yPeak]).astype(float)

        table = Table()
        table["id"] = ids
        table["parent"] = parentCol
        table["deblend_nChild"] = nChildCol
        if nRows == 0:
            return self._emptyColumns(table)

        if nKids and children.xCenter is not None:
            xPeak[nParent:], yPeak[nParent:] = children.xCenter, children.yCenter
        x, y, flag = self.centroids(image, variance, xPeak, yPeak, psfSigma)
        rows, cols = image.shape
        flag |= ~((x >= -0.5) & (x < cols - 0.5) & (y >= -0.5) & (y < rows - 0.5))  # off the image
        if nKids:
            # A window around a child takes in its neighbours' light and can slide onto
            # one of them: keep the deblender's centre when it moves too far.
            moved = np.hypot(x - xPeak, y - yPeak) > CHILD_MAX_SHIFT * psfSigma
            flag[nParent:] |= moved[nParent:]
        x = np.where(flag, xPeak, x)
        y = np.where(flag, yPeak, y)
        if nKids:
            flag[nParent:] = False  # the deblender's centre is a measurement too
        mx, my, xx, yy, xy, shapeOk = adaptiveMoments(image, x, y, psfSigma)
        flux, fluxErr = psfFlux(image, variance, x, y, psfSigma)
        snr = np.where(fluxErr > 0, flux / fluxErr, 0.0)
        posErr = math.sqrt(2.0) * psfSigma / np.clip(snr, 1e-3, None)

        ra, dec = self._skyCoords(exposure, x, y)
        table["coord_ra"] = ra
        table["coord_dec"] = dec
        table["coord_ra"].unit = table["coord_dec"].unit = "deg"
        table["slot_Centroid_x"] = x
        table["slot_Centroid_y"] = y
        table["slot_Centroid_xErr"] = posErr
        table["slot_Centroid_yErr"] = posErr
        table["slot_Centroid_flag"] = flag
        table["base_SdssShape_xx"] = np.where(shapeOk, xx, np.nan)
        table["base_SdssShape_yy"] = np.where(shapeOk, yy, np.nan)
        table["base_SdssShape_xy"] = np.where(shapeOk, xy, np.nan)
        table["base_SdssShape_flag"] = ~shapeOk
        table["base_PsfFlux_instFlux"] = flux
        table["base_PsfFlux_instFluxErr"] = fluxErr
        table["base_PsfFlux_flag"] = ~np.isfinite(flux)

        radii = list(self.config.base_CircularApertureFlux.radii)
        apFlux, apErr, apFlag = self.apertureFluxes(image, variance, x, y, radii)
        for j, radius in enumerate(radii):
            name = apertureName(radius)
            table[name + "_instFlux"] = apFlux[:, j]
            table[name + "_instFluxErr"] = apErr[:, j]
            table[name + "_flag"] = apFlag[:, j]

        shape = (
            np.where(shapeOk, xx, psfSigma**2),
            np.where(shapeOk, yy, psfSigma**2),
            np.where(shapeOk, xy, 0.0),
        )
        kron = self.kronFluxes(image, variance, x, y, shape, footprints, children)
        prefix = "ext_photometryKron_KronFlux"
        table[prefix + "_instFlux"] = kron.flux
        table[prefix + "_instFluxErr"] = kron.fluxErr
        table[prefix + "_radius"] = kron.radius
        table[prefix + "_flag"] = kron.flag

        self._pixelFlags(table, mi, footprints, children, x, y)
        self.log.info("Measured %d sources (%d deblended children)", nRows, nKids)
        return table

    def _emptyColumns(self, table):
        for name in ("coord_ra", "coord_dec", "slot_Centroid_x", "slot_Centroid_y"):
            table[name] = np.zeros(0)
        return table

    def _skyCoords(self, exposure, x, y):
        wcs = exposure.wcs
        if wcs is None or not wcs.has_celestial:
            return np.full(len(x), np.nan), np.full(len(x), np.nan)
        ra, dec = wcs.celestial.all_pix2world(x, y, 0)
        return np.asarray(ra, float), np.asarray(dec, float)

    def _pixelFlags(self, table, mi, footprints, children, x, y) -> None:
        rows, cols = mi.shape
        half = self.config.centerFlagRadius
        cx = np.clip(np.rint(x).astype(int), 0, cols - 1)
        cy = np.clip(np.rint(y).astype(int), 0, rows - 1)
        nearEdge = (cx < half) | (cy < half) | (cx >= cols - half) | (cy >= rows - half)
        for flag, plane in PIXEL_FLAGS.items():
            if plane in mi.maskPlanes:
                hit = (mi.mask & mi.getPlaneBitMask(plane)) != 0
            else:
                hit = np.zeros(mi.shape, bool)
            anywhere = np.concatenate([footprints.anyOf(hit), children.anyOf(hit)])
            center = np.zeros(len(x), bool)
            for dy in range(-half, half + 1):
                for dx in range(-half, half + 1):
                    center |= hit[np.clip(cy + dy, 0, rows - 1), np.clip(cx + dx, 0, cols - 1)]
            if flag == "edge":
                anywhere |= nearEdge
                center |= nearEdge
            table[f"base_PixelFlags_flag_{flag}"] = anywhere
            table[f"base_PixelFlags_flag_{flag}Center"] = center

    # -- what a backend provides -----------------------------------------------------------
    def centroids(self, image, variance, x0, y0, psfSigma):
        """Refined (x, y, flag) from the peaks (x0, y0)."""
        raise NotImplementedError

    def apertureFluxes(self, image, variance, x, y, radii):
        """Exact circular aperture sums: (flux, error, flag), each (N, len(radii))."""
        raise NotImplementedError

    def kronFluxes(self, image, variance, x, y, shape, footprints, children) -> Struct:
        """Kron fluxes: Struct(flux, fluxErr, radius, flag)."""
        raise NotImplementedError


def ellipseAxes(xx, yy, xy):
    """Semi-axes (a, b) and position angle (radians) of the moments' ellipse."""
    half = 0.5 * (xx + yy)
    diff = np.sqrt(0.25 * (xx - yy) ** 2 + xy**2)
    a = np.sqrt(np.clip(half + diff, 1e-6, None))
    b = np.sqrt(np.clip(half - diff, 1e-6, None))
    theta = 0.5 * np.arctan2(2 * xy, xx - yy)
    return a, b, theta


class SepMeasurementTask(SingleFrameMeasurementTask):
    """Windowed centroids, exact apertures and Kron fluxes by sep."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._sep = requireLibrary("sep", self.getFullName())

    def centroids(self, image, variance, x0, y0, psfSigma):
        x, y, flag = self._sep.winpos(image, x0, y0, np.full(len(x0), psfSigma))
        bad = (flag != 0) | ~np.isfinite(x) | ~np.isfinite(y)
        bad |= (np.abs(x - x0) > 3 * psfSigma) | (np.abs(y - y0) > 3 * psfSigma)
        return x, y, bad

    def apertureFluxes(self, image, variance, x, y, radii):
        n = len(x)
        flux = np.empty((n, len(radii)))
        err = np.empty((n, len(radii)))
        flag = np.empty((n, len(radii)), bool)
        for j, radius in enumerate(radii):
            f, e, fl = self._sep.sum_circle(image, x, y, radius, var=variance, subpix=0)
            flux[:, j], err[:, j], flag[:, j] = f, e, fl != 0
        return flux, err, flag

    def kronFluxes(self, image, variance, x, y, shape, footprints, children):
        cfg = self.config.ext_photometryKron_KronFlux
        a, b, theta = ellipseAxes(*shape)
        kronrad, kflag = self._sep.kron_radius(image, x, y, a, b, theta, cfg.nSigmaForRadius)
        kronrad = np.where(np.isfinite(kronrad) & (kronrad > 0), kronrad, 0.0)
        radius = kronrad * np.sqrt(a * b)
        small = radius * cfg.nRadiusForFlux < cfg.minimumRadius
        scale = np.where(small, 1.0, cfg.nRadiusForFlux * kronrad)
        flux, err, flag = self._sep.sum_ellipse(
            image,
            x,
            y,
            np.where(small, cfg.minimumRadius, a),
            np.where(small, cfg.minimumRadius, b),
            np.where(small, 0.0, theta),
            scale,
            var=variance,
            subpix=1,
        )
        return Struct(flux=flux, fluxErr=err, radius=radius, flag=(flag != 0) | (kflag != 0))


class PhotutilsMeasurementTask(SingleFrameMeasurementTask):
    """Gaussian-fit centroids, exact apertures and Kron fluxes by photutils."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._ap = requireLibrary("photutils.aperture", self.getFullName())
        self._cen = requireLibrary("photutils.centroids", self.getFullName())
        self._seg = requireLibrary("photutils.segmentation", self.getFullName())

    def centroids(self, image, variance, x0, y0, psfSigma):
        # A 2-D Gaussian fitted in a box of +-3 PSF sigmas: the centre of light of a box
        # is pulled by noise and neighbours (0.1 px from sep's windowed centroid on
        # obs_test, against 0.02 px for the fit).
        box = 2 * max(2, int(math.ceil(3.0 * psfSigma))) + 1
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # astropy's fitter on a poor fit: flagged below
            x, y = self._cen.centroid_sources(
                image, x0, y0, box_size=box, centroid_func=self._cen.centroid_2dg
            )
        x, y = np.asarray(x, float), np.asarray(y, float)
        bad = ~np.isfinite(x) | ~np.isfinite(y)
        bad |= (np.abs(x - x0) > 3 * psfSigma) | (np.abs(y - y0) > 3 * psfSigma)
        return np.where(bad, x0, x), np.where(bad, y0, y), bad

    def apertureFluxes(self, image, variance, x, y, radii):
        positions = np.column_stack([x, y])
        apertures = [self._ap.CircularAperture(positions, r=r) for r in radii]
        result = self._ap.aperture_photometry(
            image, apertures, error=np.sqrt(np.clip(variance, 0, None)), method="exact"
        )
        flux = np.column_stack([np.asarray(result[f"aperture_sum_{j}"]) for j in range(len(radii))])
        err = np.column_stack(
            [np.asarray(result[f"aperture_sum_err_{j}"]) for j in range(len(radii))]
        )
        rows, cols = image.shape
        flag = np.column_stack(
            [
                (x - r < -0.5) | (y - r < -0.5) | (x + r > cols - 0.5) | (y + r > rows - 0.5)
                for r in radii
            ]
        )
        return flux, err, flag

    def kronFluxes(self, image, variance, x, y, shape, footprints, children):
        cfg = self.config.ext_photometryKron_KronFlux
        n = len(x)
        flux = np.full(n, np.nan)
        err = np.full(n, np.nan)
        radius = np.full(n, np.nan)
        error = np.sqrt(np.clip(variance, 0, None))
        params = (cfg.nRadiusForFlux, cfg.minimumRadius, 0.0)
        # Leaves (isolated footprints and children) measured on one label image,
        # the parents of blends on the detection footprints.
        leaves = footprints.labels.copy()
        nParent = len(footprints)
        blended = np.zeros(nParent + 1, bool)
        blended[children.parent + 1] = True
        leaves[blended[leaves]] = 0
        childPixels = children.labels > 0
        leaves[childPixels] = children.labels[childPixels] + nParent
        rowsOfLabel = {}
        for label in np.unique(leaves[leaves > 0]):
            rowsOfLabel[int(label)] = int(label) - 1
        for labels, wanted in (
            (leaves, sorted(rowsOfLabel)),
            (footprints.labels, [int(p) + 1 for p in np.flatnonzero(blended[1:])]),
        ):
            if not wanted:
                continue
            cat = self._seg.SourceCatalog(
                image, self._seg.SegmentationImage(labels), error=error, kron_params=params
            )
            # photutils 3 renamed these; 2.x has only the old names.
            select = "select_labels" if hasattr(type(cat), "select_labels") else "get_labels"
            cat = getattr(cat, select)(wanted)
            index = np.asarray(wanted) - 1
            flux[index] = np.asarray(cat.kron_flux, float)
            errName = "kron_flux_err" if hasattr(type(cat), "kron_flux_err") else "kron_fluxerr"
            err[index] = np.asarray(getattr(cat, errName), float)
            radius[index] = np.asarray(cat.kron_radius.value, float)
        return Struct(flux=flux, fluxErr=err, radius=radius, flag=~np.isfinite(flux))
