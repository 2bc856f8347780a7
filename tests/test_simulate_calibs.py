"""The obs_synth simulator's calibration frames, patterns, dates and truth files."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from _shared_data import makeEmptyRepo

obs_synth = pytest.importorskip("obs_synth.simulate")
from obs_synth.simulate import (  # noqa: E402
    SATURATE_ADU,
    biasPattern,
    flatPattern,
    readTruth,
    simulate,
    simulateFrame,
)


def test_bias_frame_is_level_plus_pattern_plus_read_noise():
    pixels, header, truth = simulateFrame(5, 1, size=128, kind="bias")
    assert header["IMAGETYP"] == "BIAS" and header["EXPTIME"] == 0.0
    data = pixels[:, :128].astype(float)
    overscan = pixels[:, 128:].astype(float)
    noise = truth["readNoise"] / truth["gain"]
    assert overscan.mean() == pytest.approx(truth["biasLevel"], abs=0.2)
    assert overscan.std() == pytest.approx(noise, rel=0.1)
    residual = data - truth["biasLevel"] - biasPattern(1, 128)
    assert abs(residual.mean()) < 0.2
    assert residual.std() == pytest.approx(noise, rel=0.05)
    assert truth["stars"] == [] and truth["cosmicRays"] == [] and truth["flatPattern"] is None


def test_bias_pattern_is_fixed_per_ccd_and_differs_between_ccds():
    a, b, c = biasPattern(0, 64), biasPattern(0, 64), biasPattern(1, 64)
    assert np.array_equal(a, b) and not np.allclose(a, c)
    assert a.std() == pytest.approx(4.0, rel=1e-6)


def test_flat_frame_follows_the_flat_pattern_of_its_ccd_and_filter():
    pixels, header, truth = simulateFrame(7, 2, size=128, kind="flat", filterName="r")
    assert header["IMAGETYP"] == "FLAT" and header["FILTER"] == "r"
    flat = flatPattern(2, "r", 128)
    assert flat.mean() == pytest.approx(1.0, abs=1e-9)
    assert not np.allclose(flat, flatPattern(2, "g", 128))
    assert not np.allclose(flat, flatPattern(3, "r", 128))
    electrons = (pixels[:, :128] - truth["biasLevel"] - biasPattern(2, 128)) * truth["gain"]
    hit = np.zeros(electrons.shape, bool)
    for x, y, _ in truth["cosmicRays"]:
        hit[y, x] = True
    ratio = electrons[~hit] / (truth["illumination"] * flat[~hit])
    assert ratio.mean() == pytest.approx(1.0, abs=0.002)
    # Poisson noise of 20000 e- is 0.7%
    assert ratio.std() == pytest.approx(1 / np.sqrt(truth["illumination"]), rel=0.1)


def test_saturation_is_applied_after_the_noise():
    for visit in range(1, 8):
        pixels, _, truth = simulateFrame(visit, 0, size=256)
        if truth["saturatedPixels"]:
            break
    else:
        pytest.fail("no saturated star in 7 visits")
    data = pixels[:, :256]
    assert data.max() == SATURATE_ADU
    # every saturated pixel reads exactly the level: no noise on top
    assert (data >= SATURATE_ADU).sum() == truth["saturatedPixels"] > 0
    assert any(star["saturated"] for star in truth["stars"])


def test_science_truth_lists_every_star_and_cosmic_ray_pixel():
    pixels, header, truth = simulateFrame(2, 3, size=256)
    assert truth["kind"] == "science" and truth["filter"] == header["FILTER"]
    assert header["MJD-OBS"] == truth["mjd"] and header["DATE-OBS"].startswith("2023-")
    sky = truth["biasLevel"] + truth["illumination"] / truth["gain"]
    data = pixels[:, :256].astype(float) - biasPattern(3, 256)
    for star in truth["stars"]:
        col, row = int(round(star["x"])), int(round(star["y"]))
        if star["saturated"] or not (0 <= col < 256 and 0 <= row < 256):
            continue
        peak = star["flux"] / (2 * np.pi * truth["seeingSigma"] ** 2) / truth["gain"]
        if peak > 50 and col != truth["badColumn"]:
            assert data[row, col] - sky > 0.3 * peak, star
    assert truth["cosmicRays"]
    for x, y, electrons in truth["cosmicRays"]:
        if x != truth["badColumn"] and pixels[y, x] < SATURATE_ADU:
            assert data[y, x] - sky > 0.5 * electrons / truth["gain"]


def test_dates_and_kinds_from_the_command_line(tmp_path):
    out = tmp_path / "flats"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "obs_synth.simulate",
            str(out),
            "--kind",
            "flat",
            "--filter",
            "i",
            "--visits",
            "2",
            "--ccds",
            "1",
            "--size",
            "32",
            "--first-visit",
            "201",
            "--mjd",
            "60100.5",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    first, second = readTruth(out / "raw_v201_c0.fits"), readTruth(out / "raw_v202_c0.fits")
    assert (first["kind"], first["filter"], first["mjd"]) == ("flat", "i", 60100.5)
    assert second["mjd"] == pytest.approx(60100.51)
    bad = subprocess.run(
        [sys.executable, "-m", "obs_synth.simulate", str(out), "--kind", "dark"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and "--kind" in bad.stderr


def test_truth_files_are_ingested_with_their_raws(tmp_path):
    from pipetask.butler import Butler
    from pipetask.butler.ingest import ingest

    raws = tmp_path / "raws"
    simulate(raws, visits=1, ccds=2, size=32, firstVisit=4)
    (raws / "raw_v9_c0.truth.json").write_text("{not json")
    repo = makeEmptyRepo(tmp_path / "repo")
    results = {r.source.rsplit("/", 1)[1]: r for r in ingest(repo, [raws])}
    assert results["raw_v4_c1.truth.json"].status == "ingested"
    assert results["raw_v9_c0.truth.json"].status == "bad"
    truth = Butler(repo).get("truth", visit=4, ccd=1)
    assert truth == json.loads((raws / "raw_v4_c1.truth.json").read_text())
