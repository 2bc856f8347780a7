"""``charImage`` (LSST's ``CharacterizeImageTask``): repair cosmic rays, subtract the
background, detect bright sources and measure the PSF from them."""

from __future__ import annotations

import numpy as np
from pipetask import (
    Config,
    ConfigurableField,
    Field,
    RangeField,
    Struct,
    Task,
    TaskError,
    timeMethod,
)

from .background import SepBackgroundTask
from .detection import SepDetectionTask
from .measure_psf import MeasurePsfTask
from .repair import AstroscrappyRepairTask


class CharacterizeImageConfig(Config):
    repair = ConfigurableField(
        doc="Remove cosmic rays (retarget to noRepair to leave them)", target=AstroscrappyRepairTask
    )
    background = ConfigurableField(
        doc="Configuration for initial background estimation", target=SepBackgroundTask
    )
    detection = ConfigurableField(doc="Detect sources", target=SepDetectionTask)
    measurePsf = ConfigurableField(doc="Measure PSF", target=MeasurePsfTask)
    doMeasurePsf = Field(
        doc="Measure the PSF? If False, use measurePsf.fallbackFwhm", dtype=bool, default=True
    )
    psfIterations = RangeField(
        doc="Number of iterations of detect sources, measure sources, estimate PSF",
        dtype=int,
        default=2,
        min=1,
    )

    def setDefaults(self) -> None:
        super().setDefaults()
        # Only bright sources are needed to measure the PSF (LSST's charImage default).
        self.detection.includeThresholdMultiplier = 10.0


class CharacterizeImageTask(Task):
    """Characterize an exposure after ISR: cosmic rays, background, PSF."""

    ConfigClass = CharacterizeImageConfig
    _DefaultName = "charImage"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name in ("repair", "background", "detection", "measurePsf"):
            self.makeSubtask(name)

    @timeMethod
    def run(self, exposure) -> Struct:
        """Characterize ``exposure`` in place.

        Returns
        -------
        Struct
            ``exposure`` (background-subtracted, cosmic rays repaired), ``background``
            (the model subtracted, float32 array), ``psf`` (``sigma``, ``fwhm``,
            ``nStars``, ``fallback``), ``nCrPixels``, ``detection`` (the last detection
            of PSF stars, or None).
        """
        checkUsable(exposure)
        repair = self.repair.run(exposure)
        background = self.background.run(exposure).background
        psfTask = self.measurePsf
        sigma = psfTask.config.fallbackFwhm / 2.354820045
        psf = Struct(sigma=sigma, fwhm=psfTask.config.fallbackFwhm, nStars=0, fallback=True)
        detection = None
        if self.config.doMeasurePsf:
            for _ in range(self.config.psfIterations):
                detection = self.detection.run(exposure, psf.sigma)
                if detection.background is not None:
                    background = background + detection.background
                psf = psfTask.run(exposure, detection.footprints, psf.sigma)
                if psf.fallback:
                    break  # the same stars again would not do better
        else:
            self.log.info("doMeasurePsf is off: Gaussian PSF of FWHM %.3f", psf.fwhm)
        self.metadata["psfSigma"] = psf.sigma
        self.metadata["psfStars"] = psf.nStars
        self.metadata["nCrPixels"] = repair.nCrPixels
        return Struct(
            exposure=exposure,
            background=background,
            psf=psf,
            nCrPixels=repair.nCrPixels,
            detection=detection,
        )


def checkUsable(exposure) -> None:
    """Raise a one-line TaskError for an image nothing can be measured on."""
    mi = exposure.maskedImage
    finite = np.isfinite(mi.image)
    if not finite.any():
        raise TaskError("the image has no finite pixel (all NaN or infinite)")
    usable = finite.copy()
    for plane in ("SAT", "NO_DATA"):
        if plane in mi.maskPlanes:
            usable &= (mi.mask & mi.getPlaneBitMask(plane)) == 0
    if not usable.any():
        raise TaskError("every pixel is saturated or without data (SAT/NO_DATA everywhere)")
    values = mi.image[usable]
    if float(values.max()) == float(values.min()):
        raise TaskError(
            f"the image is flat (every usable pixel is {float(values[0])}): saturated or blank"
        )
    variance = mi.variance[usable]
    if not (np.isfinite(variance) & (variance > 0)).any():
        raise TaskError("the variance plane is empty (zero everywhere): run ISR with doVariance")
