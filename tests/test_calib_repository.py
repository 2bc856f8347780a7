"""Calibration repositories: ingest with validity ranges, overlaps split at midpoints, and
``--calib`` picking the product valid at each raw's date for its detector and filter."""

from __future__ import annotations

import re
import sqlite3

import numpy as np
import pytest
from _isr_helpers import mjd, pipetask, simulate, writeCalib

pytest.importorskip("pipetask_isr")
from pipetask.butler import Butler  # noqa: E402
from pipetask.butler.calibs import CalibRegistry, ingestCalibs  # noqa: E402
from pipetask_image import Exposure  # noqa: E402

SIZE = 32
#: bias calib dates, with 30 days of validity they overlap; the value marks each file
BIASES = {"2023-01-01": 100.0, "2023-01-11": 200.0, "2023-01-31": 300.0}


def test_overlapping_validity_ranges_are_split_at_the_midpoints(tmp_path):
    files = [
        writeCalib(tmp_path / f"b{i}.fits", "bias", date, 0, value)
        for i, (date, value) in enumerate(BIASES.items())
    ]
    results = ingestCalibs(tmp_path / "calib", files, camera="synth", validity=30)
    assert [r.status for r in results] == ["ingested"] * 3
    registry = CalibRegistry(tmp_path / "calib")
    ranges = [(e.calibDate, e.validStart, e.validEnd) for e in registry.entries("bias")]
    registry.close()
    assert ranges == [
        ("2023-01-01", "2022-12-02", "2023-01-06"),
        ("2023-01-11", "2023-01-07", "2023-01-21"),
        ("2023-01-31", "2023-01-22", "2023-03-02"),
    ]
    # an older product added later is fitted in the same way
    late = writeCalib(tmp_path / "late.fits", "bias", "2022-12-01", 0, 50.0)
    assert ingestCalibs(tmp_path / "calib", [late])[0].status == "ingested"
    registry = CalibRegistry(tmp_path / "calib")
    first = registry.entries("bias")[:2]
    registry.close()
    assert (first[0].validEnd, first[1].validStart) == ("2022-12-16", "2022-12-17")


def test_separate_detectors_and_filters_do_not_share_ranges(tmp_path):
    files = [
        writeCalib(tmp_path / "b0.fits", "bias", "2023-01-01", 0, 1.0),
        writeCalib(tmp_path / "b1.fits", "bias", "2023-01-03", 1, 1.0),
        writeCalib(tmp_path / "fg.fits", "flat", "2023-01-01", 0, 1.0, filterName="g"),
        writeCalib(tmp_path / "fr.fits", "flat", "2023-01-02", 0, 1.0, filterName="r"),
    ]
    ingestCalibs(tmp_path / "calib", files, camera="synth", validity=10)
    registry = CalibRegistry(tmp_path / "calib")
    entries = registry.entries()
    registry.close()
    assert {(e.datasetType, e.detector, e.filter): (e.validStart, e.validEnd) for e in entries} == {
        ("bias", 0, ""): ("2022-12-22", "2023-01-11"),
        ("bias", 1, ""): ("2022-12-24", "2023-01-13"),
        ("flat", 0, "g"): ("2022-12-22", "2023-01-11"),
        ("flat", 0, "r"): ("2022-12-23", "2023-01-12"),
    }


@pytest.fixture(scope="module")
def selection(tmp_path_factory):
    """Raws on both sides of each midpoint, two CCDs and two filters, and the calibs."""
    root = tmp_path_factory.mktemp("calib-select")
    raws = root / "raws"
    dates = {1: "2023-01-06", 2: "2023-01-07", 3: "2023-01-21", 4: "2023-01-22"}
    for visit, date in dates.items():
        filterName = "g" if visit % 2 else "r"
        simulate(
            raws,
            "--visits",
            1,
            "--ccds",
            2,
            "--size",
            SIZE,
            "--first-visit",
            visit,
            "--mjd",
            mjd(date),
            "--filter",
            filterName,
        )
    files = []
    for ccd in (0, 1):
        for i, (date, value) in enumerate(BIASES.items()):
            files.append(
                writeCalib(
                    root / "in" / f"b{ccd}{i}.fits",
                    "bias",
                    date,
                    ccd,
                    value + 1000 * ccd,
                    (SIZE, SIZE),
                )
            )
        for filterName, value in (("g", 1.0), ("r", 2.0)):
            files.append(
                writeCalib(
                    root / "in" / f"f{ccd}{filterName}.fits",
                    "flat",
                    "2023-01-10",
                    ccd,
                    value,
                    (SIZE, SIZE),
                    filterName,
                )
            )
    assert pipetask("ingest", root / "repo", raws, "--camera", "synth").returncode == 0
    result = pipetask("ingestCalibs", root / "calib", *files, "--camera", "synth")
    assert result.returncode == 0, result.stderr
    return root, dates


def test_the_butler_picks_the_calib_by_date_detector_and_filter(selection):
    root, _ = selection
    butler = Butler(root / "repo", calib=root / "calib")
    expected = {1: "2023-01-01", 2: "2023-01-11", 3: "2023-01-11", 4: "2023-01-31"}
    for visit, calibDate in expected.items():
        for ccd in (0, 1):
            bias = butler.getUri("bias", visit=visit, ccd=ccd)
            assert bias.relative_to(root / "calib").as_posix() == (
                f"bias/{calibDate}/bias-{ccd}.fits"
            )
            filterName = "g" if visit % 2 else "r"
            flat = butler.getUri("flat", visit=visit, ccd=ccd)
            assert flat.name == f"flat-{ccd}-{filterName}.fits"


def test_isrTask_uses_the_selected_calibs(selection):
    root, _ = selection
    plain = pipetask(
        "run",
        "isrTask",
        root / "repo",
        "--id",
        "visit=1..4",
        "--output",
        root / "plain",
        "-c",
        "doBias=false",
        "doFlat=false",
    )
    calibrated = pipetask(
        "run",
        "isrTask",
        root / "repo",
        "--id",
        "visit=1..4",
        "--output",
        root / "out",
        "--calib",
        root / "calib",
    )
    assert plain.returncode == 0 and calibrated.returncode == 0, calibrated.stderr
    expected = {1: 100.0, 2: 200.0, 3: 200.0, 4: 300.0}
    for visit, bias in expected.items():
        for ccd in (0, 1):
            name = f"postISRCCD/v{visit}/postISRCCD_v{visit}_c{ccd}.fits"
            before = Exposure.readFits(root / "plain" / name).image
            after = Exposure.readFits(root / "out" / name).image
            flat = 1.0 if visit % 2 else 2.0
            assert np.allclose(after, (before - bias - 1000 * ccd) / flat, atol=0.05)


def test_no_valid_calib_lists_what_the_calib_repository_holds(selection, tmp_path):
    root, _ = selection
    raws = tmp_path / "raws"
    simulate(
        raws,
        "--visits",
        1,
        "--ccds",
        1,
        "--size",
        SIZE,
        "--first-visit",
        9,
        "--mjd",
        mjd("2023-06-01"),
        "--filter",
        "g",
    )
    assert pipetask("ingest", tmp_path / "repo", raws, "--camera", "synth").returncode == 0
    result = pipetask(
        "run",
        "isrTask",
        tmp_path / "repo",
        "--id",
        "visit=9",
        "--output",
        tmp_path / "out",
        "--calib",
        root / "calib",
    )
    # The only selected data ID has no valid calib: nothing could run, so it is a set-up
    # error before anything is written (with some data IDs fine, only those fail).
    assert result.returncode == 2
    assert not (tmp_path / "out").exists()
    assert "no bias valid on 2023-06-01 for raw {visit: 9, ccd: 0}" in result.stderr
    assert "raw_v9_c0.fits" in result.stderr
    assert "holds bias detector 0 (2023-01-01, valid 2022-12-02..2023-01-06)" in result.stderr
    # Only the products that could have served it are listed; the others are counted.
    assert "flat detector" not in result.stderr and "bias detector 1" not in result.stderr
    assert re.search(r"\(and [1-9]\d* other products\)", result.stderr)
    assert "Traceback" not in result.stderr


def test_ingestCalibs_bad_inputs(tmp_path):
    text = tmp_path / "notes.fits"
    text.write_text("not a FITS file\n")
    noType = writeCalib(tmp_path / "x.fits", "", "2023-01-01", 0, 1.0)
    badDetector = writeCalib(tmp_path / "y.fits", "bias", "2023-01-01", 42, 1.0)
    noFilter = writeCalib(tmp_path / "z.fits", "flat", "2023-01-01", 0, 1.0)
    good = writeCalib(tmp_path / "good.fits", "bias", "2023-01-01", 0, 1.0)
    result = pipetask(
        "ingestCalibs",
        tmp_path / "calib",
        text,
        noType,
        badDetector,
        noFilter,
        good,
        good,
        "--camera",
        "synth",
    )
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"bad           {text}: not a readable FITS file")
    assert "no OBSTYPE in the header" in lines[1]
    assert "camera 'synth' has no detector 42" in lines[2]
    assert "no FILTER in the header of this flat" in lines[3]
    assert lines[4].startswith("ingested") and lines[5].startswith("duplicate")
    assert "1 ingested, 1 duplicate, 1 bad, 3 unidentified" in lines[6]
    # registry rows and files agree, no temporary file is left
    db = sqlite3.connect(tmp_path / "calib" / "calibRegistry.sqlite3")
    paths = [row[0] for row in db.execute("SELECT path FROM calib")]
    db.close()
    files = sorted(
        p.relative_to(tmp_path / "calib").as_posix() for p in (tmp_path / "calib").rglob("*.fits")
    )
    assert paths == files == ["bias/2023-01-01/bias-0.fits"]
    assert not [p for p in (tmp_path / "calib").rglob("*") if ".tmp" in p.name]


def test_missing_calibration_repository_is_a_setup_error(tmp_path):
    simulate(tmp_path / "raws", "--visits", 1, "--ccds", 1, "--size", SIZE)
    assert (
        pipetask("ingest", tmp_path / "repo", tmp_path / "raws", "--camera", "synth").returncode
        == 0
    )
    result = pipetask(
        "run",
        "isrTask",
        tmp_path / "repo",
        "--id",
        "visit=1",
        "--output",
        tmp_path / "out",
        "--calib",
        tmp_path / "nowhere",
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1].startswith("pipetask: error:")
    assert "nowhere" in result.stderr and "Traceback" not in result.stderr
    missingCamera = pipetask("ingestCalibs", tmp_path / "new", tmp_path / "raws")
    assert missingCamera.returncode == 2 and "name its camera" in missingCamera.stderr
