"""``SigmaClippedStatsTask``: the LSST afw sigma-clipped mean, exactly."""

from __future__ import annotations

import logging
import math
from typing import Any

from pipetask import Config, ListField, RangeField, Struct, Task, timeMethod


class SigmaClippedStatsConfig(Config):
    """Parameters of the sigma-clipped statistics."""

    badMaskPlanes = ListField(
        doc="Mask planes that exclude a pixel from the statistics",
        dtype=str,
        default=["EDGE"],
    )
    numSigmaClip = RangeField(
        doc="Clip pixels farther than this many standard deviations from the centre",
        dtype=float,
        default=3.0,
        min=0.0,
        inclusiveMin=False,
    )
    numIter = RangeField(
        doc="Number of clipping iterations (the first clips around the median by the IQR)",
        dtype=int,
        default=2,
        min=1,
    )


class SigmaClippedStatsTask(Task):
    """Sigma-clipped mean, its error, standard deviation and its error (LSST afw).

    Candidates are the finite pixels with none of ``badMaskPlanes`` set. Iteration 0 keeps
    candidates within ``numSigmaClip * 0.741301109252802 * IQR`` of the median (median and
    quartiles interpolated linearly at ``fraction * (n - 1)``); each later iteration keeps
    those within ``numSigmaClip * sqrt(variance)`` of the previous iteration's mean. The
    last iteration's mean and unbiased variance give ``mean``, ``meanErr = sqrt(variance /
    n)``, ``stdDev = sqrt(variance)`` and ``stdDevErr = 0.5 * sqrt(varVar) / stdDev`` with
    ``varVar = 2 (n - 1) variance**2 / n**2``; sums accumulate in float64.

    Edge cases:

    - no candidate (all pixels masked or non-finite): every result is NaN, a warning is
      logged and ``metadata["numPixels"]`` is 0; no exception, so a run over many images
      goes on;
    - NaN and infinite pixels are never candidates; integer images are measured as float32;
    - one candidate: the IQR is 0 and iteration 0 keeps it; its variance is undefined, so
      clipping stops there: ``mean`` is its value, the other results NaN;
    - a constant image (IQR 0): every iteration keeps exactly the pixels equal to the
      median, giving that value with ``stdDev = meanErr = stdDevErr = 0``;
    - whenever an iteration keeps fewer than two pixels, later iterations are skipped
      (their window would be undefined); if one keeps none the results are NaN.
    """

    ConfigClass = SigmaClippedStatsConfig
    _DefaultName = "sigmaClippedStats"

    @timeMethod
    def run(self, maskedImage: Any) -> Struct:
        """Measure ``maskedImage`` (an Exposure, a MaskedImage or a 2-D array).

        Returns
        -------
        Struct
            ``mean``, ``meanErr``, ``stdDev``, ``stdDevErr`` (floats).

        Raises
        ------
        pipetask_image.ImageError
            If a name in ``badMaskPlanes`` is not a mask plane of the image.
        """
        from .clipping import sigmaClippedMoments
        from .inputs import asMaskedImage

        mi = asMaskedImage(maskedImage)
        badBits = mi.getPlaneBitMask(list(self.config.badMaskPlanes))
        # An unallocated mask is all zero: no pixel is masked, nothing to read.
        result = sigmaClippedMoments(
            mi.image, mi.maskOrNone, badBits, self.config.numSigmaClip, self.config.numIter
        )
        self.log.debug("%s path, %s kernel", result.path, result.kernel)
        self.metadata["numPixels"] = result.numCandidates
        self.metadata["numClippedPixels"] = result.moments.n
        for fallback in result.fallbacks:
            self.log.debug("exact fallback: %s", fallback)
        if self.log.isEnabledFor(logging.DEBUG):
            self._logIterations(result)
        if result.numCandidates == 0:
            self.log.warning(
                "no usable pixel (all non-finite or in mask planes %s): all statistics are NaN",
                list(self.config.badMaskPlanes),
            )
        mean, meanErr, stdDev, stdDevErr = result.moments.errors()
        self.log.info(
            "clipped mean=%.2f; meanErr=%.2f; stdDev=%.2f; stdDevErr=%.2f",
            mean,
            meanErr,
            stdDev,
            stdDevErr,
        )
        return Struct(mean=mean, meanErr=meanErr, stdDev=stdDev, stdDevErr=stdDevErr)

    def _logIterations(self, result: Any) -> None:
        """One DEBUG line for the candidates and one per clipping iteration."""
        q1, median, q3 = result.quartiles
        self.log.debug(
            "%d candidate pixels (%s path); median=%.4f; IQR=%.4f",
            result.numCandidates,
            result.path,
            median,
            q3 - q1,
        )
        for i, moments in enumerate(result.iterations):
            self.log.debug(
                "clipping iteration %d: %d pixels kept; mean=%.4f; stdDev=%.4f",
                i,
                moments.n,
                moments.mean,
                math.sqrt(moments.variance),
            )
