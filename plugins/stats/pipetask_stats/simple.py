"""``SimpleStatsTask``: mean and standard deviation over all finite pixels."""

from __future__ import annotations

from typing import Any

from pipetask import Config, Struct, Task, timeMethod


class SimpleStatsConfig(Config):
    """The simple statistics have no parameters."""


class SimpleStatsTask(Task):
    """Mean, its error, standard deviation and its error over all finite pixels.

    The mask is ignored; NaN and infinite pixels are skipped. Sums accumulate in float64.
    With no finite pixel every result is NaN (and a warning is logged); with one pixel the
    mean is its value and the other results are NaN (the unbiased variance needs two).
    A constant image gives ``stdDev = meanErr = stdDevErr = 0``.
    """

    ConfigClass = SimpleStatsConfig
    _DefaultName = "simpleStats"

    @timeMethod
    def run(self, maskedImage: Any) -> Struct:
        """Measure ``maskedImage`` (an Exposure, a MaskedImage or a 2-D array).

        Returns
        -------
        Struct
            ``mean``, ``meanErr``, ``stdDev``, ``stdDevErr`` (floats).
        """
        import numpy as np

        from .inputs import asMaskedImage
        from .moments import Moments, finiteSums, shiftNear

        pixels = np.ascontiguousarray(asMaskedImage(maskedImage).image).reshape(-1)
        moments = Moments.fromSums(finiteSums(pixels, shiftNear(pixels)))
        self.metadata["numPixels"] = moments.n
        if moments.n == 0:
            self.log.warning("no finite pixel: all statistics are NaN")
        mean, meanErr, stdDev, stdDevErr = moments.errors()
        self.log.info(
            "simple mean=%.2f; meanErr=%.2f; stdDev=%.2f; stdDevErr=%.2f",
            mean,
            meanErr,
            stdDev,
            stdDevErr,
        )
        return Struct(mean=mean, meanErr=meanErr, stdDev=stdDev, stdDevErr=stdDevErr)
