"""``isrTask``: instrument signature removal, raw -> ``postISRCCD``.

In order, per amplifier: saturation (raw ADU at or above the amplifier's level, grown by
``growSaturationFootprintSize``), overscan subtraction (``overscan`` subtask); then the
amplifiers are assembled and trimmed (``assembleCcd`` subtask) and multiplied by their
gains, so the output is in electrons; then bias subtraction, the variance plane (signal
plus read noise squared), defects (``BAD``), flat division and interpolation over
``maskListToInterpolate`` (``INTRP``). Config names and defaults are LSST's
``IsrTaskConfig``'s where they apply.
"""

from __future__ import annotations

import math
import os
from typing import Any

import numpy as np
from pipetask import (
    Config,
    ConfigurableField,
    Field,
    ListField,
    Struct,
    Task,
    TaskError,
    debug,
    timeMethod,
)
from pipetask.pipeline import Connections, Input, Output, PrerequisiteInput

from .assemble import AmpLayout, AssembleCcdTask, finite, layoutFor
from .interpolate import interpolateOverMask
from .overscan import OverscanTask


class IsrConnections(Connections):
    """One quantum per raw (its keys, whatever the camera); the calibrations are those
    valid at the raw's date."""

    ccdExposure = Input("raw", doc="the raw exposure, every amplifier with its overscan")
    bias = PrerequisiteInput("bias", doc="master bias from --calib (with doBias)")
    flat = PrerequisiteInput("flat", doc="master flat from --calib (with doFlat)")
    defects = PrerequisiteInput(
        "defects",
        doc="bad pixels from --calib, else the obs package's own list (with doDefect)",
        optional=True,
    )
    outputExposure = Output("postISRCCD", doc="the exposure after ISR, in electrons")

    @classmethod
    def disabled(cls, config) -> set[str]:
        flags = {
            "bias": config.doBias,
            "flat": config.doFlat,
            "defects": config.doDefect,
            "outputExposure": config.doWrite,
        }
        return {name for name, on in flags.items() if not on}


class IsrTaskConfig(Config):
    """Config of :class:`IsrTask` (LSST's ``IsrTaskConfig`` names and defaults)."""

    connections = IsrConnections.makeField()
    doOverscan = Field(
        doc="Subtract the overscan level of each amplifier?", dtype=bool, default=True
    )
    overscan = ConfigurableField(doc="Overscan fitting subtask", target=OverscanTask)
    assembleCcd = ConfigurableField(doc="CCD assembly and trimming subtask", target=AssembleCcdTask)
    doBias = Field(doc="Subtract the master bias (from --calib)?", dtype=bool, default=True)
    doFlat = Field(doc="Divide by the master flat (from --calib)?", dtype=bool, default=True)
    doDefect = Field(doc="Mask the defects as BAD?", dtype=bool, default=True)
    doSaturation = Field(doc="Mask saturated pixels as SAT?", dtype=bool, default=True)
    saturatedMaskName = Field(doc="Mask plane of saturated pixels", dtype=str, default="SAT")
    saturation = Field(
        doc="Saturation level (ADU) of amplifiers whose camera description gives none "
        "(NaN: do not mask them)",
        dtype=float,
        default=float("nan"),
    )
    growSaturationFootprintSize = Field(
        doc="Pixels by which to grow the saturated areas", dtype=int, default=1
    )
    gain = Field(
        doc="Gain (e-/ADU) of amplifiers whose camera description gives none (NaN: none)",
        dtype=float,
        default=float("nan"),
    )
    readNoise = Field(
        doc="Read noise (e-) of amplifiers whose camera description gives none",
        dtype=float,
        default=0.0,
    )
    doEmpiricalReadNoise = Field(
        doc="Measure each amplifier's read noise in its overscan instead of using the "
        "camera's value?",
        dtype=bool,
        default=False,
    )
    doVariance = Field(doc="Compute the variance plane?", dtype=bool, default=True)
    doInterpolate = Field(
        doc="Interpolate over the pixels of maskListToInterpolate?", dtype=bool, default=True
    )
    maskListToInterpolate = ListField(
        doc="Mask planes whose pixels are interpolated over", dtype=str, default=["SAT", "BAD"]
    )
    doWrite = Field(doc="Write the postISRCCD?", dtype=bool, default=True)

    def validate(self) -> None:
        super().validate()
        if self.growSaturationFootprintSize < 0:
            raise ValueError("growSaturationFootprintSize must be 0 or more")


class IsrTask(Task):
    """Remove the instrument signature of each raw and write ``postISRCCD``.

    With ``--calib CALIB`` the bias, flat and defects valid at the raw's date for its
    detector (and filter) come from the calibration repository; defects fall back to the
    obs package's own list. With ``--debug`` and ``display`` on, a PNG of the result with
    the mask planes overlaid is written to ``<output>/display``.
    """

    ConfigClass = IsrTaskConfig
    _DefaultName = "isrTask"
    outputDatasetTypes = ("postISRCCD",)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.makeSubtask("overscan")
        self.makeSubtask("assembleCcd")
        self._packagedDefects: dict[tuple, Any] = {}
        self._layouts: dict[tuple, list[AmpLayout]] = {}

    # -- command line ---------------------------------------------------------------------
    @timeMethod
    def runDataRef(self, dataRef) -> Struct:
        """Read the raw and calibrations of ``dataRef``, run ISR, write ``postISRCCD``."""
        self.log.info("Performing ISR on data ID %s", dataRef.dataId)
        names = self.config.connections
        datasetType = names.ccdExposure
        raw = dataRef.get(datasetType)
        where = _describe(dataRef, datasetType)
        camera = dataRef.getButler().camera
        try:
            detector = camera.detectorFor(dataRef.dataId, raw.metadata)
        except Exception as exc:
            raise TaskError(f"{where}: {exc}") from None
        calibs = self.readCalibs(dataRef)
        try:
            result = self.run(raw, detector, **calibs)
        except TaskError as exc:
            raise TaskError(f"{where}: {exc}") from None
        if self.config.doWrite:
            dataRef.put(result.exposure, names.outputExposure)
        self.display(result.exposure, dataRef)
        return result

    def readCalibs(self, dataRef) -> dict[str, Any]:
        """The bias, flat and defects the config asks for, from the Butler."""
        calibs: dict[str, Any] = {}
        names = self.config.connections
        for name, wanted in (("bias", self.config.doBias), ("flat", self.config.doFlat)):
            if wanted:
                datasetType = getattr(names, name)
                calibs[name] = dataRef.get(datasetType)
                calibs[name + "Path"] = str(dataRef.getUri(datasetType))
        if self.config.doDefect:
            calibs["defects"] = self.readDefects(dataRef)
        return calibs

    def readDefects(self, dataRef):
        """The defects valid for ``dataRef``: the calibration repository's, else the
        obs package's own list."""
        from pipetask.errors import NoResults

        from .defects import Defects

        butler = dataRef.getButler()
        try:
            return dataRef.get(self.config.connections.defects)
        except NoResults as exc:
            packaged = butler.camera.defects
            if packaged is None:
                raise TaskError(
                    f"doDefect is on but there are no defects for {dataRef.dataId}: {exc}; "
                    "ingest some with pipetask ingestCalibs or set doDefect=False"
                ) from None
            key = (str(packaged), os.stat(packaged).st_mtime_ns)
            if key not in self._packagedDefects:
                self._packagedDefects = {key: Defects.read(packaged)}
            return self._packagedDefects[key]

    # -- the work -------------------------------------------------------------------------
    @timeMethod
    def run(
        self,
        ccdExposure,
        detector,
        bias=None,
        flat=None,
        defects=None,
        biasPath: str = "bias",
        flatPath: str = "flat",
    ) -> Struct:
        """Remove the instrument signature of one raw exposure.

        Parameters
        ----------
        ccdExposure : pipetask_image.Exposure
            The raw (ADU, all amplifiers with their overscans).
        detector : pipetask.butler.camera.Detector
            Its geometry and amplifiers.
        bias, flat : pipetask_image.Exposure, optional
            Master calibrations (electrons; flat normalised to 1), needed when ``doBias``
            / ``doFlat``.
        defects : Defects, optional
            Bad pixels, needed when ``doDefect``.

        Returns
        -------
        Struct
            ``exposure`` (the postISRCCD, electrons), ``overscanLevels`` (ADU per
            amplifier) and ``readNoise`` (e- per amplifier, as used).
        """
        from pipetask_image import Exposure, MaskedImage

        config = self.config
        raw = np.asarray(ccdExposure.image)
        key = (detector, raw.shape)
        layouts = self._layouts.get(key)
        if layouts is None:
            layouts = self._layouts[key] = layoutFor(detector, raw.shape)
        mi = MaskedImage(np.zeros((1, 1), np.float32))
        planes = mi.getMaskPlaneDict()
        if config.doSaturation and config.saturatedMaskName not in planes:
            raise TaskError(f"saturatedMaskName {config.saturatedMaskName!r} is not a mask plane")
        ampPixels, saturated, levels, noises = [], [], {}, {}
        for amp in layouts:
            data = raw[amp.data].astype(np.float32)
            saturated.append(self._saturated(data, amp))
            if config.doOverscan:
                if amp.bias is None:
                    raise TaskError(f"amplifier {amp.name!r} has no overscan (bias) section")
                fit = self.overscan.run(data, raw[amp.bias])
                levels[amp.name] = (
                    fit.level if np.ndim(fit.level) == 0 else float(np.mean(fit.level))
                )
                overscanNoise = fit.noise
            else:
                overscanNoise = float("nan")
            gain = self._gain(amp)
            data *= np.float32(gain)
            ampPixels.append(data)
            noises[amp.name] = self._readNoise(amp, overscanNoise * gain)
        image = self.assembleCcd.run(ampPixels, layouts).image
        satImage = self.assembleCcd.run(saturated, layouts).image.astype(bool)
        grow = config.growSaturationFootprintSize
        if grow > 0 and satImage.any():
            satImage = _grow(satImage, grow)
        shape = image.shape
        mask = np.zeros(shape, np.int32)
        if config.doSaturation:
            mask[satImage] |= np.int32(1 << planes[config.saturatedMaskName])
        if config.doBias:
            image -= self._calibArray(bias, "bias", biasPath, shape, ccdExposure, detector)
        variance = np.zeros(shape, np.float32)
        if config.doVariance:
            np.maximum(image, 0, out=variance)
            for amp in layouts:
                variance[amp.trim] += np.float32(noises[amp.name] ** 2)
        if config.doDefect:
            if defects is None:
                raise TaskError("doDefect is on but no defects were given")
            mask[defects.toMask(shape)] |= np.int32(1 << planes["BAD"])
        if config.doFlat:
            flatArray = self._calibArray(flat, "flat", flatPath, shape, ccdExposure, detector)
            good = np.isfinite(flatArray) & (flatArray > 0)
            if not good.all():
                mask[~good] |= np.int32(1 << planes["BAD"])
                flatArray = np.where(good, flatArray, 1.0).astype(np.float32)
            image /= flatArray
            variance /= flatArray * flatArray
        if config.doInterpolate:
            names = [n for n in config.maskListToInterpolate if n in planes]
            unknown = sorted(set(config.maskListToInterpolate) - set(planes))
            if unknown:
                raise TaskError(f"maskListToInterpolate names unknown planes {unknown}")
            bits = sum(1 << planes[n] for n in names)
            bad = (mask & bits) != 0
            if bad.any():
                interpolateOverMask(image, bad)
                mask[bad] |= np.int32(1 << planes["INTRP"])
        metadata = ccdExposure.metadata.copy()
        self.assembleCcd.cleanMetadata(metadata)
        metadata["BUNIT"] = ("electron", "postISRCCD pixels are electrons")
        for amp in layouts:
            if amp.name in levels:
                metadata[f"HIERARCH ISR OVERSCAN {amp.name}"] = round(levels[amp.name], 3)
            metadata[f"HIERARCH ISR READNOISE {amp.name}"] = round(noises[amp.name], 3)
        exposure = Exposure(
            MaskedImage(image, mask, variance, maskPlanes=planes),
            metadata,
            filter=ccdExposure.filter,
        )
        return Struct(exposure=exposure, overscanLevels=levels, readNoise=noises)

    def _saturated(self, data: np.ndarray, amp: AmpLayout) -> np.ndarray:
        level = amp.saturation if finite(amp.saturation) else self.config.saturation
        if not self.config.doSaturation or math.isnan(level):
            return np.zeros(data.shape, bool)
        return data >= level

    def _gain(self, amp: AmpLayout) -> float:
        gain = amp.gain if finite(amp.gain) else self.config.gain
        if math.isnan(gain) or gain <= 0:
            raise TaskError(
                f"no gain for amplifier {amp.name!r}: the camera declares none and the "
                "config's gain is NaN"
            )
        return gain

    def _readNoise(self, amp: AmpLayout, measured: float) -> float:
        if self.config.doEmpiricalReadNoise:
            if math.isnan(measured):
                raise TaskError("doEmpiricalReadNoise needs doOverscan and an overscan section")
            return float(measured)
        return amp.readNoise if finite(amp.readNoise) else float(self.config.readNoise)

    def _calibArray(self, calib, name: str, path: str, shape, ccdExposure, detector):
        if calib is None:
            raise TaskError(f"do{name.capitalize()} is on but no {name} was given")
        array = np.asarray(calib.image, np.float32)
        if array.shape != shape:
            raise TaskError(
                f"{name} {path} is {array.shape[1]}x{array.shape[0]} pixels, the assembled "
                f"CCD {shape[1]}x{shape[0]}"
            )
        header = calib.metadata
        calibDetector = header.get("DETECTOR")
        if calibDetector is not None and int(calibDetector) != int(detector.id):
            raise TaskError(f"{name} {path} is for detector {calibDetector}, not {detector.id}")
        if name == "flat":
            calibFilter = header.get("FILTER")
            rawFilter = ccdExposure.filter
            if calibFilter is not None and rawFilter and str(calibFilter).strip() != rawFilter:
                raise TaskError(
                    f"flat {path} is for filter {str(calibFilter).strip()!r}, not {rawFilter!r}"
                )
        return array

    # -- display --------------------------------------------------------------------------
    def display(self, exposure, dataRef) -> None:
        """With the debug variable ``display`` on, write a PNG with the masks overlaid."""
        if not debug.Info(self.getFullName()).display:
            return
        from pipetask_image.overlay import showWithMasks

        butler = getattr(dataRef, "getButler", None)
        root = str(butler().outputRoot) if butler else getattr(dataRef, "outputDir", ".")
        title = f"{self.getFullName()} " + " ".join(f"{k}={v}" for k, v in dataRef.dataId.items())
        path = showWithMasks(exposure, title=title, outputDir=os.path.join(root, "display"))
        self.log.info("display: %s", path)


def _grow(mask: np.ndarray, size: int) -> np.ndarray:
    """``mask`` dilated by ``size`` pixels (a square footprint)."""
    rows = mask.copy()
    for shift in range(1, size + 1):
        rows[shift:] |= mask[:-shift]
        rows[:-shift] |= mask[shift:]
    grown = rows.copy()
    for shift in range(1, size + 1):
        grown[:, shift:] |= rows[:, :-shift]
        grown[:, :-shift] |= rows[:, shift:]
    return grown


def _describe(dataRef, datasetType: str) -> str:
    """``data ID {...} (path)`` for error messages."""
    try:
        path = str(dataRef.getUri(datasetType))
    except Exception:
        path = "?"
    return f"data ID {dataRef.dataId} ({path})"
