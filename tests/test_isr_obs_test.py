"""isrTask on the three real obs_test raws: the four amplifiers, noise, defects, display."""

from __future__ import annotations

import numpy as np
import pytest
from _isr_helpers import pipetask
from _shared_data import obsTestData, obsTestRaws

pytest.importorskip("pipetask_isr")
from pipetask.butler.camera import loadCamera  # noqa: E402
from pipetask_image import Exposure  # noqa: E402
from pipetask_isr.defects import Defects  # noqa: E402
from pipetask_isr.isr_task import IsrTask  # noqa: E402

AMP_W, AMP_H = 509, 1000


@pytest.fixture(scope="module")
def isrRun(tmp_path_factory):
    obsTestData()
    root = tmp_path_factory.mktemp("obs-test-isr")
    assert (
        pipetask(
            "ingest", root / "repo", *obsTestRaws(), "--camera", "test", "--mode", "link"
        ).returncode
        == 0
    )
    result = pipetask("run", "isrTask", root / "repo", "--id", "--output", root / "out")
    assert result.returncode == 0, result.stderr
    outputs = sorted((root / "out" / "postISRCCD").glob("*.fits"))
    assert len(outputs) == 3
    return root, [Exposure.readFits(p) for p in outputs]


def ampSkies(image) -> np.ndarray:
    return np.array(
        [
            np.median(image[y * AMP_H : (y + 1) * AMP_H, x * AMP_W : (x + 1) * AMP_W])
            for y in (0, 1)
            for x in (0, 1)
        ]
    )


def test_the_four_amplifiers_agree_on_the_sky(isrRun):
    _, exposures = isrRun
    for exposure in exposures:
        assert exposure.image.shape == (2000, 1018)
        skies = ampSkies(exposure.image)
        assert (skies.max() - skies.min()) / skies.mean() <= 0.005, skies
        assert exposure.metadata["BUNIT"] == "electron"


def test_with_the_header_gain_the_sky_would_step(isrRun):
    # the check above can fail: one gain for all four amplifiers steps the sky by ~7%
    _, exposures = isrRun
    camera = loadCamera("test")
    gains = [a.gain for a in camera.detectors[0].amplifiers]  # order 00 10 01 11
    skies = ampSkies(exposures[0].image) / np.array(gains) * gains[0]
    assert (skies.max() - skies.min()) / skies.mean() > 0.05


def sourceFree(exposure) -> np.ndarray:
    """Pixels far from anything 3 sigma above the sky (in 3x3 means), with no mask bit."""
    image = exposure.image.astype(np.float64)
    sky = np.median(image)
    sigma = np.sqrt(np.median(exposure.variance))
    padded = np.pad(image, 1, mode="edge")
    smooth = (
        sum(
            padded[dy : dy + image.shape[0], dx : dx + image.shape[1]]
            for dy in range(3)
            for dx in range(3)
        )
        / 9
    )
    source = smooth > sky + 3 * sigma / 3
    grown = source.copy()
    for _ in range(6):  # grow by 6 pixels
        grown[1:] |= grown[:-1].copy()
        grown[:-1] |= grown[1:].copy()
        grown[:, 1:] |= grown[:, :-1].copy()
        grown[:, :-1] |= grown[:, 1:].copy()
    return ~grown & (exposure.mask == 0)


def test_variance_plane_matches_the_pixel_scatter(isrRun):
    _, exposures = isrRun
    for exposure in exposures:
        free = sourceFree(exposure)
        assert free.mean() > 0.5
        values = exposure.image[free]
        centre = np.median(values)
        spread = np.sqrt(np.median(exposure.variance[free]))
        values = values[np.abs(values - centre) < 6 * spread]
        ratio = float(np.var(values) / np.median(exposure.variance[free]))
        assert ratio == pytest.approx(1.0, abs=0.08), ratio


def test_hot_pixels_are_masked_and_interpolated(isrRun):
    _, exposures = isrRun
    defects = Defects.read(loadCamera("test").defects)
    hot = defects.toMask((2000, 1018))
    assert hot.sum() == 1130 and sum(1 for b in defects.boxes if b[2:] == (1, 1)) == 269
    for exposure in exposures:
        planes = exposure.maskedImage.getMaskPlaneDict()
        bad = (exposure.mask & (1 << planes["BAD"])) != 0
        intrp = (exposure.mask & (1 << planes["INTRP"])) != 0
        assert np.array_equal(bad, hot) and intrp[hot].all()
        sky = np.median(exposure.image)
        sigma = np.sqrt(np.median(exposure.variance))
        isolated = [(y, x) for x, y, w, h in defects.boxes if (w, h) == (1, 1)]
        values = np.array([exposure.image[y, x] for y, x in isolated])
        # a hot pixel read ~57000 ADU (~100000 e-); interpolated it looks like the sky
        assert np.median(np.abs(values - sky)) < 2 * sigma
        assert values.max() < 20000


def test_default_overscan_adds_no_noise():
    (raw,) = [p for p in obsTestRaws() if "v1_" in p.name]
    camera = loadCamera("test")
    exposure = Exposure.readFits(raw)
    detector = camera.detectorFor({"visit": 1, "filter": "g"})
    defects = Defects.read(camera.defects)

    def scatter(fitType: str | None) -> float:
        config = IsrTask.ConfigClass()
        config.doBias = config.doFlat = False
        if fitType:
            config.overscan.fitType = fitType
        result = IsrTask(config=config).run(exposure, detector, defects=defects)
        free = sourceFree(result.exposure)
        image = result.exposure.image
        # row-to-row differences of the sky: what a per-row overscan fit would add to
        rows = np.where(free, image, np.nan)
        return float(np.nanstd(np.nanmedian(rows, axis=1)))

    default, median = scatter(None), scatter("MEDIAN")
    assert default <= 1.01 * median
    assert scatter("MEDIAN_PER_ROW") > 1.5 * median  # the measure sees added noise


def test_camera_values_are_derived_from_the_data():
    from obs_test.derive import hotPixelMask, measureAmplifiers, readRaws

    camera = loadCamera("test")
    (detector,) = camera.detectors
    assert [a.name for a in detector.amplifiers] == ["00", "10", "01", "11"]
    assert detector.amplifiers[3].dataSec == "[518:1026,1001:2000]"
    assert detector.amplifiers[3].biasSec == "[514:517,1001:2000]"
    assert detector.amplifiers[3].trimSec == "[510:1018,1001:2000]"
    raws = readRaws(obsTestData())
    measured = measureAmplifiers(raws)
    for amp in detector.amplifiers:
        assert measured[amp.name]["noise"] * amp.gain == pytest.approx(amp.readNoise, rel=0.01)
    levels = [round(measured[a]["bias"]) for a in ("00", "01", "10", "11")]
    assert levels == [964, 971, 1042, 1005]
    shipped = Defects.read(camera.defects).toMask((2000, 1018))
    assert np.array_equal(shipped, hotPixelMask(raws))


def test_show_tasks_lists_the_subtasks(isrRun):
    root, _ = isrRun
    result = pipetask("run", "isrTask", root / "repo", "--show", "tasks")
    assert result.returncode == 0
    assert "  overscan: pipetask_isr.overscan:OverscanTask" in result.stdout
    assert "  assembleCcd: pipetask_isr.assemble:AssembleCcdTask" in result.stdout


def test_display_overlays_the_mask_planes_with_a_legend(isrRun, tmp_path):
    from test_display import readPng

    root, _ = isrRun
    (tmp_path / "debug.toml").write_text("[isrTask]\ndisplay = true\n")
    result = pipetask(
        "run",
        "isrTask",
        root / "repo",
        "--id",
        "visit=1",
        "--output",
        tmp_path / "out",
        "--debug",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    (png,) = (tmp_path / "out" / "display").glob("*.png")
    width, height, depth, colour, pixels, texts = readPng(png)
    assert (width, depth, colour) == (1018, 8, 2) and height > 2000
    rgb = pixels.reshape(height, width, 3)
    picture, legend = rgb[:2000][::-1], rgb[2000:]
    # every hot pixel is tinted red (BAD): red well above green and blue
    x0, y0, _, _ = Defects.read(loadCamera("test").defects).boxes[0]
    r, g, b = (int(v) for v in picture[y0, x0])
    assert r > g + 60 and r > b + 60
    # the legend strip holds the colour swatches of the planes
    assert ((legend[:, :, 0] == 255) & (legend[:, :, 1] == 0) & (legend[:, :, 2] == 0)).any()
    assert ((legend[:, :, 0] == 255) & (legend[:, :, 1] == 160) & (legend[:, :, 2] == 0)).any()
