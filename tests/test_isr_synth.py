"""ISR on the synth camera: master bias and flat from simulated frames, against the truth.

One small mosaic (2 CCDs of 128 pixels) goes through the whole calibration flow with the
real command line: simulate bias, flat and science frames; ingest; makeBias; ingestCalibs;
makeFlat (with the bias from --calib); ingestCalibs; isrTask --calib.
"""

from __future__ import annotations

import numpy as np
import pytest
from _isr_helpers import pipetask, simulate

pytest.importorskip("pipetask_isr")
from obs_synth.simulate import biasPattern, flatPattern, gainFor, readTruth  # noqa: E402
from pipetask_image import Exposure  # noqa: E402

SIZE = 128
NCCD = 2
READ_NOISE = 5.0


@pytest.fixture(scope="module")
def flow(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth-isr")
    raws = root / "raws"
    simulate(raws, "--visits", 2, "--ccds", NCCD, "--size", SIZE, "--filter", "r")
    simulate(
        raws, "--kind", "bias", "--visits", 5, "--ccds", NCCD, "--size", SIZE, "--first-visit", 101
    )
    simulate(
        raws,
        "--kind",
        "flat",
        "--filter",
        "r",
        "--visits",
        5,
        "--ccds",
        NCCD,
        "--size",
        SIZE,
        "--first-visit",
        201,
    )
    steps = [
        ("ingest", root / "repo", raws, "--camera", "synth"),
        ("run", "makeBias", root / "repo", "--id", "visit=101..105", "--output", root / "bias"),
        ("ingestCalibs", root / "calib", root / "bias" / "bias", "--camera", "synth"),
        (
            "run",
            "makeFlat",
            root / "repo",
            "--id",
            "visit=201..205",
            "--output",
            root / "flat",
            "--calib",
            root / "calib",
        ),
        ("ingestCalibs", root / "calib", root / "flat" / "flat"),
        (
            "run",
            "isrTask",
            root / "repo",
            "--id",
            "visit=1..2",
            "--output",
            root / "out",
            "--calib",
            root / "calib",
        ),
        (
            "run",
            "isrTask",
            root / "repo",
            "--id",
            "visit=1",
            "--output",
            root / "noflat",
            "--calib",
            root / "calib",
            "-c",
            "doFlat=false",
        ),
    ]
    results = [pipetask(*step) for step in steps]
    for step, result in zip(steps, results, strict=True):
        assert result.returncode == 0, (step, result.stdout, result.stderr)
    return root, results


def master(root, kind, ccd):
    (path,) = (root / "calib" / kind).glob(f"*/{kind}-{ccd}*.fits")
    return Exposure.readFits(path)


def test_makeBias_makes_one_master_per_ccd_from_five_frames(flow):
    root, results = flow
    assert "Making a master bias for {'ccd': 0} from 5 frames" in results[1].stderr
    assert "2 succeeded" in results[1].stderr
    for ccd in range(NCCD):
        header = master(root, "bias", ccd).metadata
        assert (header["OBSTYPE"], header["DETECTOR"], header["NCOMBINE"]) == ("bias", ccd, 5)


def test_master_bias_recovers_the_injected_pattern(flow):
    root, _ = flow
    bound = 1.2 * READ_NOISE / np.sqrt(5)
    for ccd in range(NCCD):
        injected = biasPattern(ccd, SIZE) * gainFor(ccd)  # electrons
        rms = float(np.std(master(root, "bias", ccd).image - injected))
        assert rms <= bound, (ccd, rms, bound)


def test_master_flat_recovers_the_injected_flat(flow):
    root, _ = flow
    for ccd in range(NCCD):
        flat = master(root, "flat", ccd)
        assert flat.filter == "r" and flat.metadata["FILTER"] == "r"
        assert float(np.mean(flat.image)) == pytest.approx(1.0, abs=1e-5)
        rms = float(np.std(flat.image / flatPattern(ccd, "r", SIZE) - 1))
        assert rms <= 0.005, (ccd, rms)


def skySpread(image) -> float:
    """Rms of the medians of 32x32 blocks over their mean (stars hardly move a median)."""
    blocks = [
        np.median(image[y : y + 32, x : x + 32])
        for y in range(0, SIZE, 32)
        for x in range(0, SIZE, 32)
    ]
    return float(np.std(blocks) / np.mean(blocks))


def test_with_bias_and_flat_the_sky_is_flat(flow):
    root, _ = flow
    for ccd in range(NCCD):
        path = root / "out" / "postISRCCD" / "v1" / f"postISRCCD_v1_c{ccd}.fits"
        exposure = Exposure.readFits(path)
        truth = readTruth(root / "raws" / f"raw_v1_c{ccd}.fits")
        assert skySpread(exposure.image) <= 0.005
        sky = float(np.median(exposure.image))
        assert sky == pytest.approx(truth["illumination"], rel=0.01)
        unflat = Exposure.readFits(root / "noflat" / path.relative_to(root / "out"))
        assert skySpread(unflat.image) > 0.005  # without the flat the bar is not met


def sourceFree(truth, shape) -> np.ndarray:
    """Pixels that no injected star adds 0.5 e- to, no cosmic ray hit, off the dead column."""
    free = np.ones(shape, bool)
    rows, cols = np.indices(shape)
    sigma = truth["seeingSigma"]
    for star in truth["stars"]:
        peak = star["flux"] / (2 * np.pi * sigma**2)
        if peak > 0.5:
            radius = sigma * np.sqrt(2 * np.log(peak / 0.5)) + 1
            free &= (cols - star["x"]) ** 2 + (rows - star["y"]) ** 2 > radius**2
    for x, y, _ in truth["cosmicRays"]:
        free[max(0, y - 1) : y + 2, max(0, x - 1) : x + 2] = False
    free[:, truth["badColumn"]] = False
    return free


def test_variance_matches_the_sky_noise(flow):
    root, _ = flow
    for visit, ccd in ((1, 0), (2, 1)):
        path = root / "out" / "postISRCCD" / f"v{visit}" / f"postISRCCD_v{visit}_c{ccd}.fits"
        exposure = Exposure.readFits(path)
        truth = readTruth(root / "raws" / f"raw_v{visit}_c{ccd}.fits")
        free = sourceFree(truth, exposure.image.shape) & (exposure.mask == 0)
        assert free.sum() > 2000
        ratio = float(np.var(exposure.image[free]) / np.median(exposure.variance[free]))
        assert ratio == pytest.approx(1.0, abs=0.08), (visit, ccd, ratio)


def test_saturated_pixels_are_masked_and_interpolated(flow):
    root, _ = flow
    for visit in (1, 2):
        for ccd in range(NCCD):
            truth = readTruth(root / "raws" / f"raw_v{visit}_c{ccd}.fits")
            path = root / "out" / "postISRCCD" / f"v{visit}" / f"postISRCCD_v{visit}_c{ccd}.fits"
            exposure = Exposure.readFits(path)
            planes = exposure.maskedImage.getMaskPlaneDict()
            sat = (exposure.mask & (1 << planes["SAT"])) != 0
            intrp = (exposure.mask & (1 << planes["INTRP"])) != 0
            assert sat.sum() >= truth["saturatedPixels"]
            assert np.array_equal(sat, intrp)


def test_makeFlat_refuses_frames_of_several_filters(tmp_path):
    raws = tmp_path / "raws"
    simulate(
        raws,
        "--kind",
        "flat",
        "--filter",
        "g",
        "--visits",
        1,
        "--ccds",
        1,
        "--size",
        32,
        "--first-visit",
        301,
    )
    simulate(
        raws,
        "--kind",
        "flat",
        "--filter",
        "i",
        "--visits",
        1,
        "--ccds",
        1,
        "--size",
        32,
        "--first-visit",
        302,
    )
    assert pipetask("ingest", tmp_path / "repo", raws, "--camera", "synth").returncode == 0
    result = pipetask(
        "run",
        "makeFlat",
        tmp_path / "repo",
        "--id",
        "visit=301..302",
        "--output",
        tmp_path / "out",
        "-c",
        "isr.doBias=false",
    )
    assert result.returncode == 1
    assert "flat frames for {'ccd': 0} are of filters ['g', 'i']: select one filter" in (
        result.stderr
    )


def test_makeBias_in_a_process_pool_gives_the_same_masters(flow):
    root, _ = flow
    result = pipetask(
        "run",
        "makeBias",
        root / "repo",
        "--id",
        "visit=101..105",
        "--output",
        root / "bias-j2",
        "-j",
        "2",
    )
    assert result.returncode == 0, result.stderr
    assert "2 succeeded" in result.stderr
    for ccd in range(NCCD):
        name = f"bias/bias_c{ccd}.fits"
        serial = Exposure.readFits(root / "bias" / name).image
        pooled = Exposure.readFits(root / "bias-j2" / name).image
        assert np.array_equal(serial, pooled)
