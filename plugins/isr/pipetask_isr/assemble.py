"""``assembleCcd``: put each amplifier's data section where it belongs in the trimmed CCD.

The geometry comes from the camera (:class:`pipetask.butler.camera.Amplifier`): each
amplifier's data section in the raw goes to its ``trimSec`` in the assembled image, so
prescan and overscan pixels are dropped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from pipetask import Config, ListField, Struct, Task, TaskError

from .sections import Box, boxShape, checkInside, parseSection


@dataclass(frozen=True)
class AmpLayout:
    """One amplifier resolved against a raw: numpy boxes and electronic parameters."""

    name: str
    data: Box
    bias: Box | None
    trim: Box
    gain: float
    readNoise: float
    saturation: float


def layoutFor(detector: Any, rawShape: tuple[int, int]) -> list[AmpLayout]:
    """The amplifiers of ``detector`` as boxes checked against a raw of ``rawShape``.

    Raises
    ------
    TaskError
        A section is malformed, outside the raw, of the wrong size or overlapping another
        amplifier's place in the trimmed image.
    """
    amps = tuple(detector.amplifiers)
    if not amps:
        raise TaskError(f"detector {detector.id} ({detector.name}) declares no amplifiers")
    layouts = []
    for amp in amps:
        where = f"amplifier {amp.name!r} of detector {detector.name}"
        data = parseSection(amp.dataSec, f"{where}: data section")
        checkInside(data, rawShape, f"{where}: data section")
        bias = None
        if amp.biasSec:
            bias = parseSection(amp.biasSec, f"{where}: bias section")
            checkInside(bias, rawShape, f"{where}: bias section")
            if boxShape(bias)[0] != boxShape(data)[0]:
                raise TaskError(f"{where}: bias section {amp.biasSec} has not the data's rows")
        if amp.trimSec:
            trim = parseSection(amp.trimSec, f"{where}: trimmed section")
        else:
            rows, cols = boxShape(data)
            trim = (slice(0, rows), slice(0, cols))
        if boxShape(trim) != boxShape(data):
            raise TaskError(
                f"{where}: trimmed section {amp.trimSec} is not the size of data section "
                f"{amp.dataSec}"
            )
        layouts.append(
            AmpLayout(
                amp.name,
                data,
                bias,
                trim,
                float(amp.gain),
                float(amp.readNoise),
                float(amp.saturation),
            )
        )
    _checkNoOverlap(layouts, detector)
    return layouts


def trimmedShape(layouts: list[AmpLayout]) -> tuple[int, int]:
    """Rows and columns of the assembled image."""
    return (
        max(a.trim[0].stop for a in layouts),
        max(a.trim[1].stop for a in layouts),
    )


def _checkNoOverlap(layouts: list[AmpLayout], detector: Any) -> None:
    shape = trimmedShape(layouts)
    count = np.zeros(shape, np.uint8)
    for amp in layouts:
        count[amp.trim] += 1
    if count.max() > 1:
        raise TaskError(f"detector {detector.name}: amplifiers overlap in the trimmed image")
    if count.min() == 0:
        raise TaskError(f"detector {detector.name}: amplifiers leave gaps in the trimmed image")


class AssembleCcdConfig(Config):
    """Config of :class:`AssembleCcdTask`."""

    keysToRemove = ListField(
        doc="Header keywords to remove from the assembled exposure's metadata",
        dtype=str,
        default=[],
    )


class AssembleCcdTask(Task):
    """Assemble and trim the amplifiers of a raw into one CCD image."""

    ConfigClass = AssembleCcdConfig
    _DefaultName = "assembleCcd"

    def run(self, amplifiers: list[np.ndarray], layouts: list[AmpLayout]) -> Struct:
        """Place each amplifier's (corrected) data pixels at its trimmed section.

        Parameters
        ----------
        amplifiers : list of numpy.ndarray
            Data pixels of each amplifier, in the order of ``layouts``.
        layouts : list of AmpLayout
            Where each goes.

        Returns
        -------
        Struct
            ``image``: the assembled float32 array.
        """
        image = np.empty(trimmedShape(layouts), np.float32)
        for pixels, amp in zip(amplifiers, layouts, strict=True):
            image[amp.trim] = pixels
        return Struct(image=image)

    def cleanMetadata(self, metadata: Any) -> None:
        """Drop ``keysToRemove`` and the raw's per-amplifier sections from ``metadata``."""
        for key in [*self.config.keysToRemove, "DATASEC", "BIASSEC", "TRIMSEC"]:
            if key in metadata:
                del metadata[key]


def finite(value: float) -> bool:
    """Whether a camera or config value is set (not NaN)."""
    return not math.isnan(value)
