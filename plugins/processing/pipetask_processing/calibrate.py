"""``calibrate`` (LSST's ``CalibrateTask``): detect to the full depth, deblend, measure.

As a subtask of ``processCcd`` it works on the characterized exposure. As a command-line
task it re-measures an existing ``calexp`` (a measurement-only rerun) and writes ``src``.
"""

from __future__ import annotations

import numpy as np
from pipetask import (
    ButlerError,
    Config,
    ConfigField,
    ConfigurableField,
    Field,
    Struct,
    Task,
    TaskError,
    timeMethod,
)
from pipetask.pipeline import Connections, Input, Output

from .apcorr import MeasureApCorrConfig, measureApCorr
from .deblend import SepDeblendTask
from .detection import SepDetectionTask
from .imaging import SIGMA_TO_FWHM
from .measurement import SepMeasurementTask, apertureName

#: Keywords of the PSF in the calexp's metadata and the catalog's header.
PSF_KEYS = ("PSFSIGMA", "PSF_FWHM", "PSFNSTAR", "PSFFALLB")


class CalibrateConnections(Connections):
    """As a command-line task: one quantum per calexp, re-measured into src."""

    calexp = Input("calexp", doc="the calibrated exposure to re-measure")
    src = Output("src", doc="source catalog (FITS binary table)")


class CalibrateConfig(Config):
    connections = CalibrateConnections.makeField()
    detection = ConfigurableField(doc="Detect sources", target=SepDetectionTask)
    doDeblend = Field(doc="Run deblender input exposure", dtype=bool, default=True)
    deblend = ConfigurableField(
        doc="Split blended sources into their components", target=SepDeblendTask
    )
    measurement = ConfigurableField(doc="Measure sources", target=SepMeasurementTask)
    doApCorr = Field(doc="Run subtask to apply aperture correction", dtype=bool, default=True)
    measureApCorr = ConfigField(
        doc="Aperture correction of the PSF fluxes", dtype=MeasureApCorrConfig
    )


class CalibrateTask(Task):
    """Detect, deblend and measure the sources of a characterized exposure."""

    ConfigClass = CalibrateConfig
    _DefaultName = "calibrate"
    inputDatasetType = "calexp"
    outputDatasetTypes = ("src",)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name in ("detection", "deblend", "measurement"):
            self.makeSubtask(name)

    @timeMethod
    def run(self, exposure, background=None, psf: Struct | None = None) -> Struct:
        """Detect and measure the sources of ``exposure`` (background-subtracted).

        Parameters
        ----------
        exposure : Exposure
            Modified in place: DETECTED mask, background re-estimated.
        background : ndarray, optional
            The background already subtracted; the re-estimate is added to it.
        psf : Struct, optional
            ``sigma``, ``fwhm``, ``nStars``, ``fallback`` (from charImage); read from the
            exposure's metadata when not given.

        Returns
        -------
        Struct
            ``exposure``, ``sourceCat`` (astropy Table), ``background``.
        """
        psf = psf if psf is not None else psfFromMetadata(exposure)
        writePsfMetadata(exposure, psf)
        detection = self.detection.run(exposure, psf.sigma)
        if detection.background is not None:
            background = (
                detection.background if background is None else (background + detection.background)
            )
        children = None
        if self.config.doDeblend:
            deblend = self.deblend.run(exposure, detection)
            children, nChild = deblend.children, deblend.nChild
        if children is None:
            from .footprints import Footprints

            children = Footprints.empty(exposure.maskedImage.shape)
            nChild = np.zeros(len(detection.footprints), int)
        table = self.measurement.run(exposure, detection.footprints, children, nChild, psf.sigma)
        if len(detection.footprints) == 0:
            self.log.warning("No sources detected above the threshold")
        self._applyApCorr(table, psf)
        meta = table.meta
        for key in PSF_KEYS:
            meta[key] = exposure.metadata[key]
        meta["THRESH"] = self.detection.config.thresholdValue
        meta["THRTYPE"] = self.detection.config.thresholdType
        meta["NOISE"] = float(detection.noise)  # of the PSF-smoothed image
        self.metadata["numSources"] = len(table)
        return Struct(exposure=exposure, sourceCat=table, background=background)

    def _applyApCorr(self, table, psf) -> None:
        if not self.config.doApCorr:
            return
        radii = self.measurement.config.base_CircularApertureFlux.radii
        calibName = self.measurement.config.slots.calibFlux
        radius = next(r for r in radii if apertureName(r) == calibName)
        result = measureApCorr(self.config.measureApCorr, table, calibName, radius, psf.sigma)
        if len(table):
            table["base_PsfFlux_instFlux"] *= result.value
            table["base_PsfFlux_instFluxErr"] *= result.value
            table["base_PsfFlux_apCorr"] = np.full(len(table), result.value)
            table["base_PsfFlux_apCorrErr"] = np.full(len(table), result.error)
        table.meta["APCORR"] = result.value  # PsfFlux -> calibration aperture
        table.meta["APCORRN"] = result.nStars
        table.meta["APCORRFR"] = result.source  # stars: measured; psf: from the model
        if result.source == "stars":
            self.log.info("Aperture correction %.4f (from %d stars)", result.value, result.nStars)
        else:
            self.log.info(
                "Aperture correction %.4f (from the PSF model: %d usable stars, fewer than %d)",
                result.value,
                result.nStars,
                self.config.measureApCorr.minStars,
            )

    @timeMethod
    def runDataRef(self, dataRef) -> Struct:
        """Re-measure the stored ``calexp`` of ``dataRef``; write ``src``."""
        self.log.info("Processing data ID %s", dataRef.dataId)
        try:
            exposure = dataRef.get(self.config.connections.calexp)
        except ButlerError as exc:
            raise TaskError(
                f"no calexp to re-measure for data ID {dataRef.dataId} (run processCcd "
                f"first): {exc}"
            ) from None
        result = self.run(exposure)
        dataRef.put(result.sourceCat, self.config.connections.src)
        return result


def writePsfMetadata(exposure, psf: Struct) -> None:
    """Record the PSF in the exposure's metadata."""
    meta = exposure.metadata
    meta["PSFSIGMA"] = (round(float(psf.sigma), 6), "Gaussian PSF sigma (pixels)")
    meta["PSF_FWHM"] = (round(float(psf.sigma) * SIGMA_TO_FWHM, 6), "PSF FWHM (pixels)")
    meta["PSFNSTAR"] = (int(psf.nStars), "stars the PSF width was measured on")
    meta["PSFFALLB"] = (bool(psf.fallback), "True: too few stars, configured width")


def psfFromMetadata(exposure) -> Struct:
    """The PSF an earlier run recorded in ``exposure``'s metadata."""
    meta = exposure.metadata
    if "PSFSIGMA" not in meta:
        raise TaskError(
            "the exposure has no PSFSIGMA in its metadata: not a calexp of "
            "processCcd, or give calibrate.run a psf"
        )
    sigma = float(meta["PSFSIGMA"])
    return Struct(
        sigma=sigma,
        fwhm=sigma * SIGMA_TO_FWHM,
        nStars=int(meta.get("PSFNSTAR", 0)),
        fallback=bool(meta.get("PSFFALLB", False)),
    )
