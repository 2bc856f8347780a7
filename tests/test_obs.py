"""The obs packages: camera declarations, ingest rules, overrides and the raw simulator."""

from __future__ import annotations

import tomllib

import numpy as np
import pytest
from _shared_data import makeSynthRepo, obsTestExposures, obsTestRaws
from pipetask import Butler
from pipetask.butler.camera import Camera, UnidentifiedFile, loadCamera
from pipetask.dataid import selectDataIds
from pipetask.plugins import catalog


def test_cameras_are_registered_by_their_distributions():
    cameras = catalog().items["camera"]
    assert cameras["test"].distribution == "obs-test"
    assert cameras["synth"].distribution == "obs-synth"


def test_obs_test_camera_declaration():
    camera = loadCamera("test")
    assert isinstance(camera, Camera)
    assert camera.keys == {"visit": int, "filter": str}
    raw = camera.datasetType("raw")
    assert raw.template == "raw/raw_v{visit}_f{filter}.fits.gz" and raw.format == "fits"
    assert camera.detectors[0].size == (1026, 2000)


def test_obs_test_identifies_both_forms():
    from astropy.io import fits

    for path in obsTestRaws() + obsTestExposures():
        datasetType, dataId = loadCamera("test").identify(str(path))
        visit = int(path.name.split("_")[1][1:])
        assert datasetType == "raw"
        assert dataId == {"visit": visit, "filter": fits.getheader(path)["FILTER"].strip()}


def test_obs_test_has_no_override_files_like_the_real_obs_test():
    # LSST's obs_test never shipped config/exampleTask.py nor config/test/exampleTask.py.
    assert loadCamera("test").configOverrideFiles("exampleTask") == []


def test_synth_config_overrides_apply_in_order():
    camera = loadCamera("synth")
    files = camera.configOverrideFiles("exampleTask")
    assert [p.relative_to(camera.configDir).as_posix() for p in files] == [
        "exampleTask.toml",
        "synth/exampleTask.toml",
    ]
    generic, specific = (tomllib.loads(p.read_text()) for p in files)
    assert specific["stats"]["numIter"] != generic["stats"]["numIter"]
    assert camera.configOverrideFiles("noSuchTask") == []


def test_synth_camera_reads_its_ids_from_the_header(tmp_path):
    from obs_synth.simulate import simulate

    (path,) = simulate(tmp_path, visits=1, ccds=1, size=32, firstVisit=42)
    renamed = path.with_name("anything.fits")
    path.rename(renamed)
    assert loadCamera("synth").identify(str(renamed)) == ("raw", {"visit": 42, "ccd": 0})
    with pytest.raises(UnidentifiedFile):
        loadCamera("synth").identify(str(tmp_path / "notes.txt"))


def test_simulated_raw_is_realistic():
    from obs_synth.simulate import BIAS_ADU, SATURATE_ADU, simulateRaw

    pixels, header = simulateRaw(visit=3, ccd=2, size=256, overscan=32)
    assert pixels.dtype == np.uint16 and pixels.shape == (256, 288)
    data = pixels[:, :256].astype(float)
    overscan = pixels[:, 256:].astype(float)
    gain, readNoise = header["GAIN"], header["RDNOISE"]
    # overscan: bias plus read noise only
    assert abs(overscan.mean() - BIAS_ADU) < 1.0
    assert overscan.std() == pytest.approx(readNoise / gain, rel=0.1)
    # sky: level above bias with Poisson noise (in electrons) plus read noise
    sky = np.median(data) - BIAS_ADU
    assert sky == pytest.approx(header["SKYLEVEL"] - BIAS_ADU, rel=0.05)
    q1, q3 = np.percentile(data, [25, 75])
    sigma = (q3 - q1) / 1.349
    expected = np.sqrt(sky / gain + (readNoise / gain) ** 2)
    assert sigma == pytest.approx(expected, rel=0.15)
    # bad column reads the bias level only
    column = pixels[:, header["BADCOL"] - 1].astype(float)
    assert abs(column.mean() - BIAS_ADU) < 2.0
    # stars and cosmic rays: pixels far above the sky
    assert (data > BIAS_ADU + sky + 20 * sigma).sum() > 10
    # headers like the obs_test raws
    for key in ("FILTER", "EXPTIME", "GAIN", "RDNOISE", "SATURATE", "BIASSEC", "DATASEC"):
        assert key in header
    assert header["BIASSEC"] == "[257:288,1:256]"
    assert header["VISIT"] == 3 and header["CCD"] == 2
    assert pixels.max() <= SATURATE_ADU + 10 * readNoise / gain + BIAS_ADU


def test_simulation_saturates_bright_stars():
    from obs_synth.simulate import SATURATE_ADU, simulateRaw

    saturatedVisits = 0
    for visit in range(1, 6):
        pixels, _ = simulateRaw(visit, 0, size=512)
        if (pixels[:, :512] >= SATURATE_ADU - 20).sum() > 0:
            saturatedVisits += 1
    assert saturatedVisits >= 1


def test_simulation_is_reproducible():
    from obs_synth.simulate import simulateRaw

    a, _ = simulateRaw(1, 1, size=64)
    b, _ = simulateRaw(1, 1, size=64)
    c, _ = simulateRaw(1, 2, size=64)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_simulate_command_line(tmp_path):
    import subprocess
    import sys

    out = tmp_path / "raws"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "obs_synth.simulate",
            str(out),
            "--visits",
            "2",
            "--ccds",
            "3",
            "--size",
            "32",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f"raw_v{v}_c{c}{ext}" for v in (1, 2) for c in range(3) for ext in (".fits", ".truth.json")
    )
    bad = subprocess.run(
        [sys.executable, "-m", "obs_synth.simulate", str(out), "--ccds", "9"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2 and "--ccds must be between 1 and 8" in bad.stderr


def test_synth_repository_reads_back_through_the_fits_format(tmp_path):
    pytest.importorskip("pipetask_image")
    from astropy.io import fits

    repo = makeSynthRepo(tmp_path / "repo", visits=1, ccds=2, size=32)
    butler = Butler(repo)
    ref = butler.dataRef("raw", visit=1, ccd=1)
    exposure = ref.get()
    expected = fits.getdata(ref.getUri()).astype(np.float32)
    image = exposure.getMaskedImage().image if hasattr(exposure, "getMaskedImage") else None
    if image is None:
        image = exposure.maskedImage.image
    assert np.array_equal(np.asarray(image), expected)
    assert selectDataIds(butler, [["ccd=1"]]) == [{"visit": 1, "ccd": 1}]
