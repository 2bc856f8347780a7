"""``overscan``: subtract the bias level measured in an amplifier's overscan.

Fit types (LSST's ``fitType`` names): ``MEDIAN`` (default), ``MEAN`` and ``MEANCLIP``
(a sigma-clipped mean) give one level for the amplifier; ``MEDIAN_PER_ROW`` one per row;
``POLY`` a polynomial of ``order`` in the row number fitted to the per-row means.
"""

from __future__ import annotations

import numpy as np
from pipetask import ChoiceField, Config, Field, Struct, Task

FIT_TYPES = ("MEDIAN", "MEAN", "MEANCLIP", "POLY", "MEDIAN_PER_ROW")


class OverscanConfig(Config):
    """Config of :class:`OverscanTask`."""

    fitType = ChoiceField(
        doc="How the overscan is turned into a bias level",
        dtype=str,
        default="MEDIAN",
        allowed={
            "MEDIAN": "one median of all overscan pixels",
            "MEAN": "one mean of all overscan pixels",
            "MEANCLIP": "one sigma-clipped mean (numSigmaClip, 3 iterations)",
            "POLY": "a polynomial of the given order in the row number",
            "MEDIAN_PER_ROW": "the median of each row's overscan pixels",
        },
    )
    order = Field(doc="Polynomial order of a POLY fit", dtype=int, default=1)
    numSigmaClip = Field(doc="Clipping threshold of MEANCLIP and POLY", dtype=float, default=3.0)


def clippedMean(values: np.ndarray, numSigma: float, numIter: int = 3) -> tuple[float, float]:
    """Mean and standard deviation of ``values`` clipped at ``numSigma`` around the median
    (first pass) and then the mean."""
    values = values[np.isfinite(values)].astype(np.float64, copy=False)
    if values.size == 0:
        return float("nan"), float("nan")
    centre = float(np.median(values))
    q1, q3 = np.percentile(values, [25, 75])
    spread = 0.741301109252802 * (q3 - q1)
    kept = values
    for _ in range(numIter):
        if spread > 0:
            kept = values[np.abs(values - centre) <= numSigma * spread]
        if kept.size < 2:
            break
        centre, spread = float(kept.mean()), float(kept.std(ddof=1))
    return centre, spread


class OverscanTask(Task):
    """Measure and subtract the overscan level of one amplifier."""

    ConfigClass = OverscanConfig
    _DefaultName = "overscan"

    def run(self, data: np.ndarray, overscan: np.ndarray) -> Struct:
        """Subtract the fitted level from ``data`` in place.

        Parameters
        ----------
        data : numpy.ndarray
            The amplifier's data pixels (float, rows x columns); modified.
        overscan : numpy.ndarray
            Its overscan pixels, row for row.

        Returns
        -------
        Struct
            ``level`` (a number, or one per row) and ``noise`` (the overscan's scatter
            about the fit, ADU).
        """
        fitType = self.config.fitType
        overscan = overscan.astype(np.float64, copy=False)
        if fitType == "MEDIAN":
            level = float(np.median(overscan))
        elif fitType == "MEAN":
            level = float(overscan.mean())
        elif fitType == "MEANCLIP":
            level, _ = clippedMean(overscan.ravel(), self.config.numSigmaClip)
        elif fitType == "MEDIAN_PER_ROW":
            level = np.median(overscan, axis=1)
        else:  # POLY
            rows = np.arange(overscan.shape[0], dtype=np.float64)
            perRow = overscan.mean(axis=1)
            keep = np.ones(perRow.size, bool)
            for _ in range(3):
                coeffs = np.polyfit(rows[keep], perRow[keep], self.config.order)
                residual = perRow - np.polyval(coeffs, rows)
                sigma = residual[keep].std()
                if not sigma > 0:
                    break
                keep = np.abs(residual) <= self.config.numSigmaClip * sigma
            level = np.polyval(coeffs, rows)
        fit = level[:, None] if np.ndim(level) else level
        data -= fit
        _, noise = clippedMean((overscan - fit).ravel(), 3.0)
        return Struct(level=level, noise=noise)
