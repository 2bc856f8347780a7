"""isrTask's bad inputs: one clear line naming the data ID and the file; the run goes on."""

from __future__ import annotations

import numpy as np
import pytest
from _isr_helpers import pipetask, simulate, writeCalib

pytest.importorskip("pipetask_isr")
from astropy.io import fits  # noqa: E402
from pipetask import TaskError  # noqa: E402
from pipetask.butler.camera import Amplifier, Detector  # noqa: E402
from pipetask_image import Exposure, MaskedImage  # noqa: E402
from pipetask_isr.isr_task import IsrTask  # noqa: E402


def test_raw_too_small_for_the_camera_geometry(tmp_path):
    """An obs_test raw of the wrong size fails its data ID, naming the section and file."""
    raws = tmp_path / "raws"
    raws.mkdir()
    hdu = fits.PrimaryHDU(np.full((100, 100), 1000, np.uint16))
    hdu.header["FILTER"] = "g"
    hdu.writeto(raws / "raw_v9_fg.fits")
    assert pipetask("ingest", tmp_path / "repo", raws, "--camera", "test").returncode == 0
    result = pipetask("run", "isrTask", tmp_path / "repo", "--id", "--output", tmp_path / "out")
    assert result.returncode == 1
    line = [x for x in result.stderr.splitlines() if "Failed on dataId" in x][0]
    assert "data ID {'visit': 9, 'filter': 'g'}" in line and "raw_v9_fg.fits" in line
    assert "amplifier '00'" in line and "is outside the 100x100 image" in line
    assert "Traceback" not in result.stderr


def test_raw_without_a_date_cannot_find_its_calibs(tmp_path):
    raws = tmp_path / "raws"
    simulate(raws, "--visits", 2, "--ccds", 1, "--size", 32)
    with fits.open(raws / "raw_v2_c0.fits", mode="update") as hdus:
        del hdus[0].header["MJD-OBS"]
    calibs = [
        writeCalib(tmp_path / f"{k}{f}.fits", k, "2023-02-25", 0, v, filterName=f)
        for k, v, f in (("bias", 0.0, None), ("flat", 1.0, "r"), ("flat", 1.0, "i"))
    ]
    assert (
        pipetask("ingestCalibs", tmp_path / "calib", *calibs, "--camera", "synth").returncode == 0
    )
    assert pipetask("ingest", tmp_path / "repo", raws, "--camera", "synth").returncode == 0
    result = pipetask(
        "run",
        "isrTask",
        tmp_path / "repo",
        "--id",
        "--output",
        tmp_path / "out",
        "--calib",
        tmp_path / "calib",
    )
    assert result.returncode == 1  # one failure; visit 1 went through
    assert "1 succeeded, 1 failed" in result.stderr
    assert "raw {visit: 2, ccd: 0}" in result.stderr and "raw_v2_c0.fits" in result.stderr
    assert "has no MJD-OBS keyword for its date" in result.stderr


def test_calib_of_the_wrong_shape(tmp_path):
    raws = tmp_path / "raws"
    simulate(raws, "--visits", 1, "--ccds", 1, "--size", 32)
    bias = writeCalib(tmp_path / "bias.fits", "bias", "2023-02-25", 0, 0.0, shape=(64, 64))
    flat = writeCalib(tmp_path / "flat.fits", "flat", "2023-02-25", 0, 1.0, filterName="r")
    assert (
        pipetask("ingestCalibs", tmp_path / "calib", bias, flat, "--camera", "synth").returncode
        == 0
    )
    assert pipetask("ingest", tmp_path / "repo", raws, "--camera", "synth").returncode == 0
    result = pipetask(
        "run",
        "isrTask",
        tmp_path / "repo",
        "--id",
        "--output",
        tmp_path / "out",
        "--calib",
        tmp_path / "calib",
    )
    assert result.returncode == 1
    assert "data ID {'visit': 1, 'ccd': 0}" in result.stderr
    assert "bias/2023-02-25/bias-0.fits is 64x64 pixels, the assembled CCD 32x32" in (result.stderr)


def oneAmpRaw(shape=(10, 14)):
    exposure = Exposure(MaskedImage(np.full(shape, 1000.0, np.float32)), filter="g")
    return exposure


def detector(dataSec="[1:10,1:10]", biasSec="[11:14,1:10]"):
    amp = Amplifier("A", dataSec=dataSec, biasSec=biasSec, gain=2.0, readNoise=3.0)
    return Detector(3, "D3", (14, 10), (amp,))


def plainConfig():
    config = IsrTask.ConfigClass()
    config.doDefect = False
    return config


def calib(value, detectorId=3, filterName=None, shape=(10, 10)):
    exposure = Exposure(MaskedImage(np.full(shape, value, np.float32)), filter=filterName)
    exposure.metadata["DETECTOR"] = detectorId
    if filterName:
        exposure.metadata["FILTER"] = filterName
    return exposure


def test_calib_of_the_wrong_detector_or_filter():
    task = IsrTask(config=plainConfig())
    good = task.run(oneAmpRaw(), detector(), bias=calib(5.0), flat=calib(1.0, filterName="g"))
    assert np.allclose(good.exposure.image, -5.0)
    with pytest.raises(TaskError, match="bias b.fits is for detector 4, not 3"):
        task.run(
            oneAmpRaw(),
            detector(),
            bias=calib(5.0, 4),
            flat=calib(1.0, filterName="g"),
            biasPath="b.fits",
        )
    with pytest.raises(TaskError, match="flat f.fits is for filter 'r', not 'g'"):
        task.run(
            oneAmpRaw(),
            detector(),
            bias=calib(5.0),
            flat=calib(1.0, filterName="r"),
            flatPath="f.fits",
        )


@pytest.mark.parametrize(
    ("dataSec", "biasSec", "message"),
    [
        ("[1:10,1:11]", "[11:14,1:10]", "data section [1:10,1:11] is outside the 14x10 image"),
        ("[1:10,1:10]", "[11:15,1:10]", "bias section [11:15,1:10] is outside the 14x10 image"),
        ("[1:10,1-10]", "[11:14,1:10]", "'[1:10,1-10]' is not a FITS section"),
        ("[5:1,1:10]", "[11:14,1:10]", "is empty or starts before pixel 1"),
    ],
)
def test_bad_amplifier_sections(dataSec, biasSec, message):
    config = plainConfig()
    config.doBias = config.doFlat = False
    with pytest.raises(TaskError, match=message.replace("[", r"\[").replace("]", r"\]")):
        IsrTask(config=config).run(oneAmpRaw(), detector(dataSec, biasSec))


def test_amplifier_without_a_gain_needs_the_config_fallback():
    amp = Amplifier("A", dataSec="[1:10,1:10]", biasSec="[11:14,1:10]")
    det = Detector(0, "D0", (14, 10), (amp,))
    config = plainConfig()
    config.doBias = config.doFlat = False
    with pytest.raises(TaskError, match="no gain for amplifier 'A'"):
        IsrTask(config=config).run(oneAmpRaw(), det)
    config = plainConfig()
    config.doBias = config.doFlat = False
    config.gain = 4.0
    config.readNoise = 2.0
    result = IsrTask(config=config).run(oneAmpRaw(), det)
    assert np.allclose(result.exposure.variance, 4.0)  # zero signal: read noise squared
