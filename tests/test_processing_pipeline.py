"""The processing pipeline that pipetask-processing ships, through the real CLI.

Simulated synth raws (2 visits of 2 CCDs, 256 pixels) go through the real calibration
flow (makeBias, makeFlat, ingestCalibs), then ``pipetask run -p processing``: found by
name, isr -> characterizeImage -> calibrate -> visitSummary. Serial, ``-j 2`` and Dask
give identical catalogs; they are processCcd's catalogs; the visit summary agrees with
the simulator's truth; a killed run resumes; a failed isr blocks only its descendants;
a missing calibration, a clash of pipeline names and a failing contract are one line.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from _isr_helpers import simulate

pytest.importorskip("pipetask_processing")
pytest.importorskip("pipetask_isr")
from test_pipeline_run import checkConsistent  # noqa: E402

PIPETASK = str(Path(sys.executable).parent / "pipetask")
SIZE = 256
VISITS = (1, 2)
CCDS = (0, 1)
#: the science visits (the repository also holds the bias and flat frames, as raws)
SCIENCE = "visit=1..2"
CATALOGS = ("src", "icSrc", "visitSummary")


def pipetask(*args, env=None, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PIPETASK, *map(str, args)], capture_output=True, text=True, env=env, timeout=timeout
    )


def ok(*args, **kw) -> subprocess.CompletedProcess:
    done = pipetask(*args, **kw)
    assert done.returncode == 0, (args, done.stderr[-3000:])
    return done


def oneLine(done: subprocess.CompletedProcess, code: int = 2) -> str:
    assert done.returncode == code, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pipetask: error: "), done.stderr
    return lines[0]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """``(root, repo, calib)``: raws ingested, master bias and flat in a calib repository."""
    root = tmp_path_factory.mktemp("processing-pipeline")
    raws = root / "raws"
    n = len(CCDS)
    simulate(raws, "--visits", len(VISITS), "--ccds", n, "--size", SIZE, "--filter", "r")
    simulate(
        raws, "--kind", "bias", "--visits", 3, "--ccds", n, "--size", SIZE, "--first-visit", 101
    )
    simulate(
        raws, "--kind", "flat", "--filter", "r", "--visits", 3, "--ccds", n, "--size", SIZE,
        "--first-visit", 201,
    )  # fmt: skip
    repo, calib = root / "repo", root / "calib"
    ok("ingest", repo, raws, "--camera", "synth")
    ok("run", "makeBias", repo, "--id", "visit=101..103", "--output", root / "bias")
    ok("ingestCalibs", calib, root / "bias" / "bias", "--camera", "synth")
    flat = root / "flat"
    ok("run", "makeFlat", repo, "--id", "visit=201..203", "--output", flat, "--calib", calib)
    ok("ingestCalibs", calib, flat / "flat")
    return root, repo, calib


@pytest.fixture(scope="module")
def serial(data):
    """The serial run of the whole pipeline, by name."""
    root, repo, calib = data
    out = root / "serial"
    done = ok("run", "-p", "processing", repo, "--calib", calib, "--id", SCIENCE, "--output", out)
    return out, done


def run(data, out, *extra, location="processing", **kw):
    _root, repo, calib = data
    args = ["run", "-p", location, repo, "--calib", calib, "--id", SCIENCE, "--output", out, *extra]
    return pipetask(*args, **kw)


def read(out: Path, datasetType: str, **dataId):
    from pipetask import Butler

    with Butler(out) as butler:
        return butler.get(datasetType, dataId)


def dataIds(datasetType: str) -> list[dict]:
    if datasetType == "visitSummary":
        return [{"visit": v} for v in VISITS]
    return [{"visit": v, "ccd": c} for v in VISITS for c in CCDS]


def assertSameTable(a, b, what: str) -> None:
    assert a.colnames == b.colnames, what
    assert len(a) == len(b), what
    for name in a.colnames:
        left, right = np.asarray(a[name]), np.asarray(b[name])
        if left.dtype.kind == "f":
            assert np.array_equal(left, right, equal_nan=True), (what, name)
        else:
            assert np.array_equal(left, right), (what, name)
    assert dict(a.meta) == dict(b.meta), what


def assertSameCatalogs(out: Path, reference: Path, types=CATALOGS) -> None:
    for datasetType in types:
        for dataId in dataIds(datasetType):
            what = f"{datasetType} {dataId} of {out.name}"
            assertSameTable(
                read(out, datasetType, **dataId), read(reference, datasetType, **dataId), what
            )


# -- found by name -------------------------------------------------------------------------
def test_the_pipeline_is_listed_with_its_distribution():
    done = ok("list")
    line = next(x for x in done.stdout.splitlines() if x.strip().startswith("processing "))
    assert "isr -> characterizeImage -> calibrate" in line and "[pipetask-processing]" in line


def test_the_shipped_pipeline_runs_by_name(data, serial):
    out, done = serial
    for label, count in (
        ("isr", 4),
        ("characterizeImage", 4),
        ("calibrate", 4),
        ("visitSummary", 2),
    ):
        assert f"{label}: {count} succeeded, 0 failed, 0 blocked, 0 skipped of {count} quanta" in (
            done.stderr
        ), done.stderr
    checkConsistent(out)
    assert len(list((out / "runs" / "processing").glob("*.jsonl"))) == 1
    for dataId in dataIds("src"):
        assert len(read(out, "src", **dataId)) > 5
        assert read(out, "calexp", **dataId).metadata["PSFNSTAR"] >= 0


def test_a_subset_by_name_and_a_path_to_the_file_work_too(data, serial, tmp_path):
    import pipetask_processing

    shipped = Path(pipetask_processing.__file__).parent / "pipelines" / "processing.toml"
    copy = tmp_path / "mine.toml"
    shutil.copy(shipped, copy)
    done = run(data, tmp_path / "x", "--show", "pipeline", location=f"{copy}#singleFrame")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"pipeline {copy}#singleFrame: single-frame processing")
    assert "visitSummary (visitSummary)" not in done.stdout
    out = tmp_path / "frames"
    frames = run(data, out, location="processing#singleFrame", timeout=300)
    assert frames.returncode == 0, frames.stderr
    assert "visitSummary:" not in frames.stderr
    assertSameCatalogs(out, serial[0], ("src", "icSrc"))


def test_an_unknown_name_is_one_line(data, tmp_path):
    line = oneLine(run(data, tmp_path / "out", location="procesing"))
    assert "pipeline 'procesing' is neither a file nor an installed pipeline" in line
    assert "did you mean 'processing'?" in line and "installed pipelines: processing" in line
    assert not (tmp_path / "out").exists()


def test_two_plugins_shipping_one_name_is_an_error_naming_both(data, tmp_path):
    site = tmp_path / "site"
    (site / "other_pipelines").mkdir(parents=True)
    (site / "other_pipelines" / "__init__.py").write_text(
        "from pipetask.plugins import Description, hookimpl\n\n\n@hookimpl\n"
        "def pipetask_pipelines():\n"
        "    return [Description('processing', 'other_pipelines:p.toml', 'another')]\n"
    )
    (site / "other_pipelines" / "p.toml").write_text('[tasks.a]\ntask = "exampleTask"\n')
    info = site / "other_pipelines-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: other-pipelines\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[pipetask]\nother = other_pipelines\n")
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")])),
    )
    line = oneLine(run(data, tmp_path / "out", env=env))
    assert "pipeline 'processing' is provided by both" in line
    assert "pipetask-processing" in line and "other-pipelines" in line
    listed = pipetask("list", env=env)
    assert listed.returncode == 1 and "name clash: pipeline 'processing'" in listed.stderr
    # A path still works whatever plugins ship.
    path = site / "other_pipelines" / "p.toml"
    shown = run(data, tmp_path / "out", "--show", "pipeline", location=str(path), env=env)
    assert shown.returncode == 0 and "a (exampleTask)" in shown.stdout, shown.stderr


# -- same results, whatever runs them ------------------------------------------------------
@pytest.mark.parametrize(
    "mode, extra",
    [("j2", ["-j", "2"]), ("dask", ["--executor", "dask", "-j", "2"])],
    ids=["j2", "dask"],
)
def test_two_processes_and_dask_give_the_serial_catalogs(data, serial, tmp_path, mode, extra):
    if mode == "dask":
        pytest.importorskip("distributed", reason="pipetask-dask needs dask[distributed]")
    out = tmp_path / mode
    done = run(data, out, *extra)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "visitSummary: 2 succeeded" in done.stderr
    checkConsistent(out)
    assertSameCatalogs(out, serial[0])


def test_the_catalogs_are_processCcds(data, serial, tmp_path):
    """processCcd with the same configs (the camera's overrides of its charImage are
    characterizeImage's) writes the same calexps and catalogs. It runs on the pipeline's
    output so that its isr subtask, whether it reads the stored postISRCCD or runs ISR on
    the raw with --calib, starts from the same pixels."""
    _root, _repo, calib = data
    out = tmp_path / "processCcd"
    ok("run", "processCcd", serial[0], "--calib", calib, "--id", SCIENCE, "--output", out)
    for dataId in dataIds("src"):
        mine, theirs = read(serial[0], "src", **dataId), read(out, "src", **dataId)
        assertSameTable(mine, theirs, f"src {dataId}")
        a, b = read(serial[0], "calexp", **dataId), read(out, "calexp", **dataId)
        assert np.array_equal(a.image, b.image) and np.array_equal(a.mask, b.mask), dataId
        assert np.array_equal(a.variance, b.variance), dataId
        bgA, bgB = (
            read(serial[0], "calexpBackground", **dataId),
            read(out, "calexpBackground", **dataId),
        )
        assert np.array_equal(bgA.image, bgB.image), dataId


def test_the_visit_summary_gathers_every_ccd_against_the_truth(data, serial):
    from obs_synth.simulate import readTruth

    root, _repo, _calib = data
    out = serial[0]
    for visit in VISITS:
        table = read(out, "visitSummary", visit=visit)
        assert list(table["visit"]) == [visit] * len(CCDS) and list(table["ccd"]) == list(CCDS)
        assert table.meta["NCCD"] == len(CCDS)
        for row in table:
            ccd = int(row["ccd"])
            (raw,) = (root / "raws").glob(f"*_v{visit}_c{ccd}.fits")
            truth = readTruth(raw)
            src = read(out, "src", visit=visit, ccd=ccd)
            calexp = read(out, "calexp", visit=visit, ccd=ccd)
            assert row["nSources"] == len(src)
            assert 0 < row["nGoodSources"] <= row["nSources"]
            assert row["psfSigma"] == pytest.approx(calexp.metadata["PSFSIGMA"])
            if not row["psfFallback"]:
                assert row["psfSigma"] == pytest.approx(truth["seeingSigma"], rel=0.1)
            sky = truth["illumination"]
            assert row["skyBg"] == pytest.approx(sky, rel=0.01)
            assert row["skyNoise"] == pytest.approx(
                np.sqrt(sky + truth["readNoise"] ** 2), rel=0.05
            )


# -- faults ----------------------------------------------------------------------------------
def test_a_killed_run_resumes_with_skip_existing(data, serial, tmp_path):
    _root, repo, calib = data
    out = tmp_path / "out"
    args = ["run", "-p", "processing", repo, "--calib", calib, "--id", SCIENCE, "--output", out]
    process = subprocess.Popen(
        [PIPETASK, *map(str, args)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not list(out.glob("icExp/*/*.fits")):
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    assert list(out.glob("icExp/*/*.fits")), "the run ended before it could be killed"
    assert not list(out.glob("visitSummary/*.fits")), "the run finished before it was killed"
    resumed = pipetask(*args, "--skip-existing")
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resume:" in resumed.stderr
    isr = re.search(r"isr: (\d+) succeeded, 0 failed, 0 blocked, (\d+) skipped", resumed.stderr)
    assert isr and int(isr[2]) >= 1 and int(isr[1]) + int(isr[2]) == 4, resumed.stderr
    checkConsistent(out)
    assertSameCatalogs(out, serial[0])
    again = pipetask(*args, "--skip-existing")
    assert again.returncode == 0
    assert "visitSummary: 0 succeeded, 0 failed, 0 blocked, 2 skipped" in again.stderr, again.stderr


KILLED_WRITER = """
import os, signal, sys
import numpy as np
import pipetask_image.fits_io as fits_io
from pipetask import Butler
from pipetask_image import Exposure, MaskedImage

def halfThenKilled(out, buffer, zipped):
    out.write(buffer.getbuffer()[:2880])
    out.flush()
    os.kill(os.getpid(), signal.SIGKILL)

fits_io._writeBytes = halfThenKilled
image = Exposure(MaskedImage(np.ones((64, 64), np.float32)))
Butler(sys.argv[1]).put(image, "icExp", visit=1, ccd=0)
"""


def test_a_fits_write_killed_midway_leaves_nothing_once_recovered(tmp_path):
    """kill -9 in the middle of writing a FITS dataset: the next open of the repository
    finds neither a temporary file nor a pending row, and the dataset is not there."""
    import sqlite3

    from pipetask import Butler
    from pipetask.butler.repository import Repository

    repo = tmp_path / "repo"
    Repository.create(repo, "synth")
    child = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(repo)], timeout=120)
    assert child.returncode == -signal.SIGKILL
    assert list(repo.glob("icExp/v1/.tmp-*")), "the write was not under way"
    with Butler(repo) as butler:  # opened for writing: recovers
        assert not butler.datasetExists("icExp", visit=1, ccd=0)
    assert not list(repo.rglob(".tmp-*"))
    with sqlite3.connect(repo / "registry.sqlite3") as conn:
        assert conn.execute("SELECT COUNT(*) FROM pending").fetchone()[0] == 0


def test_a_failed_isr_blocks_only_its_descendants(data, serial, tmp_path):
    """The raw of visit 2, CCD 1 is replaced by a smaller frame: its isr fails (the bias
    does not fit), its characterizeImage and calibrate and visit 2's summary are blocked;
    everything of visit 1 and of visit 2, CCD 0 is written as by a clean run."""
    root, repo, calib = data
    broken = tmp_path / "repo"
    shutil.copytree(repo, broken)
    simulate(tmp_path / "small", "--visits", 2, "--ccds", 2, "--size", 64, "--filter", "r")
    (target,) = broken.glob("raw/v2/raw_v2_c1.fits")
    (small,) = (tmp_path / "small").glob("*_v2_c1.fits")
    shutil.copy(small, target)
    out = tmp_path / "out"
    done = pipetask(
        "run", "-p", "processing", broken, "--calib", calib, "--id", SCIENCE, "--output", out
    )
    assert done.returncode == 1, done.stderr[-3000:]
    for line in (
        "isr: 3 succeeded, 1 failed, 0 blocked, 0 skipped of 4 quanta",
        "characterizeImage: 3 succeeded, 0 failed, 1 blocked, 0 skipped of 4 quanta",
        "calibrate: 3 succeeded, 0 failed, 1 blocked, 0 skipped of 4 quanta",
        "visitSummary: 1 succeeded, 0 failed, 1 blocked, 0 skipped of 2 quanta",
    ):
        assert line in done.stderr, done.stderr[-3000:]
    assert "bias" in done.stderr and "pixels" in done.stderr  # why isr failed
    checkConsistent(out)
    assert [p.name for p in out.glob("visitSummary/*.fits")] == ["visitSummary_v1.fits"]
    assert not list(out.glob("src/v2/src_v2_c1.fits"))
    assertSameTable(
        read(out, "visitSummary", visit=1), read(serial[0], "visitSummary", visit=1), "v1"
    )
    assertSameTable(
        read(out, "src", visit=2, ccd=0), read(serial[0], "src", visit=2, ccd=0), "v2c0"
    )


def test_a_missing_calibration_names_label_connection_type_and_data_id(data, tmp_path):
    root, repo, _calib = data
    biasOnly = tmp_path / "calib"
    ok("ingestCalibs", biasOnly, root / "bias" / "bias", "--camera", "synth")
    out = tmp_path / "out"
    line = oneLine(
        pipetask(
            "run", "-p", "processing", repo, "--calib", biasOnly, "--id", SCIENCE, "--output", out
        )
    )
    assert (
        "label 'isr', quantum {visit: 1, ccd: 0}: prerequisite 'flat' (dataset type 'flat')" in line
    )
    assert "is missing for data ID {ccd: 0}" in line and "no flat valid on" in line
    assert not out.exists()
    # Without the flat the pipeline needs none, and runs.
    frames = pipetask(
        "run", "-p", "processing#isr", repo, "--calib", biasOnly, "--id", "visit=1",
        "--output", out, "-c", "isr:doFlat=false",
    )  # fmt: skip
    assert frames.returncode == 0, frames.stderr[-3000:]
    assert "isr: 2 succeeded" in frames.stderr


def test_calibrations_are_found_by_their_validity_range(data, tmp_path):
    """The masters are dated two days after the science raws: valid for 0 days they do not
    cover them (the graph says so before anything runs); valid for 2 they do."""
    root, repo, _calib = data
    masters = (root / "bias" / "bias", root / "flat" / "flat")
    narrow, wide = tmp_path / "narrow", tmp_path / "wide"
    ok("ingestCalibs", narrow, *masters, "--camera", "synth", "--validity", 0)
    ok("ingestCalibs", wide, *masters, "--camera", "synth", "--validity", 2)
    out = tmp_path / "out"
    args = ["run", "-p", "processing#isr", repo, "--id", "visit=1", "--output", out]
    line = oneLine(pipetask(*args, "--calib", narrow))
    assert "label 'isr', quantum {visit: 1, ccd: 0}: prerequisite 'bias'" in line, line
    assert "no bias valid on 2023-02-25" in line
    # The product that could have served it, with its too narrow range; the rest counted.
    assert "holds bias detector 0 (2023-02-26, valid 2023-02-26..2023-02-26)" in line
    assert "other products)" in line and "flat detector" not in line
    assert not out.exists()
    done = ok(*args, "--calib", wide)
    assert "isr: 2 succeeded" in done.stderr


def test_a_failing_contract_of_the_shipped_pipeline_is_one_line(data, tmp_path):
    out = tmp_path / "out"
    line = oneLine(
        run(data, out, "-c", "characterizeImage:detection.includeThresholdMultiplier=0.5")
    )
    assert "contract 'characterizeImage.detection.includeThresholdMultiplier >= 1' fails" in line
    assert "the PSF stars must be at least as bright" in line
    assert not out.exists()


def test_show_pipeline_and_graph_read_well(data, serial):
    _root, repo, calib = data
    done = ok(
        "run", "-p", "processing", repo, "--calib", calib, "--id", "visit=1",
        "--output", serial[0], "--show", "pipeline", "graph", "--skip-existing",
    )  # fmt: skip
    text = done.stdout
    assert text.startswith("pipeline processing: single-frame processing: isr -> characterizeImage")
    for line in (
        "isr (isrTask), one quantum per (visit, ccd)",
        "  prerequisite    bias = bias (ccd) from --calib or the repository",
        "  output          outputExposure = postISRCCD (visit, ccd)",
        "  input           exposure = icExp (visit, ccd) from characterizeImage",
        "  input multiple  catalogs = src (visit, ccd) from calibrate",
        "visitSummary (visitSummary), one quantum per (visit)",
        "quantum graph: 7 quanta, 7 done",
        "  skip {visit: 1}: its outputs exist (--skip-existing)",
    ):
        assert line in text, text
    fresh = ok(
        "run", "-p", "processing", repo, "--calib", calib, "--id", "visit=1", "--show", "graph"
    )
    assert "  run  {visit: 1}: new, after 2 quanta of calibrate" in fresh.stdout, fresh.stdout
    assert "  run  {visit: 1, ccd: 0}: new, after 1 quantum of characterizeImage" in fresh.stdout


def test_isr_on_the_real_obs_test_raws_is_isrTasks(tmp_path):
    """obs_test has no calibration repository: isr masks the obs package's own defects
    (an optional prerequisite) and writes what ``pipetask run isrTask`` writes."""
    from _shared_data import obsTestData

    repo = tmp_path / "repo"
    ok("ingest", repo, obsTestData() / "raw", "--camera", "test")
    pipe, task = tmp_path / "pipe", tmp_path / "task"
    done = ok("run", "-p", "processing#isr", repo, "--id", "visit=1^3", "--output", pipe)
    assert "isr: 2 succeeded" in done.stderr
    ok("run", "isrTask", repo, "--id", "visit=1^3", "--output", task)
    for visit, filterName in ((1, "g"), (3, "r")):
        a = read(pipe, "postISRCCD", visit=visit, filter=filterName)
        b = read(task, "postISRCCD", visit=visit, filter=filterName)
        assert np.array_equal(a.image, b.image) and np.array_equal(a.mask, b.mask)
        assert (a.mask & a.maskedImage.getPlaneBitMask("BAD")).any()  # the packaged defects
