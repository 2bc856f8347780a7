"""The pieces of ISR on their own: overscan fit types, interpolation, clipped-mean stack."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pipetask_isr")
from pipetask_isr.combine import clippedMeanStack  # noqa: E402
from pipetask_isr.interpolate import interpolateOverMask  # noqa: E402
from pipetask_isr.overscan import OverscanTask  # noqa: E402


def test_interpolation_is_linear_along_rows_between_good_pixels():
    rng = np.random.default_rng(0)
    image = rng.normal(0, 1, (60, 40)).astype(np.float32)
    bad = rng.random(image.shape) < 0.2
    bad[3] = True  # a whole row
    bad[5, :3] = True  # runs at both ends of a row
    bad[6, -2:] = True
    expected = image.copy()
    columns = np.arange(40)
    for row in range(60):
        hit = bad[row]
        if hit.all():
            expected[row] = np.median(image[~bad])
        elif hit.any():
            expected[row, hit] = np.interp(columns[hit], columns[~hit], image[row, ~hit])
    assert interpolateOverMask(image, bad) == bad.sum()
    assert np.allclose(image, expected, atol=1e-6)


@pytest.mark.parametrize("fitType", ["MEDIAN", "MEAN", "MEANCLIP", "POLY", "MEDIAN_PER_ROW"])
def test_overscan_fit_types_remove_a_level_and_a_slope(fitType):
    rng = np.random.default_rng(1)
    rows = np.arange(200)[:, None]
    level = 1000.0 + (0.05 * rows if fitType in ("POLY", "MEDIAN_PER_ROW") else 0.0)
    overscan = level + rng.normal(0, 2.0, (200, 30))
    overscan[10, 5] = 60000.0  # a cosmic ray in the overscan
    data = level + 50.0 + rng.normal(0, 2.0, (200, 100))
    config = OverscanTask.ConfigClass()
    config.fitType = fitType
    result = OverscanTask(config=config).run(data, overscan)
    assert np.mean(data) == pytest.approx(50.0, abs=0.6 if fitType != "MEAN" else 10)
    assert result.noise == pytest.approx(2.0, rel=0.2 if fitType != "MEDIAN_PER_ROW" else 0.3)


def test_clipped_mean_stack_rejects_outliers_and_averages_the_rest():
    rng = np.random.default_rng(2)
    truth = rng.normal(0, 3, (40, 40))
    frames = [truth + rng.normal(0, 5, truth.shape) for _ in range(5)]
    frames[2][10, 10] += 5000.0  # a cosmic ray in one frame
    stacked = clippedMeanStack(frames, 3.0, 3)
    assert abs(stacked[10, 10] - truth[10, 10]) < 15
    assert np.std(stacked - truth) < 1.15 * 5 / np.sqrt(5)
