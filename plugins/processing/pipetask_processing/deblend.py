"""Deblending (LSST's ``SourceDeblendTask``): split footprints with several peaks into children.

Both backends deblend by multiple thresholds on the PSF-smoothed image (SExtractor's
method): a branch of a footprint becomes a child when it holds at least ``minContrast``
of the footprint's flux.
"""

from __future__ import annotations

import numpy as np
from pipetask import Config, DictField, Field, RangeField, Struct, Task

from .backends import requireLibrary
from .detection import labelsWithPeaks, sepExtract
from .footprints import Footprints, subpixelPeaks
from .imaging import clippedStd, sample, smoothGaussian


class SourceDeblendConfig(Config):
    """Config of every deblending backend."""

    maxNumberOfPeaks = Field(
        doc="Only deblend the brightest maxNumberOfPeaks peaks in the parent (<= 0: unlimited)",
        dtype=int,
        default=0,
    )
    maxFootprintArea = Field(
        doc="Maximum area for footprints before they are ignored as large; non-positive "
        "means no threshold applied",
        dtype=int,
        default=1000000,
    )
    maskLimits = DictField(
        doc="Mask planes with the corresponding limit on the fraction of masked pixels. "
        "Sources violating this limit will not be deblended.",
        keytype=str,
        itemtype=float,
        default={},
    )
    nThresholds = RangeField(
        doc="Number of thresholds between the detection threshold and the peak used to "
        "split a footprint",
        dtype=int,
        default=32,
        min=1,
    )
    minContrast = Field(
        doc="Minimum fraction of the footprint's flux a branch needs to become a child",
        dtype=float,
        default=0.005,
    )
    smoothingScale = RangeField(
        doc="Width of the Gaussian the image is smoothed with for deblending, in PSF sigmas "
        "(narrower than detection's PSF-matched smoothing, to separate close pairs); 0: none",
        dtype=float,
        default=0.5,
        min=0.0,
    )
    thresholdValue = RangeField(
        doc="Threshold of the children, in units of the noise of the deblending image",
        dtype=float,
        default=4.0,
        min=0.0,
    )


class SourceDeblendTask(Task):
    """Shared driver: which footprints may be deblended, and parent/child bookkeeping."""

    ConfigClass = SourceDeblendConfig
    _DefaultName = "deblend"

    def run(self, exposure, detection: Struct) -> Struct:
        """Deblend the footprints of a detection result.

        Returns
        -------
        Struct
            ``children`` (:class:`Footprints` with ``parent`` set) and ``nChild`` (per
            detection footprint: its number of children, 0 when it was not split).
        """
        parents: Footprints = detection.footprints
        nParents = len(parents)
        if nParents == 0:
            return Struct(children=Footprints.empty(parents.labels.shape), nChild=np.zeros(0, int))
        image, threshold = self._deblendImage(exposure, detection)
        candidates = self.backendChildren(image, threshold, parents)
        parentOf = parents.labels[candidates.yPeak, candidates.xPeak] - 1
        allowed = self._allowed(exposure, parents)
        keep = (parentOf >= 0) & allowed[np.clip(parentOf, 0, None)]
        counts = np.bincount(parentOf[keep], minlength=nParents)
        keep &= counts[np.clip(parentOf, 0, None)] >= 2
        if self.config.maxNumberOfPeaks > 0:
            keep &= _brightestPerParent(
                image, candidates, parentOf, keep, self.config.maxNumberOfPeaks
            )
        index = np.flatnonzero(keep)
        newLabel = np.zeros(len(candidates) + 1, np.int32)
        newLabel[index + 1] = np.arange(1, len(index) + 1)
        xCenter, yCenter = subpixelPeaks(image, candidates.xPeak[index], candidates.yPeak[index])
        children = Footprints(
            newLabel[candidates.labels],
            candidates.xPeak[index],
            candidates.yPeak[index],
            parentOf[index],
            xCenter,
            yCenter,
        )
        nChild = np.bincount(children.parent, minlength=nParents)
        self.log.info(
            "Deblended %d of %d footprints into %d children",
            int((nChild > 0).sum()),
            nParents,
            len(children),
        )
        return Struct(children=children, nChild=nChild)

    def _deblendImage(self, exposure, detection):
        """The image children are found on, and their threshold."""
        scale = self.config.smoothingScale
        image = np.nan_to_num(exposure.maskedImage.image)
        if scale > 0:
            sigma = scale * detection.psfSigma
            image = smoothGaussian(image, sigma)
        _, noise = clippedStd(sample(image, exposure.maskedImage.mask == 0))
        if not noise > 0:
            noise = detection.noise
        return image, self.config.thresholdValue * noise

    def _allowed(self, exposure, parents: Footprints) -> np.ndarray:
        area = parents.area()
        allowed = np.ones(len(parents), bool)
        if self.config.maxFootprintArea > 0:
            allowed &= area <= self.config.maxFootprintArea
        mi = exposure.maskedImage
        for plane, limit in self.config.maskLimits.items():
            if plane not in mi.maskPlanes:
                continue
            flagged = (mi.mask & mi.getPlaneBitMask(plane)) != 0
            hits = np.bincount(parents.labels[flagged], minlength=len(parents) + 1)[1:]
            allowed &= hits <= limit * np.maximum(area, 1)
        return allowed

    def backendChildren(self, smoothed, threshold, parents: Footprints) -> Footprints:
        """Every branch the backend finds above the threshold (backends implement it)."""
        raise NotImplementedError


def _brightestPerParent(smoothed, children, parentOf, keep, limit) -> np.ndarray:
    peak = smoothed[children.yPeak, children.xPeak]
    order = np.lexsort((-peak, parentOf))
    rank = np.zeros(len(order), int)
    previous, count = None, 0
    for i in order:
        if not keep[i]:
            continue
        count = count + 1 if parentOf[i] == previous else 1
        previous = parentOf[i]
        rank[i] = count
    return rank <= limit


class SepDeblendTask(SourceDeblendTask):
    """Children from sep's multi-threshold deblending."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._sep = requireLibrary("sep", self.getFullName())

    def backendChildren(self, smoothed, threshold, parents):
        excluded = parents.labels == 0
        return sepExtract(
            self._sep,
            smoothed,
            threshold,
            excluded,
            nThresholds=self.config.nThresholds,
            contrast=self.config.minContrast,
        )


class PhotutilsDeblendTask(SourceDeblendTask):
    """Children from photutils ``deblend_sources``."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._seg = requireLibrary("photutils.segmentation", self.getFullName())
        requireLibrary("skimage.segmentation", self.getFullName())  # photutils' watershed

    def backendChildren(self, smoothed, threshold, parents):
        import warnings

        segm = self._seg.SegmentationImage(parents.labels)
        with warnings.catch_warnings():
            # photutils says when it switches a footprint to linear thresholds: chatter.
            warnings.filterwarnings("ignore", message="The deblending mode")
            children = self._seg.deblend_sources(
                smoothed,
                segm,
                1,
                n_levels=self.config.nThresholds,
                contrast=self.config.minContrast,
                mode="exponential",
                progress_bar=False,
            )
        children.relabel_consecutive()
        return labelsWithPeaks(children.data.astype(np.int32), smoothed)
