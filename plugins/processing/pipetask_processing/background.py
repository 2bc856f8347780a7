"""Background subtraction (LSST's ``SubtractBackgroundTask``), with sep and photutils backends.

A backend task's ``run(exposure)`` estimates the sky on a mesh of ``binSize`` boxes,
ignoring the pixels of ``ignoredPixelMask``, interpolates it to every pixel, subtracts it
from the image in place and returns the model.
"""

from __future__ import annotations

import numpy as np
from pipetask import ChoiceField, Config, Field, ListField, RangeField, Struct, Task

from .backends import requireLibrary
from .imaging import clippedStd, sample


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
    """photutils' Background2D with SExtractor's estimator."""

    numSigmaClip = Field(
        doc="Clipping threshold of each box's pixels (sigma)", dtype=float, default=3.0
    )


class PhotutilsBackgroundTask(BackgroundTaskBase):
    """Background mesh by photutils ``Background2D`` (SExtractor's estimator, spline)."""

    ConfigClass = PhotutilsBackgroundConfig

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._bg = requireLibrary("photutils.background", self.getFullName())

    def estimate(self, image, ignored, binSize):
        from astropy.stats import SigmaClip

        size = self.config.filterSize
        result = self._bg.Background2D(
            image,
            binSize,
            mask=ignored,
            filter_size=(size, size),
            sigma_clip=SigmaClip(sigma=self.config.numSigmaClip, maxiters=10, cenfunc="mean"),
            bkg_estimator=self._bg.SExtractorBackground(),
            exclude_percentile=50.0,
        )
        return result.background, float(result.background_rms_median)
