"""The stats tasks against an independent, straightforward NumPy version of SPEC section 7."""

from __future__ import annotations

import logging
import math

import numpy as np
import pytest
from _shared_data import allFiles, obsTestData
from pipetask import FieldValidationError
from pipetask_image import ImageError, MaskedImage
from pipetask_stats import SigmaClippedStatsTask, SimpleStatsTask, clipping

IQR_TO_SIGMA = 0.741301109252802


def referenceErrors(kept: np.ndarray) -> tuple[float, float, float, float]:
    n = kept.size
    if n == 0:
        return (math.nan,) * 4
    mean = kept.mean()
    if n < 2:
        return mean, math.nan, math.nan, math.nan
    var = kept.var(ddof=1)
    stdDev = np.sqrt(var)
    varVar = 2.0 * (n - 1) * var**2 / n**2
    stdDevErr = 0.5 * np.sqrt(varVar) / stdDev if stdDev > 0 else 0.0
    return mean, np.sqrt(var / n), stdDev, stdDevErr


def referenceClipped(image, mask=None, badBits=0, numSigmaClip=3.0, numIter=2):
    """SPEC section 7 written plainly: percentiles, boolean masks, np.var(ddof=1)."""
    x = np.asarray(image, dtype=np.float32).astype(np.float64).ravel()
    good = np.isfinite(x)
    if mask is not None:
        good &= (np.asarray(mask).ravel() & badBits) == 0
    v = x[good]
    if v.size == 0:
        return (math.nan,) * 4
    q1, median, q3 = np.percentile(v, [25, 50, 75])
    kept = v[np.abs(v - median) <= numSigmaClip * IQR_TO_SIGMA * (q3 - q1)]
    for _ in range(1, numIter):
        if kept.size < 2:
            break
        mean, var = kept.mean(), kept.var(ddof=1)
        kept = v[np.abs(v - mean) <= numSigmaClip * np.sqrt(var)]
    return referenceErrors(kept)


def referenceSimple(image):
    x = np.asarray(image, dtype=np.float32).astype(np.float64).ravel()
    return referenceErrors(x[np.isfinite(x)])


def assertStruct(result, expected, rtol=1e-10, err_msg=""):
    got = (result.mean, result.meanErr, result.stdDev, result.stdDevErr)
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=0, equal_nan=True, err_msg=err_msg)


def clippedTask(**overrides) -> SigmaClippedStatsTask:
    config = SigmaClippedStatsTask.ConfigClass()
    for name, value in overrides.items():
        setattr(config, name, value)
    return SigmaClippedStatsTask(config=config)


def syntheticImage(seed: int, shape=(1024, 1024), maskedFraction=0.01, nans=500, infs=50):
    rng = np.random.default_rng(seed)
    image = rng.normal(1000.0, 10.0, shape).astype(np.float32)
    # Stars and cosmic rays: a bright tail the clipping must remove.
    image.flat[rng.choice(image.size, image.size // 50, replace=False)] += rng.exponential(
        200.0, image.size // 50
    ).astype(np.float32)
    image.flat[rng.choice(image.size, nans, replace=False)] = np.nan
    image.flat[rng.choice(image.size, infs, replace=False)] = np.inf
    image.flat[rng.choice(image.size, infs, replace=False)] = -np.inf
    mask = np.zeros(shape, np.int32)
    edge = 1 << 4
    mask.flat[rng.choice(image.size, int(image.size * maskedFraction), replace=False)] |= edge
    mask.flat[rng.choice(image.size, image.size // 100, replace=False)] |= 1 << 5  # DETECTED
    return image, mask


# --- real data ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def obsTestImages() -> dict[str, MaskedImage]:
    obsTestData()
    return {path.name: MaskedImage.readFits(path) for path in allFiles()}


@pytest.mark.parametrize("numSigmaClip", [1.0, 3.0])
def test_clipped_matches_reference_on_obs_test(obsTestImages, numSigmaClip):
    for name, mi in obsTestImages.items():
        bits = mi.getPlaneBitMask(["EDGE"])
        expected = referenceClipped(mi.image, mi.mask, bits, numSigmaClip)
        result = clippedTask(numSigmaClip=numSigmaClip).run(mi)
        assertStruct(result, expected, err_msg=name)


def test_obs_test_uses_the_streaming_path_and_direct_agrees(obsTestImages):
    for name, mi in obsTestImages.items():
        bits = mi.getPlaneBitMask(["EDGE"])
        scanned = clipping.sigmaClippedMoments(mi.image, mi.mask, bits, 3.0, 2)
        direct = clipping.sigmaClippedMoments(mi.image, mi.mask, bits, 3.0, 2, method="direct")
        assert scanned.path == "scan", name
        assert scanned.moments.n == direct.moments.n
        assert scanned.quartiles == direct.quartiles
        assert scanned.moments.mean == pytest.approx(direct.moments.mean, rel=1e-13)


def test_simple_matches_reference_on_obs_test(obsTestImages):
    for mi in obsTestImages.values():
        assertStruct(SimpleStatsTask().run(mi), referenceSimple(mi.image))


def test_known_obs_test_result(obsTestImages):
    # The figure the LSST example task prints for visit 1 (its stdDevErr was a bug).
    result = SigmaClippedStatsTask().run(obsTestImages["raw_v1_fg.fits.gz"])
    assert f"{result.mean:.2f} {result.stdDev:.2f}" == "1184.70 33.64"


# --- synthetic data ----------------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize(("numSigmaClip", "numIter"), [(3.0, 2), (1.0, 1), (2.5, 4), (5.0, 3)])
def test_clipped_matches_reference_on_synthetic(seed, numSigmaClip, numIter):
    image, mask = syntheticImage(seed)
    mi = MaskedImage(image, mask)
    bits = mi.getPlaneBitMask(["EDGE", "DETECTED"])
    expected = referenceClipped(image, mask, bits, numSigmaClip, numIter)
    task = clippedTask(
        numSigmaClip=numSigmaClip, numIter=numIter, badMaskPlanes=["EDGE", "DETECTED"]
    )
    assertStruct(task.run(mi), expected)


@pytest.mark.parametrize("method", ["direct", "scan"])
def test_both_methods_on_odd_shapes(method):
    rng = np.random.default_rng(7)
    for shape in [(1, 1), (1, 2), (3, 5), (17, 1), (600, 601)]:
        image = rng.normal(0.0, 1.0, shape).astype(np.float32)
        expected = referenceClipped(image)
        result = clipping.sigmaClippedMoments(image, method=method)
        got = result.moments.errors()
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-300, equal_nan=True)


def test_unrepresentative_sample_falls_back_exactly():
    """Pixels on the sample's stride differ from the rest: the proof fails, the result
    stays exact."""
    shape = (1024, 1024)
    rng = np.random.default_rng(11)
    image = rng.normal(0.0, 1.0, shape).astype(np.float32)
    step = clipping._sampleStep(image.size, shape[1])
    image.reshape(-1)[step // 2 :: step] = 1000.0
    result = clipping.sigmaClippedMoments(image, method="scan")
    assert result.path != "scan"
    np.testing.assert_allclose(result.moments.errors(), referenceClipped(image), rtol=1e-10)


def test_window_not_containing_core_falls_back_exactly(monkeypatch):
    monkeypatch.setattr(clipping, "CORE_MARGIN", -0.45)  # a core wider than the windows
    image, mask = syntheticImage(5)
    result = clipping.sigmaClippedMoments(image, mask, 1 << 4, 3.0, 3, method="scan")
    assert result.fallbacks
    expected = referenceClipped(image, mask, 1 << 4, 3.0, 3)
    np.testing.assert_allclose(result.moments.errors(), expected, rtol=1e-10)


def test_large_mean_small_scatter_keeps_precision():
    rng = np.random.default_rng(3)
    image = (1.0e6 + rng.normal(0.0, 0.5, (700, 700))).astype(np.float32)
    expected = referenceClipped(image)
    assertStruct(SigmaClippedStatsTask().run(MaskedImage(image)), expected, rtol=1e-9)


def test_simple_matches_reference_on_synthetic():
    image, _ = syntheticImage(4)
    assertStruct(SimpleStatsTask().run(MaskedImage(image)), referenceSimple(image))


# --- edge cases --------------------------------------------------------------------------


@pytest.mark.parametrize("task", [SimpleStatsTask, SigmaClippedStatsTask])
def test_no_usable_pixel_gives_nan_and_a_warning(task, caplog):
    image = np.full((20, 20), np.nan, np.float32)
    image[0, :3] = [1.0, np.inf, -np.inf]
    mask = np.zeros(image.shape, np.int32)
    mask[0, 0] = 1 << 4  # EDGE hides the only finite pixel from the clipped task
    mi = MaskedImage(image, mask) if task is SigmaClippedStatsTask else MaskedImage(image * np.nan)
    t = task()
    with caplog.at_level(logging.WARNING):
        result = t.run(mi)
    assert all(math.isnan(v) for v in result.getDict().values())
    assert t.metadata["numPixels"] == 0
    assert "all statistics are NaN" in caplog.text


def test_all_masked_large_image():
    mask = np.full((600, 600), 1 << 4, np.int32)
    result = SigmaClippedStatsTask().run(MaskedImage(np.ones((600, 600)), mask))
    assert math.isnan(result.mean) and math.isnan(result.stdDev)


@pytest.mark.parametrize("task", [SimpleStatsTask, SigmaClippedStatsTask])
def test_one_pixel(task):
    result = task().run(MaskedImage(np.array([[42.5]], np.float32)))
    assert result.mean == 42.5
    assert math.isnan(result.meanErr) and math.isnan(result.stdDev)
    assert math.isnan(result.stdDevErr)


@pytest.mark.parametrize("shape", [(5, 5), (1000, 1000)])
def test_constant_image(shape):
    image = np.full(shape, 7.25, np.float32)
    for task in (SimpleStatsTask(), SigmaClippedStatsTask()):
        result = task.run(MaskedImage(image))
        assert (result.mean, result.meanErr, result.stdDev, result.stdDevErr) == (
            7.25,
            0.0,
            0.0,
            0.0,
        )


def test_constant_image_with_outliers_keeps_only_the_constant():
    image = np.full((800, 800), 3.0, np.float32)
    image[::97, ::89] = 1000.0
    result = SigmaClippedStatsTask().run(MaskedImage(image))
    assert (result.mean, result.stdDev) == (3.0, 0.0)


def test_nan_and_inf_pixels_are_ignored():
    rng = np.random.default_rng(2)
    image = rng.normal(10.0, 2.0, (50, 50)).astype(np.float32)
    clean = SigmaClippedStatsTask().run(MaskedImage(image))
    image[0, 0], image[1, 1], image[2, 2] = np.nan, np.inf, -np.inf
    dirty = SigmaClippedStatsTask().run(MaskedImage(image))
    assertStruct(dirty, referenceClipped(image))
    assert dirty.mean != clean.mean  # three pixels fewer
    assertStruct(SimpleStatsTask().run(MaskedImage(image)), referenceSimple(image))


@pytest.mark.parametrize("dtype", [np.uint16, np.int32, np.int16])
def test_integer_images(dtype):
    rng = np.random.default_rng(8)
    image = rng.poisson(900, (300, 400)).astype(dtype)
    for task, reference in (
        (SigmaClippedStatsTask(), referenceClipped),
        (SimpleStatsTask(), referenceSimple),
    ):
        assertStruct(task.run(image), reference(image))
        assertStruct(task.run(MaskedImage(image)), reference(image))


def test_tiny_clip_can_keep_nothing():
    image = np.array([[0.0, 1.0]], np.float32)
    result = clippedTask(numSigmaClip=0.1, numIter=3).run(MaskedImage(image))
    expected = referenceClipped(image, numSigmaClip=0.1, numIter=3)
    assertStruct(result, expected)


# --- configuration, logging, plugins ------------------------------------------------------


def test_config_defaults_and_validation():
    config = SigmaClippedStatsTask.ConfigClass()
    assert list(config.badMaskPlanes) == ["EDGE"]
    assert (config.numSigmaClip, config.numIter) == (3.0, 2)
    config.numSigmaClip = 1
    assert config.numSigmaClip == 1.0 and isinstance(config.numSigmaClip, float)
    with pytest.raises(FieldValidationError, match=r"numSigmaClip.*'ten'.*float"):
        config.numSigmaClip = "ten"
    with pytest.raises(FieldValidationError, match="numIter"):
        config.numIter = 0
    with pytest.raises(FieldValidationError, match="numSigmaClip"):
        config.numSigmaClip = 0.0


def test_unknown_bad_mask_plane_is_a_clear_error():
    task = clippedTask(badMaskPlanes=["EDGE", "NOT_A_PLANE"])
    with pytest.raises(ImageError, match="NOT_A_PLANE.*known planes"):
        task.run(MaskedImage(np.ones((3, 3))))


def test_log_lines_and_metadata(caplog):
    image, mask = syntheticImage(1, shape=(64, 64))
    with caplog.at_level(logging.INFO):
        clipped = SigmaClippedStatsTask()
        result = clipped.run(MaskedImage(image, mask))
        SimpleStatsTask().run(MaskedImage(image))
    lines = [(r.name, r.getMessage()) for r in caplog.records]
    expected = (
        f"clipped mean={result.mean:.2f}; meanErr={result.meanErr:.2f}; "
        f"stdDev={result.stdDev:.2f}; stdDevErr={result.stdDevErr:.2f}"
    )
    assert ("sigmaClippedStats", expected) in lines
    assert any(n == "simpleStats" and m.startswith("simple mean=") for n, m in lines)
    assert "runDuration" in clipped.metadata
    assert repr(result).startswith("Struct(mean=")


def test_tasks_are_discovered_as_stats_plugins():
    from pipetask.plugins import catalog, load_item

    for name, cls in (
        ("sigmaClippedStats", SigmaClippedStatsTask),
        ("simpleStats", SimpleStatsTask),
    ):
        description = catalog().get("task", name)
        assert description.kind == "stats"
        assert description.distribution == "pipetask-stats"
        assert load_item("task", name) is cls


def test_usable_as_subtask_and_retarget_target():
    from pipetask import Config, ConfigurableField, Task

    class ParentConfig(Config):
        stats = ConfigurableField(doc="statistics", target=SigmaClippedStatsTask)

    class ParentTask(Task):
        ConfigClass = ParentConfig
        _DefaultName = "parent"

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.makeSubtask("stats")

    image, mask = syntheticImage(2, shape=(128, 128))
    mi = MaskedImage(image, mask)
    parent = ParentTask()
    assert parent.stats.getFullName() == "parent.stats"
    assertStruct(parent.stats.run(mi), referenceClipped(image, mask, 1 << 4))

    config = ParentConfig()
    config.stats.retarget(SimpleStatsTask)
    assert not hasattr(config.stats, "numIter")
    retargeted = ParentTask(config=config)
    assert isinstance(retargeted.stats, SimpleStatsTask)
    assertStruct(retargeted.stats.run(mi), referenceSimple(image))
