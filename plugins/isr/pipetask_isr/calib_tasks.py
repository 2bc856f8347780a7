"""``makeBias`` and ``makeFlat``: master calibrations from several frames (LSST's
``constructBias`` / ``constructFlat``).

Both are gathering command-line tasks (see
:func:`pipetask.pipeline.connections.gatherDimensions`): ``--id`` selects the input
frames and each detector (for ``makeFlat`` on a camera whose filter is a data-ID key, each
detector and filter) becomes one master. Each frame goes through the ``isr``
subtask (overscan, assembly, gain; a flat's also bias subtraction from ``--calib``);
the frames are combined pixel by pixel with a clipped mean; a flat is normalised to a
mean of 1. The master is written to the output repository as ``bias`` or ``flat``, with
the header keywords ``pipetask ingestCalibs`` reads (``OBSTYPE``, ``CALIBDATE``,
``DETECTOR``, ``FILTER``), ready to be ingested into a calibration repository.
"""

from __future__ import annotations

import datetime
from typing import Any

import numpy as np
from pipetask import Config, ConfigurableField, Field, Struct, Task, TaskError, timeMethod

from .combine import clippedMeanStack
from .isr_task import IsrTask


class MakeCalibConfig(Config):
    """Config shared by :class:`MakeBiasTask` and :class:`MakeFlatTask`."""

    isr = ConfigurableField(doc="ISR applied to each input frame", target=IsrTask)
    numSigmaClip = Field(doc="Clipping threshold of the combination", dtype=float, default=3.0)
    numIter = Field(doc="Clipping iterations of the combination", dtype=int, default=3)
    calibDate = Field(
        doc="CALIBDATE of the master (YYYY-MM-DD); empty: the date of the middle input",
        dtype=str,
        default="",
    )
    minInputs = Field(doc="Fewest input frames per master", dtype=int, default=1)

    def setDefaults(self) -> None:
        super().setDefaults()
        self.isr.doBias = False
        self.isr.doFlat = False
        self.isr.doDefect = False
        self.isr.doInterpolate = False
        self.isr.doWrite = False

    def validate(self) -> None:
        super().validate()
        if self.calibDate:
            try:
                datetime.date.fromisoformat(self.calibDate)
            except ValueError:
                raise ValueError(f"calibDate {self.calibDate!r} is not YYYY-MM-DD") from None
        if self.minInputs < 1 or self.numIter < 1:
            raise ValueError("minInputs and numIter must be at least 1")


class _MakeCalibTask(Task):
    """Shared work: ISR every member, combine, label, write."""

    ConfigClass = MakeCalibConfig
    calibType = ""
    canMultiprocess = True
    storeMetadata = False

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.makeSubtask("isr")

    @classmethod
    def gatherKeys(cls, camera: Any) -> list[str]:
        """One master per detector."""
        key = camera.calibSpec.detectorKey
        return [key] if key else []

    @timeMethod
    def runDataRef(self, dataRef) -> Struct:
        """Build the master of one group of frames and write it."""
        members = list(getattr(dataRef, "members", None) or [dataRef])
        self.log.info(
            "Making a master %s for %s from %d frames",
            self.calibType,
            dataRef.dataId,
            len(members),
        )
        if len(members) < self.config.minInputs:
            raise TaskError(
                f"{len(members)} input frames for {dataRef.dataId}, fewer than minInputs="
                f"{self.config.minInputs}"
            )
        frames, dates, filters, detectors = [], [], set(), set()
        camera = dataRef.getButler().camera
        for ref in members:
            result = self.isr.runDataRef(ref)
            exposure = result.exposure
            frames.append(self.prepare(np.asarray(exposure.image, np.float64), ref))
            dates.append(_mjd(exposure.metadata, ref))
            filters.add(exposure.filter or "")
            detectors.add(camera.detectorId(ref.dataId))
        if len(detectors) > 1:
            raise TaskError(f"frames of several detectors {sorted(detectors)} in one master")
        shapes = {f.shape for f in frames}
        if len(shapes) > 1:
            raise TaskError(f"input frames of different sizes {sorted(shapes)}")
        master = self.combine(frames)
        from pipetask_image import Exposure, MaskedImage

        template = exposure.metadata
        metadata = type(template)()
        metadata["OBSTYPE"] = self.calibType
        metadata["HIERARCH CALIBDATE"] = self.config.calibDate or _middleDate(dates)
        metadata["DETECTOR"] = detectors.pop()
        metadata["NCOMBINE"] = len(frames)
        metadata["BUNIT"] = "electron" if self.calibType == "bias" else ""
        filterName = self.labelFilter(filters, dataRef)
        if filterName:
            metadata["FILTER"] = filterName
        out = Exposure(MaskedImage(master), metadata, filter=filterName or None)
        dataRef.put(out, self.calibType)
        return Struct(exposure=out, inputs=len(frames))

    def prepare(self, image: np.ndarray, ref) -> np.ndarray:
        """A frame ready to combine (the bias as is)."""
        return image

    def combine(self, frames: list[np.ndarray]) -> np.ndarray:
        """The clipped mean of the frames."""
        return clippedMeanStack(frames, self.config.numSigmaClip, self.config.numIter)

    def labelFilter(self, filters: set[str], dataRef) -> str:
        """The FILTER of the master (none for a bias)."""
        return ""


class MakeBiasTask(_MakeCalibTask):
    """Combine bias frames into a master bias per detector (electrons)."""

    _DefaultName = "makeBias"
    calibType = "bias"
    outputDatasetTypes = ("bias",)


class MakeFlatConfig(MakeCalibConfig):
    """Config of :class:`MakeFlatTask`: the inputs' bias comes from ``--calib``."""

    def setDefaults(self) -> None:
        super().setDefaults()
        self.isr.doBias = True


class MakeFlatTask(_MakeCalibTask):
    """Combine flat frames of one filter into a master flat per detector (mean 1)."""

    ConfigClass = MakeFlatConfig
    _DefaultName = "makeFlat"
    calibType = "flat"
    outputDatasetTypes = ("flat",)

    @classmethod
    def gatherKeys(cls, camera: Any) -> list[str]:
        """One master per detector and, when the filter is a data-ID key, per filter."""
        keys = super().gatherKeys(camera)
        filterKey = camera.calibSpec.filterKey
        return keys + ([filterKey] if filterKey else [])

    def prepare(self, image: np.ndarray, ref) -> np.ndarray:
        """Each frame scaled to a mean of 1 (so lamp changes do not matter)."""
        level = float(np.median(image))
        if not level > 0:
            raise TaskError(f"flat frame {ref.dataId} has no light (median {level:.3g} e-)")
        return image / level

    def combine(self, frames: list[np.ndarray]) -> np.ndarray:
        master = super().combine(frames)
        return (master / np.mean(master, dtype=np.float64)).astype(np.float32)

    def labelFilter(self, filters: set[str], dataRef) -> str:
        if len(filters) != 1 or not next(iter(filters)):
            raise TaskError(
                f"flat frames for {dataRef.dataId} are of filters {sorted(filters)}: select one "
                "filter with --id"
            )
        return filters.pop()


def _mjd(metadata, ref) -> float:
    value = metadata.get("MJD-OBS")
    if value is None:
        raise TaskError(f"frame {ref.dataId} has no MJD-OBS keyword for its date")
    return float(value)


def _middleDate(mjds: list[float]) -> str:
    middle = sorted(mjds)[len(mjds) // 2]
    return (datetime.date(1858, 11, 17) + datetime.timedelta(days=middle)).isoformat()
