"""Source detection (LSST's ``SourceDetectionTask``), with sep and photutils backends.

The semantics are LSST's, whatever the backend: the image is smoothed with a circular
Gaussian of the PSF's width, and a pixel belongs to a source when the *smoothed* image
exceeds ``thresholdValue`` times the noise *of the smoothed image* (for the default
``thresholdType = "stdev"``, its clipped standard deviation). For a point source this
threshold is a cut on its PSF-optimal signal-to-noise ratio.

The backends only find the connected regions above that threshold on the smoothed image;
they are never given a filter of their own. (sep's own ``filter_kernel`` keeps ``thresh``
in units of the *unfiltered* noise, which for a PSF-sized kernel sets the bar several
times higher: its default style finds only a fraction of faint stars.)
"""

from __future__ import annotations

import numpy as np
from pipetask import (
    ChoiceField,
    Config,
    ConfigurableField,
    Field,
    ListField,
    RangeField,
    Struct,
    Task,
    TaskError,
)

from .backends import requireLibrary
from .background import SepBackgroundTask
from .footprints import Footprints
from .imaging import clippedStd, dilate, sample, smoothedNoiseFactor, smoothGaussian

THRESHOLD_TYPES = {
    "variance": "threshold applied to image variance",
    "stdev": "threshold applied to image std deviation",
    "value": "threshold applied to image value",
    "pixel_stdev": "threshold applied to per-pixel std deviation",
}


class SourceDetectionConfig(Config):
    """Config of every detection backend (LSST names and defaults)."""

    minPixels = RangeField(
        doc="Detected sources with fewer than the specified number of pixels will be ignored",
        dtype=int,
        default=1,
        min=0,
    )
    nSigmaToGrow = Field(
        doc="Grow detections by nSigmaToGrow * sigma; if 0 then do not grow",
        dtype=float,
        default=2.4,
    )
    thresholdValue = RangeField(
        doc="Threshold for footprints, in units of thresholdType (for stdev: of the "
        "noise of the PSF-smoothed image)",
        dtype=float,
        default=5.0,
        min=0.0,
    )
    includeThresholdMultiplier = RangeField(
        doc="Include threshold relative to thresholdValue", dtype=float, default=1.0, min=0.0
    )
    thresholdType = ChoiceField(
        doc="Specifies the desired flavor of Threshold",
        dtype=str,
        default="stdev",
        allowed=THRESHOLD_TYPES,
        optional=False,
    )
    thresholdPolarity = ChoiceField(
        doc="Specifies whether to detect positive, or negative sources, or both (only "
        "positive sources are detected here)",
        dtype=str,
        default="positive",
        allowed={"positive": "detect only positive sources"},
        optional=False,
    )
    doSmooth = Field(
        doc="Smooth the image with the PSF before detecting?", dtype=bool, default=True
    )
    nSigmaForKernel = RangeField(
        doc="Width of the smoothing kernel, in sigmas of the PSF",
        dtype=float,
        default=7.0,
        min=1.0,
    )
    statsMask = ListField(
        doc="Mask planes to ignore when calculating the noise of the smoothed image",
        dtype=str,
        default=["BAD", "SAT", "EDGE", "NO_DATA"],
    )
    excludeMaskPlanes = ListField(
        doc="Mask planes on which no source may be detected",
        dtype=str,
        default=["NO_DATA"],
    )
    excludePeakMaskPlanes = ListField(
        doc="Footprints whose peak lies on, or next to, a pixel of these mask planes are "
        "dropped: an interpolated defect is no source",
        dtype=str,
        default=["BAD"],
    )
    reEstimateBackground = Field(
        doc="Estimate the background again after final source detection?",
        dtype=bool,
        default=True,
    )
    background = ConfigurableField(
        doc="Background re-estimation, with the detected pixels masked", target=SepBackgroundTask
    )


class SourceDetectionTask(Task):
    """Smooth, threshold, find footprints (backend), grow them into the DETECTED plane."""

    ConfigClass = SourceDetectionConfig
    _DefaultName = "detection"

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.makeSubtask("background")

    def run(self, exposure, psfSigma: float, doReEstimate: bool | None = None) -> Struct:
        """Detect the sources of a background-subtracted ``exposure`` in place.

        Parameters
        ----------
        exposure : Exposure
            Its mask gains the DETECTED plane; with ``reEstimateBackground`` its image
            loses the background re-estimated around the detections.
        psfSigma : float
            Width (sigma, pixels) of the Gaussian the image is smoothed with.

        Returns
        -------
        Struct
            ``footprints`` (:class:`Footprints`), ``smoothed`` (the smoothed image),
            ``threshold`` (on the smoothed image, absolute, scalar or per pixel),
            ``noise`` (the noise of the smoothed image it was scaled from), and
            ``background`` (the re-estimated background, or None).
        """
        cfg = self.config
        mi = exposure.maskedImage
        image = mi.image
        if not np.isfinite(image).any():
            raise TaskError("the image has no finite pixels: nothing to detect on")
        if cfg.doSmooth:
            smoothed = smoothGaussian(np.nan_to_num(image), psfSigma, cfg.nSigmaForKernel)
            factor = smoothedNoiseFactor(psfSigma, cfg.nSigmaForKernel)
        else:
            smoothed, factor = np.nan_to_num(image).astype(np.float32), 1.0
        threshold, noise = self._threshold(mi, smoothed, factor)
        threshold = threshold * cfg.includeThresholdMultiplier
        excluded = ~np.isfinite(image)
        planes = [p for p in cfg.excludeMaskPlanes if p in mi.maskPlanes]
        if planes:
            excluded |= (mi.mask & mi.getPlaneBitMask(planes)) != 0
        footprints = self.findFootprints(smoothed, threshold, excluded)
        keep = np.ones(len(footprints), bool)
        if cfg.minPixels > 1 and len(footprints):
            keep &= footprints.area() >= cfg.minPixels
        peakPlanes = [p for p in cfg.excludePeakMaskPlanes if p in mi.maskPlanes]
        if peakPlanes and len(footprints):
            keep &= ~_nearPlanes(mi, peakPlanes, footprints.xPeak, footprints.yPeak)
        if not keep.all():
            footprints = _keep(footprints, keep)
        self._setDetected(mi, footprints, psfSigma)
        self.log.info(
            "Detected %d sources above %.3g (%.2f x %.2f x noise %.4g of the smoothed image)",
            len(footprints),
            float(np.median(threshold)),
            cfg.thresholdValue,
            cfg.includeThresholdMultiplier,
            noise,
        )
        background = None
        reEstimate = cfg.reEstimateBackground if doReEstimate is None else doReEstimate
        if reEstimate and len(footprints):
            background = self.background.run(exposure).background
        return Struct(
            footprints=footprints,
            smoothed=smoothed,
            threshold=threshold,
            noise=noise,
            background=background,
            psfSigma=psfSigma,
        )

    def _threshold(self, mi, smoothed: np.ndarray, factor: float):
        """The threshold (absolute, on the smoothed image) and the noise it scales."""
        cfg = self.config
        planes = [p for p in cfg.statsMask if p in mi.maskPlanes]
        good = np.isfinite(mi.image)
        if planes:
            good &= (mi.mask & mi.getPlaneBitMask(planes)) == 0
        if not good.any():
            raise TaskError(
                f"every pixel is masked ({', '.join(planes)}) or not finite: no noise to "
                "set a detection threshold from"
            )
        kind = cfg.thresholdType
        if kind == "value":
            return float(cfg.thresholdValue), 1.0
        if kind == "stdev":
            _, noise = clippedStd(sample(smoothed, good))
        elif kind == "variance":
            noise = float(np.sqrt(np.median(mi.variance[good]))) * factor
        else:  # pixel_stdev
            perPixel = np.sqrt(np.clip(mi.variance, 0, None)).astype(np.float32) * factor
            noise = float(np.median(perPixel[good]))
            if not noise > 0:
                raise TaskError("the variance plane is zero: cannot use thresholdType pixel_stdev")
            return cfg.thresholdValue * np.where(perPixel > 0, perPixel, noise), noise
        if not noise > 0 or not np.isfinite(noise):
            raise TaskError(
                f"the noise of the smoothed image is {noise}: the image is flat (saturated "
                "or blank everywhere?), nothing can be detected"
            )
        return cfg.thresholdValue * noise, noise

    def _setDetected(self, mi, footprints: Footprints, psfSigma: float) -> None:
        bit = (
            mi.getPlaneBitMask("DETECTED")
            if "DETECTED" in mi.maskPlanes
            else (1 << mi.addMaskPlane("DETECTED"))
        )
        mi.mask[...] &= ~bit
        detected = footprints.labels > 0
        grow = int(self.config.nSigmaToGrow * psfSigma + 0.5)
        if grow > 0 and detected.any():
            detected = dilate(detected, grow)
        mi.mask[detected] |= bit

    def findFootprints(self, smoothed: np.ndarray, threshold, excluded: np.ndarray) -> Footprints:
        """Connected regions of ``smoothed`` above ``threshold`` (backends implement it)."""
        raise NotImplementedError


def _nearPlanes(mi, planes, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Whether any of the 3x3 pixels around each (x, y) has one of ``planes``."""
    bits = mi.getPlaneBitMask(planes)
    rows, cols = mi.shape
    hit = np.zeros(len(x), bool)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            hit |= (mi.mask[np.clip(y + dy, 0, rows - 1), np.clip(x + dx, 0, cols - 1)] & bits) != 0
    return hit


def _keep(footprints: Footprints, keep: np.ndarray) -> Footprints:
    """The footprints where ``keep`` is true, relabelled 1..N."""
    newLabel = np.zeros(len(footprints) + 1, np.int32)
    newLabel[1:][keep] = np.arange(1, keep.sum() + 1)
    return Footprints(newLabel[footprints.labels], footprints.xPeak[keep], footprints.yPeak[keep])


class SepDetectionTask(SourceDetectionTask):
    """Footprints found by sep's thresholding (no filter, no deblending: LSST semantics)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._sep = requireLibrary("sep", self.getFullName())

    def findFootprints(self, smoothed, threshold, excluded):
        return sepExtract(self._sep, smoothed, threshold, excluded, nThresholds=1, contrast=1.0)


def sepExtract(sep, smoothed, threshold, excluded, nThresholds: int, contrast: float):
    """Run ``sep.extract`` on an already smoothed image; peaks and label image."""
    data = np.ascontiguousarray(smoothed, dtype=np.float32)
    sep.set_extract_pixstack(max(300_000, data.size))
    sep.set_sub_object_limit(max(1024, data.size // 64))
    kwargs = {}
    if np.ndim(threshold):
        kwargs["err"] = np.ascontiguousarray(threshold, dtype=np.float32)
        thresh = 1.0
    else:
        thresh = float(threshold)
    objects, labels = sep.extract(
        data,
        thresh,
        mask=np.ascontiguousarray(excluded),
        minarea=1,
        filter_kernel=None,
        deblend_nthresh=nThresholds,
        deblend_cont=contrast,
        clean=False,
        segmentation_map=True,
        **kwargs,
    )
    return Footprints(labels.astype(np.int32), objects["xpeak"], objects["ypeak"])


class PhotutilsDetectionTask(SourceDetectionTask):
    """Footprints found by photutils ``detect_sources`` on the smoothed image."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._seg = requireLibrary("photutils.segmentation", self.getFullName())

    def findFootprints(self, smoothed, threshold, excluded):
        segm = self._seg.detect_sources(smoothed, threshold, 1, mask=excluded)
        if segm is None:
            return Footprints.empty(smoothed.shape)
        segm.relabel_consecutive()
        return labelsWithPeaks(segm.data.astype(np.int32), smoothed)


def labelsWithPeaks(labels: np.ndarray, image: np.ndarray) -> Footprints:
    """Footprints of a label image (labels 1..N) with their peaks in ``image``."""
    from scipy import ndimage

    count = int(labels.max()) if labels.size else 0
    if count == 0:
        return Footprints.empty(labels.shape)
    positions = ndimage.maximum_position(image, labels, np.arange(1, count + 1))
    yPeak, xPeak = np.array(positions, int).T
    return Footprints(labels, xPeak, yPeak)
