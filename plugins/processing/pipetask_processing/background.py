"""Background subtraction (LSST's ``SubtractBackgroundTask``), with sep and photutils backends.

A backend task's ``run(exposure)`` estimates the sky on a mesh of ``binSize`` boxes,
ignoring the pixels of ``ignoredPixelMask``, interpolates it to every pixel, subtracts it
from the image in place and returns the model. Both backends estimate each box by
SExtractor's clipped mode and share sep's median filter and spline over the mesh, so
they differ only by their box statistic; ``statisticsProperty`` sets the level for both.
"""

from __future__ import annotations

import numpy as np
from pipetask import ChoiceField, Config, Field, ListField, RangeField, Struct, Task, TaskError

from .backends import requireLibrary
from .imaging import clippedStd, sample

#: A box with fewer usable pixels than this fraction takes its value from its neighbours.
MIN_USABLE_FRACTION = 0.5


class SubtractBackgroundConfig(Config):
    """Config common to every background backend (LSST names and defaults)."""

    binSize = RangeField(
        doc="How large a region of the sky is used for each background point (pixels)",
        dtype=int,
        default=128,
        min=1,
    )
    ignoredPixelMask = ListField(
        doc="Names of mask planes to ignore while estimating the background",
        dtype=str,
        default=["BAD", "EDGE", "DETECTED", "DETECTED_NEGATIVE", "NO_DATA"],
    )
    filterSize = RangeField(
        doc="Median filter applied to the mesh of background points, in boxes per side (1: none)",
        dtype=int,
        default=3,
        min=1,
    )
    statisticsProperty = ChoiceField(
        doc="Level of the sky. Every backend estimates each box by SExtractor's clipped mode "
        "(2.5 median - 1.5 mean); MODE keeps that mesh as is; MEANCLIP (LSST's statistic) "
        "shifts it so that the clipped mean of the sky left after subtraction is zero (the "
        "mode of a Poisson sky sits about half a count below its mean, which biases faint "
        "fluxes up by a percent)",
        dtype=str,
        default="MEANCLIP",
        allowed={"MEANCLIP": "mode mesh, clipped-mean level", "MODE": "mode mesh as is"},
        optional=False,
    )


class BackgroundTaskBase(Task):
    """Shared driver: the mask of ignored pixels, the level, subtraction and the result."""

    ConfigClass = SubtractBackgroundConfig
    _DefaultName = "background"

    def run(self, exposure) -> Struct:
        """Estimate the background of ``exposure``, subtract it in place, return it.

        Returns
        -------
        Struct
            ``background`` (float32 array, the model), ``rms`` (global sky noise).
        """
        mi = exposure.maskedImage
        planes = [p for p in self.config.ignoredPixelMask if p in mi.maskPlanes]
        ignored = (mi.mask & mi.getPlaneBitMask(planes)) != 0 if planes else None
        bad = ~np.isfinite(mi.image)
        ignored = bad if ignored is None else ignored | bad
        binSize = min(self.config.binSize, *mi.shape)
        model, rms = self.estimate(mi.image, ignored, binSize)
        model = np.asarray(model, np.float32)
        if self.config.statisticsProperty == "MEANCLIP":
            offset, _ = clippedStd(sample(mi.image - model, ~ignored))
            if np.isfinite(offset):
                model += np.float32(offset)
        mi.image[...] -= model
        return Struct(background=model, rms=float(rms))

    def estimate(self, image: np.ndarray, ignored: np.ndarray, binSize: int):
        """The clipped-mode mesh interpolated to every pixel, and the global rms
        (backends implement this)."""
        raise NotImplementedError


class SepBackgroundTask(BackgroundTaskBase):
    """Background mesh by sep (SExtractor's clipped mode per box, bicubic spline)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._sep = requireLibrary("sep", self.getFullName())

    def estimate(self, image, ignored, binSize):
        data = np.ascontiguousarray(np.where(ignored, 0.0, image), dtype=np.float32)
        size = self.config.filterSize
        bkg = self._sep.Background(
            data, mask=np.ascontiguousarray(ignored), bw=binSize, bh=binSize, fw=size, fh=size
        )
        return bkg.back(), bkg.globalrms


class PhotutilsBackgroundConfig(SubtractBackgroundConfig):
    """photutils' SExtractor estimator per box."""

    numSigmaClip = Field(
        doc="Clipping threshold of each box's pixels (sigma, about their mean, as SExtractor)",
        dtype=float,
        default=3.0,
    )


class PhotutilsBackgroundTask(BackgroundTaskBase):
    """Each box's sky by photutils ``SExtractorBackground`` (SExtractor's clipped mode);
    the mesh median-filtered and interpolated as the default backend does it, so that the
    two backends differ only by their box statistic."""

    ConfigClass = PhotutilsBackgroundConfig

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        background = requireLibrary("photutils.background", self.getFullName())
        from astropy.stats import SigmaClip

        clip = SigmaClip(sigma=self.config.numSigmaClip, maxiters=10, cenfunc="mean")
        self._estimator = background.SExtractorBackground(sigma_clip=clip)
        self._sep = requireLibrary("sep", self.getFullName())

    def estimate(self, image, ignored, binSize):
        rows, cols = image.shape
        mesh = np.full((-(-rows // binSize), -(-cols // binSize)), np.nan)
        for i in range(mesh.shape[0]):
            for j in range(mesh.shape[1]):
                box = (slice(i * binSize, (i + 1) * binSize), slice(j * binSize, (j + 1) * binSize))
                values = image[box][~ignored[box]]
                if values.size >= max(2, MIN_USABLE_FRACTION * ignored[box].size):
                    mesh[i, j] = float(self._estimator.calc_background(values))
        model = interpolateMesh(
            self._sep, fillMesh(mesh), binSize, image.shape, self.config.filterSize
        )
        _, rms = clippedStd(sample(image - model, ~ignored))
        return model, rms


def fillMesh(mesh: np.ndarray) -> np.ndarray:
    """NaN boxes replaced by the mean of their finite neighbours, growing outwards."""
    mesh = mesh.copy()
    if not np.isfinite(mesh).any():
        raise TaskError("no box of the image has enough usable pixels to estimate the sky")
    while not np.isfinite(mesh).all():
        padded = np.pad(mesh, 1, constant_values=np.nan)
        shifted = np.stack(
            [padded[1 + dy : 1 + dy + mesh.shape[0], 1 + dx : 1 + dx + mesh.shape[1]]
             for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx]
        )  # fmt: skip
        counts = np.isfinite(shifted).sum(axis=0)
        sums = np.nansum(shifted, axis=0)
        fill = ~np.isfinite(mesh) & (counts > 0)
        mesh[fill] = sums[fill] / counts[fill]
    return mesh


def interpolateMesh(sep, mesh: np.ndarray, binSize: int, shape, filterSize: int) -> np.ndarray:
    """The mesh at every pixel, median-filtered and interpolated by sep's (SExtractor's)
    mesh code: given an image constant on each box, sep's box statistic is that constant."""
    rows, cols = shape
    boxes = np.kron(mesh, np.ones((binSize, binSize)))[:rows, :cols]
    boxes = np.ascontiguousarray(boxes, dtype=np.float32)
    size = filterSize
    return sep.Background(boxes, bw=binSize, bh=binSize, fw=size, fh=size).back()
