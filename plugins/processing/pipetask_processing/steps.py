"""processCcd split into pipeline steps, as LSST split it: ``characterizeImage`` reads the
``postISRCCD`` that ``isrTask`` writes and writes the intermediates ``icExp``,
``icExpBackground`` and ``icSrc``; ``calibrateImage`` reads them and writes ``calexp``,
``calexpBackground`` and ``src``. Each is the processCcd subtask of the same name with
connections, so with the same configs the pipeline's catalogs are processCcd's, bit for
bit (the PSF width travels in ``icExp``'s header exactly, as ``float.hex``).
"""

from __future__ import annotations

from pipetask import Struct, timeMethod
from pipetask.pipeline import Connections, Input, Output

from .calibrate import CalibrateConfig, CalibrateTask, writePsfMetadata
from .characterize import CharacterizeImageConfig, CharacterizeImageTask
from .imaging import SIGMA_TO_FWHM

#: Header keyword of the PSF sigma written exactly (``float.hex``) in ``icExp``.
EXACT_SIGMA = "PSFSIGHX"


class CharacterizeImageConnections(Connections):
    """One quantum per CCD: the post-ISR exposure in, the characterized one out."""

    exposure = Input("postISRCCD", doc="the exposure after ISR (electrons)")
    characterized = Output(
        "icExp", doc="background-subtracted, cosmic rays repaired, PSF width in the header"
    )
    backgroundModel = Output("icExpBackground", doc="the background subtracted from icExp")
    sourceCat = Output("icSrc", doc="the bright sources the PSF width was measured from")


class CharacterizeImageStepConfig(CharacterizeImageConfig):
    connections = CharacterizeImageConnections.makeField()


class CharacterizeImageStepTask(CharacterizeImageTask):
    """``charImage`` as a pipeline step: postISRCCD -> icExp, icExpBackground, icSrc."""

    ConfigClass = CharacterizeImageStepConfig
    _DefaultName = "characterizeImage"

    @timeMethod
    def runQuantum(self, butlerQC, inputRefs, outputRefs) -> Struct:
        """Characterize one CCD and write its three intermediates."""
        self.log.info("Characterizing data ID %s", butlerQC.dataId)
        exposure = butlerQC.get(inputRefs.exposure)
        result = self.run(exposure)
        writePsfMetadata(result.exposure, result.psf)
        result.exposure.metadata[EXACT_SIGMA] = (
            float(result.psf.sigma).hex(),
            "PSFSIGMA exactly (float.hex)",
        )
        butlerQC.put(result.exposure, outputRefs.characterized)
        butlerQC.put(backgroundExposure(result.background, exposure), outputRefs.backgroundModel)
        butlerQC.put(psfSources(result), outputRefs.sourceCat)
        return result


class CalibrateImageConnections(Connections):
    """One quantum per CCD: the characterized exposure in, the calexp and catalog out."""

    exposure = Input("icExp", doc="the characterized exposure")
    background = Input("icExpBackground", doc="the background characterizeImage subtracted")
    outputExposure = Output("calexp", doc="calibrated exposure: image, mask, variance, PSF")
    outputBackground = Output("calexpBackground", doc="the whole background subtracted")
    outputCat = Output("src", doc="source catalog (FITS binary table)")


class CalibrateImageConfig(CalibrateConfig):
    connections = CalibrateImageConnections.makeField()


class CalibrateImageTask(CalibrateTask):
    """``calibrate`` as a pipeline step: icExp, icExpBackground -> calexp,
    calexpBackground, src (the command ``pipetask run calibrate`` re-measures a calexp)."""

    ConfigClass = CalibrateImageConfig
    _DefaultName = "calibrateImage"
    inputDatasetType = "icExp"
    outputDatasetTypes = ("calexp", "calexpBackground", "src")

    @timeMethod
    def runQuantum(self, butlerQC, inputRefs, outputRefs) -> Struct:
        """Detect, deblend and measure one characterized CCD; write its calexp and src."""
        self.log.info("Calibrating data ID %s", butlerQC.dataId)
        exposure = butlerQC.get(inputRefs.exposure)
        background = butlerQC.get(inputRefs.background).image
        result = self.run(exposure, background, psfFromCharacterized(exposure))
        butlerQC.put(result.exposure, outputRefs.outputExposure)
        butlerQC.put(backgroundExposure(result.background, exposure), outputRefs.outputBackground)
        butlerQC.put(result.sourceCat, outputRefs.outputCat)
        return result


def psfFromCharacterized(exposure) -> Struct:
    """The PSF characterizeImage recorded in ``icExp``'s header (its sigma exactly)."""
    from .calibrate import psfFromMetadata

    psf = psfFromMetadata(exposure)
    exact = exposure.metadata.get(EXACT_SIGMA)
    if exact is not None:
        psf.sigma = float.fromhex(str(exact))
        psf.fwhm = psf.sigma * SIGMA_TO_FWHM
    return psf


def backgroundExposure(background, exposure):
    """A background model as an Exposure with the image's filter and units."""
    from pipetask_image import Exposure, MaskedImage

    model = Exposure(MaskedImage(background), filter=exposure.filter)
    model.metadata["BUNIT"] = exposure.metadata.get("BUNIT", "")
    return model


def psfSources(result: Struct):
    """``icSrc``: the detections of charImage's last pass (its PSF candidates): peak
    position, area and peak value, with the PSF in the header."""
    import numpy as np
    from astropy.table import Table

    detection = result.detection
    table = Table()
    if detection is None:
        n, footprints, smoothed = 0, None, None
    else:
        footprints, smoothed = detection.footprints, detection.smoothed
        n = len(footprints)
    table["id"] = np.arange(1, n + 1, dtype=np.int64)
    x = footprints.xPeak if n else np.zeros(0, int)
    y = footprints.yPeak if n else np.zeros(0, int)
    table["x_peak"] = np.asarray(x, np.int32)
    table["y_peak"] = np.asarray(y, np.int32)
    table["area"] = footprints.area().astype(np.int32) if n else np.zeros(0, np.int32)
    peaks = np.asarray(smoothed)[y, x] if n else np.zeros(0)
    table["peak_smoothed"] = np.asarray(peaks, np.float32)
    table.meta["PSFSIGMA"] = float(result.psf.sigma)
    table.meta["PSFNSTAR"] = int(result.psf.nStars)
    table.meta["PSFFALLB"] = bool(result.psf.fallback)
    return table
