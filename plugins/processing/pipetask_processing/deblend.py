"""Deblending (LSST's ``SourceDeblendTask``): split footprints with several peaks into children.

Both backends deblend by multiple thresholds on the PSF-smoothed image (SExtractor's
method): a branch of a footprint becomes a child when it holds at least ``minContrast``
of the footprint's flux.
"""

from __future__ import annotations

import numpy as np
from pipetask import Config, DictField, Field, ListField, RangeField, Struct, Task

from .backends import requireLibrary
from .detection import labelsWithPeaks, sepExtract
from .footprints import Footprints, subpixelPeaks
from .imaging import SIGMA_TO_FWHM, clippedStd, sample, smoothGaussian


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
    minPeakSignificance = RangeField(
        doc="A child's peak must rise this many times the local noise of the PSF-smoothed "
        "image above the mean of a ring of 2 PSF sigmas around it (what it sits on: a "
        "bright star's halo, a galaxy); 0: no test",
        dtype=float,
        default=3.0,
        min=0.0,
    )
    doFindPeaks = Field(
        doc="Also make a child of every significant local maximum of the PSF-smoothed image "
        "that no branch holds (a multi-threshold branch must carry minContrast of the "
        "whole blend, which a star on a bright star's halo never does)",
        dtype=bool,
        default=True,
    )
    peakBadMaskPlanes = ListField(
        doc="No extra peak is taken on pixels of these planes",
        dtype=str,
        default=["SAT", "INTRP", "BAD", "EDGE", "NO_DATA"],
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
        if self.config.doFindPeaks:
            candidates = self._addPeaks(exposure, detection, candidates)
        parentOf = parents.labels[candidates.yPeak, candidates.xPeak] - 1
        allowed = self._allowed(exposure, parents)
        keep = (parentOf >= 0) & allowed[np.clip(parentOf, 0, None)]
        keep &= self._significant(exposure, detection, candidates.xPeak, candidates.yPeak)
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

    def _significant(self, exposure, detection, xPeak, yPeak) -> np.ndarray:
        """Whether each peak stands out of what it sits on (see ``minPeakSignificance``)."""
        limit = self.config.minPeakSignificance
        if limit <= 0 or len(xPeak) == 0:
            return np.ones(len(xPeak), bool)
        smoothed = detection.smoothed
        rows, cols = smoothed.shape
        radius = max(2.0, 2.0 * detection.psfSigma)
        angles = np.linspace(0.0, 2 * np.pi, 16, endpoint=False)
        ringX = np.clip(np.rint(xPeak[:, None] + radius * np.cos(angles)), 0, cols - 1)
        ringY = np.clip(np.rint(yPeak[:, None] + radius * np.sin(angles)), 0, rows - 1)
        ring = smoothed[ringY.astype(int), ringX.astype(int)].mean(axis=1)
        centre = _localMax(smoothed, xPeak, yPeak)
        variance = np.nan_to_num(exposure.maskedImage.variance)
        typical = float(np.median(variance[:: max(1, rows // 64), :: max(1, cols // 64)]))
        local = variance[yPeak, xPeak]
        scale = np.sqrt(np.maximum(local, typical) / typical) if typical > 0 else 1.0
        return centre - ring >= limit * detection.noise * scale

    def _addPeaks(self, exposure, detection, candidates: Footprints) -> Footprints:
        """Candidates plus a child for each significant smoothed-image peak no branch holds.

        The new child takes the pixels of the parent within two PSF FWHMs of its peak.
        """
        smoothed = detection.smoothed
        parents = detection.footprints
        inside = parents.labels > 0
        mi = exposure.maskedImage
        planes = [p for p in self.config.peakBadMaskPlanes if p in mi.maskPlanes]
        if planes:
            inside &= (mi.mask & mi.getPlaneBitMask(planes)) == 0
        peak = inside & (smoothed > np.asarray(detection.threshold))
        centre = smoothed[1:-1, 1:-1]
        core = peak[1:-1, 1:-1]
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                if dx or dy:
                    core &= centre >= smoothed[1 + dy : smoothed.shape[0] - 1 + dy,
                                               1 + dx : smoothed.shape[1] - 1 + dx]  # fmt: skip
        yNew, xNew = np.nonzero(core)
        yNew, xNew = yNew + 1, xNew + 1
        if len(xNew) == 0:
            return candidates
        reach = 2.0 * SIGMA_TO_FWHM * detection.psfSigma
        if len(candidates):
            d2 = (xNew[:, None] - candidates.xPeak[None, :]) ** 2
            d2 += (yNew[:, None] - candidates.yPeak[None, :]) ** 2
            far = d2.min(axis=1) > reach**2
            xNew, yNew = xNew[far], yNew[far]
        ok = self._significant(exposure, detection, xNew, yNew)
        xNew, yNew = xNew[ok], yNew[ok]
        if len(xNew) == 0:
            return candidates
        order = np.argsort(-smoothed[yNew, xNew])  # the brightest first, then its neighbours
        labels = candidates.labels.copy()
        xPeak, yPeak = list(candidates.xPeak), list(candidates.yPeak)
        half = int(np.ceil(reach))
        rows, cols = labels.shape
        first = len(candidates)
        for x, y in zip(xNew[order], yNew[order], strict=True):
            taken = np.asarray(xPeak[first:]), np.asarray(yPeak[first:])
            if ((taken[0] - x) ** 2 + (taken[1] - y) ** 2 <= reach**2).any():
                continue  # a brighter new peak already holds it
            y0, y1 = max(0, y - half), min(rows, y + half + 1)
            x0, x1 = max(0, x - half), min(cols, x + half + 1)
            yy, xx = np.mgrid[y0:y1, x0:x1]
            disc = (xx - x) ** 2 + (yy - y) ** 2 <= reach**2
            disc &= parents.labels[y0:y1, x0:x1] == parents.labels[y, x]
            xPeak.append(int(x))
            yPeak.append(int(y))
            labels[y0:y1, x0:x1][disc] = len(xPeak)
        return Footprints(labels, np.asarray(xPeak, int), np.asarray(yPeak, int))

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


def _localMax(image: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The largest value of ``image`` in the 3x3 pixels around each (x, y)."""
    rows, cols = image.shape
    best = np.full(len(x), -np.inf, dtype=np.float64)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            best = np.maximum(
                best, image[np.clip(y + dy, 0, rows - 1), np.clip(x + dx, 0, cols - 1)]
            )
    return best


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
