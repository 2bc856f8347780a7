"""``processCcd``: raw -> ``isr`` -> ``charImage`` -> ``calibrate``; writes ``calexp``,
``calexpBackground`` and the ``src`` catalog."""

from __future__ import annotations

import os

from pipetask import (
    ButlerError,
    Config,
    ConfigurableField,
    Field,
    Struct,
    Task,
    TaskError,
    debug,
    timeMethod,
)
from pipetask.pipeline import Connections, Input, Output
from pipetask_isr.isr_task import IsrTask

from .calibrate import CalibrateTask
from .characterize import CharacterizeImageTask


class ReadPostIsrConfig(Config):
    """No fields."""


class ReadPostIsrTask(Task):
    """An ``isr`` retarget for data whose ISR is done: read the stored ``postISRCCD``."""

    ConfigClass = ReadPostIsrConfig
    _DefaultName = "isr"

    def runDataRef(self, dataRef) -> Struct:
        try:
            exposure = dataRef.get("postISRCCD")
        except ButlerError as exc:
            raise TaskError(
                f"no postISRCCD for data ID {dataRef.dataId} (isr is retargeted to "
                f"readPostIsrCcd; run isrTask with doWrite first): {exc}"
            ) from None
        return Struct(exposure=exposure)


class ProcessCcdConnections(Connections):
    """One quantum per raw: the calibrated exposure, its background and its sources."""

    raw = Input("raw", doc="the raw image, read by the isr subtask")
    calexp = Output("calexp", doc="calibrated exposure: image, mask, variance, WCS, PSF width")
    calexpBackground = Output("calexpBackground", doc="the background subtracted from calexp")
    src = Output("src", doc="source catalog (FITS binary table)")


class ProcessCcdConfig(Config):
    connections = ProcessCcdConnections.makeField()
    isr = ConfigurableField(
        doc="Task to perform instrumental signature removal or load a post-ISR image "
        "(retarget to readPostIsrCcd to start from stored postISRCCDs)",
        target=IsrTask,
    )
    charImage = ConfigurableField(
        doc="Task to characterize a science exposure: cosmic rays, background, PSF",
        target=CharacterizeImageTask,
    )
    doCalibrate = Field(doc="Perform calibration?", dtype=bool, default=True)
    calibrate = ConfigurableField(
        doc="Task to detect, deblend and measure the sources of the characterized exposure",
        target=CalibrateTask,
    )

    def setDefaults(self) -> None:
        super().setDefaults()
        self.isr.doWrite = False  # as in LSST: processCcd does not write postISRCCD


class ProcessCcdTask(Task):
    """Process one CCD: ISR, characterization, detection and measurement.

    With ``--debug`` and the debug variable ``display`` on (``[processCcd] display =
    true``), writes a PNG of the calexp with the mask planes in colour and the sources
    circled into ``display/`` of the output repository.
    """

    ConfigClass = ProcessCcdConfig
    _DefaultName = "processCcd"
    outputDatasetTypes = ("calexp", "calexpBackground", "src")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name in ("isr", "charImage", "calibrate"):
            self.makeSubtask(name)

    @timeMethod
    def runDataRef(self, dataRef) -> Struct:
        """Process the raw of ``dataRef``; write calexp, calexpBackground and src."""
        self.log.info("Processing data ID %s", dataRef.dataId)
        exposure = self.isr.runDataRef(dataRef).exposure
        result = self.run(exposure)
        if result.sourceCat is None:
            raise TaskError("doCalibrate is off: nothing to write (calexp needs calibrate)")
        from pipetask_image import Exposure, MaskedImage

        background = Exposure(MaskedImage(result.background), filter=exposure.filter)
        background.metadata["BUNIT"] = exposure.metadata.get("BUNIT", "")
        names = self.config.connections
        # The catalog last: it is what users look for.
        dataRef.put(result.exposure, names.calexp)
        dataRef.put(background, names.calexpBackground)
        dataRef.put(result.sourceCat, names.src)
        self.display(result, dataRef)
        return result

    def run(self, exposure) -> Struct:
        """Characterize and calibrate a post-ISR ``exposure`` (modified in place)."""
        char = self.charImage.run(exposure)
        if not self.config.doCalibrate:
            return Struct(
                exposure=char.exposure, background=char.background, sourceCat=None, psf=char.psf
            )
        cal = self.calibrate.run(char.exposure, char.background, char.psf)
        return Struct(
            exposure=cal.exposure, background=cal.background, sourceCat=cal.sourceCat, psf=char.psf
        )

    def display(self, result, dataRef) -> None:
        """Write the debug PNG when the debug variable ``display`` is on."""
        if not debug.Info(self.getFullName()).display:
            return
        from .display import showSources

        butler = getattr(dataRef, "getButler", None)
        root = str(butler().outputRoot) if butler else getattr(dataRef, "outputDir", ".")
        title = "calexp " + " ".join(f"{k}={v}" for k, v in dataRef.dataId.items())
        where = showSources(
            result.exposure,
            result.sourceCat,
            title=title,
            outputDir=os.path.join(root, "display"),
            psfFwhm=result.psf.fwhm,
        )
        self.log.info("display: %s", where)
