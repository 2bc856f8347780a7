"""processCcd and calibrate through the real ``pipetask`` command, on small synth repositories.

The repository holds simulated raws and, for each, a ``postISRCCD`` made by an exact ISR
from the simulator's truth; ``isr`` is retargeted to ``readPostIsrCcd`` so these tests
exercise the processing and its command-line behaviour alone.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _synth_frames import postIsrFromTruth

PIPETASK = str(Path(sys.executable).with_name("pipetask"))
ROOT = Path(__file__).resolve().parents[1]
PHOTUTILS_TOML = ROOT / "examples" / "configs" / "processccd_photutils.toml"
SIZE = 200
READ_POST_ISR = ("-c", "isr=readPostIsrCcd")


def pipetask(*args, env=None, timeout=300) -> subprocess.CompletedProcess:
    fullEnv = {k: v for k, v in os.environ.items() if not k.startswith("PIPE_")}
    fullEnv.update(env or {})
    return subprocess.run(
        [PIPETASK, *map(str, args)], capture_output=True, text=True, env=fullEnv, timeout=timeout
    )


def report(proc) -> str:
    return f"status {proc.returncode}\n--- stdout\n{proc.stdout}--- stderr\n{proc.stderr}"


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    """Visits 1-2 (simulated), 3 (no sources: pure sky), 4 (all NaN), 5 (saturated
    everywhere), of CCD 0."""
    from pipetask import Butler

    root = tmp_path_factory.mktemp("proc")
    raws = root / "raws"
    simulate = [sys.executable, "-m", "obs_synth.simulate", str(raws)]
    options = ["--visits", "5", "--ccds", "1", "--size", str(SIZE)]
    subprocess.run([*simulate, *options], check=True, capture_output=True)
    done = pipetask("ingest", root / "repo", raws, "--camera", "synth")
    assert done.returncode == 0, report(done)
    butler = Butler(root / "repo")
    for visit in (1, 2, 3, 4, 5):
        exposure, _ = postIsrFromTruth(visit, 0, size=SIZE)
        if visit == 3:
            noise = np.random.default_rng(3).normal(0.0, 30.0, exposure.image.shape)
            exposure.image[...] = 1000.0 + noise
            exposure.mask[...] = 0
        if visit == 4:
            exposure.image[...] = np.nan
        if visit == 5:
            exposure.image[...] = 65535.0
            exposure.mask[...] |= exposure.maskedImage.getPlaneBitMask("SAT")
        butler.put(exposure, "postISRCCD", {"visit": visit, "ccd": 0})
    return root / "repo"


@pytest.fixture(scope="module")
def processed(repo, tmp_path_factory):
    out = tmp_path_factory.mktemp("out") / "out"
    debugFile = out.parent / "debug.toml"
    debugFile.write_text("[processCcd]\ndisplay = true\n")
    proc = pipetask(
        "run",
        "processCcd",
        repo,
        "--id",
        "visit=1..3",
        "--output",
        out,
        *READ_POST_ISR,
        "--debug",
        "--debug-file",
        debugFile,
    )
    return proc, out


def test_show_tasks_is_lsst_shaped(repo):
    proc = pipetask("run", "processCcd", repo, "--id", "--show", "tasks")
    assert proc.returncode == 0, report(proc)
    lines = [line.split(":")[0] for line in proc.stdout.splitlines()]
    for name in (
        "  isr",
        "  charImage",
        "    repair",
        "    background",
        "    detection",
        "    measurePsf",
        "  calibrate",
        "    deblend",
        "    measurement",
    ):
        assert name in lines, name
    assert "repair: pipetask_processing.repair:AstroscrappyRepairTask" in proc.stdout
    assert "measurement: pipetask_processing.measurement:SepMeasurementTask" in proc.stdout


def test_config_and_help_use_lsst_names(repo):
    proc = pipetask("run", "processCcd", repo, "--id", "--show", "config=calibrate.detection.*")
    assert proc.returncode == 0, report(proc)
    for line in (
        "calibrate.detection.thresholdValue = 5.0",
        'calibrate.detection.thresholdType = "stdev"',
        "calibrate.detection.minPixels = 1",
        "calibrate.detection.nSigmaToGrow = 2.4",
        "calibrate.detection.reEstimateBackground = true",
    ):
        assert line in proc.stdout, line
    helped = pipetask("help", "processCcd")
    assert helped.returncode == 0, report(helped)
    assert "includeThresholdMultiplier" in helped.stdout and "nCrPixelMax" in helped.stdout


def test_processCcd_writes_calexp_background_and_catalog(processed):
    from astropy.table import Table
    from pipetask_image import Exposure

    proc, out = processed
    assert proc.returncode == 0, report(proc)
    table = Table.read(out / "src" / "v1" / "src_v1_c0.fits")
    assert len(table) >= 10
    for name in (
        "coord_ra",
        "coord_dec",
        "slot_Centroid_x",
        "base_PsfFlux_instFlux",
        "base_CircularApertureFlux_12_0_instFlux",
        "base_CircularApertureFlux_12_0_instFluxErr",
        "base_PixelFlags_flag_cr",
    ):
        assert name in table.colnames
    assert table["coord_ra"].unit == "deg"
    assert 149 < np.nanmedian(table["coord_ra"]) < 152
    calexp = Exposure.readFits(out / "calexp" / "v1" / "calexp_v1_c0.fits")
    for plane in ("DETECTED", "CR", "SAT", "BAD", "INTRP"):
        assert plane in calexp.maskedImage.maskPlanes
    assert (calexp.mask & calexp.maskedImage.getPlaneBitMask("DETECTED")).any()
    assert 1.0 < calexp.metadata["PSFSIGMA"] < 2.5
    assert calexp.variance.max() > 0
    background = Exposure.readFits(out / "calexp" / "v1" / "bkgd_v1_c0.fits")
    assert abs(float(np.median(background.image)) - 1000) < 700  # the sky, in electrons


def test_debug_png_marks_sources(processed):
    proc, out = processed
    png = out / "display" / "calexp_visit=1_ccd=0.png"
    data = png.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert data[25] == 2  # colour type RGB: masks and sources in colour
    assert f"display: {png}" in proc.stderr


def test_an_image_without_sources_degrades_with_messages(processed):
    from astropy.table import Table

    proc, out = processed
    assert "PSF not measured" in proc.stderr
    table = Table.read(out / "src" / "v3" / "src_v3_c0.fits")
    assert table.meta["PSFFALLB"] is True
    assert len(table) <= 2  # a pure-noise frame: nothing, or a stray 5-sigma peak


@pytest.mark.parametrize(
    ("visit", "words"), [(4, "no finite pixel"), (5, "every pixel is saturated")]
)
def test_an_unusable_image_fails_that_data_id_only(repo, tmp_path, visit, words):
    """All NaN (visit 4), saturated everywhere (visit 5): one line, the others run."""
    out = tmp_path / "out"
    proc = pipetask(
        "run", "processCcd", repo, "--id", f"visit=1^{visit}", "--output", out, *READ_POST_ISR
    )
    assert proc.returncode == 1, report(proc)
    assert "Traceback" not in proc.stderr
    failed = [line for line in proc.stderr.splitlines() if words in line]
    assert failed and f"visit: {visit}" in failed[-1], report(proc)  # log line + summary
    assert not [line for line in failed if "visit: 1," in line or "'visit': 1," in line]
    assert (out / "src" / "v1" / "src_v1_c0.fits").exists()
    assert not (out / "calexp" / f"v{visit}").exists() and not (out / "src" / f"v{visit}").exists()
    assert not list(out.rglob("*.tmp*"))


def test_measurement_only_rerun_and_its_missing_input(processed, tmp_path):
    import shutil

    from astropy.table import Table

    _, out = processed
    rerun = tmp_path / "rerun"
    proc = pipetask(
        "run",
        "calibrate",
        out,
        "--id",
        "visit=1",
        "--output",
        rerun,
        "-c",
        "detection.thresholdValue=10",
    )
    assert proc.returncode == 0, report(proc)
    fewer = Table.read(rerun / "src" / "v1" / "src_v1_c0.fits")
    assert 0 < len(fewer) < len(Table.read(out / "src" / "v1" / "src_v1_c0.fits"))
    assert fewer.meta["THRESH"] == 10.0
    # A calexp that went missing: that data ID fails in one line, the others run.
    damaged = tmp_path / "damaged"
    shutil.copytree(out, damaged)
    (damaged / "calexp" / "v2" / "calexp_v2_c0.fits").unlink()
    proc = pipetask(
        "run", "calibrate", damaged, "--id", "visit=1^2", "--output", tmp_path / "rerun2"
    )
    assert proc.returncode == 1, report(proc)
    assert "Traceback" not in proc.stderr
    assert "no calexp to re-measure for data ID {'visit': 2, 'ccd': 0}" in proc.stderr
    assert (tmp_path / "rerun2" / "src" / "v1" / "src_v1_c0.fits").exists()
    assert not (tmp_path / "rerun2" / "src" / "v2").exists()
    # A repository without any calexp: nothing to select, said plainly.
    proc = pipetask("run", "calibrate", out.parent / "nothing", "--id")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, report(proc)


def test_photutils_retarget_from_a_toml_file(repo, tmp_path):
    from astropy.table import Table

    out = tmp_path / "out"
    proc = pipetask(
        "run",
        "processCcd",
        repo,
        "--id",
        "visit=1",
        "--output",
        out,
        *READ_POST_ISR,
        "-C",
        PHOTUTILS_TOML,
    )
    assert proc.returncode == 0, report(proc)
    assert "Warning" not in proc.stderr
    table = Table.read(out / "src" / "v1" / "src_v1_c0.fits")
    assert len(table) >= 10 and np.isfinite(table["ext_photometryKron_KronFlux_instFlux"]).any()


def test_a_missing_backend_names_the_distribution(repo, tmp_path):
    fake = tmp_path / "fake"
    (fake / "photutils").mkdir(parents=True)
    (fake / "photutils" / "__init__.py").write_text("raise ImportError('simulated absence')\n")
    env = {"PYTHONPATH": os.pathsep.join(filter(None, [str(fake), os.environ.get("PYTHONPATH")]))}
    proc = pipetask(
        "run",
        "processCcd",
        repo,
        "--id",
        "visit=1",
        "--output",
        tmp_path / "out",
        *READ_POST_ISR,
        "-c",
        "calibrate.detection=photutilsDetection",
        env=env,
    )
    assert proc.returncode == 2, report(proc)
    assert "Traceback" not in proc.stderr
    assert "pip install photutils" in proc.stderr and "'photutils' distribution" in proc.stderr


def test_a_third_party_backend_by_import_path(repo, tmp_path):
    module = tmp_path / "mybackend.py"
    module.write_text(
        "from pipetask_processing.detection import SepDetectionTask\n\n"
        "class LoudDetection(SepDetectionTask):\n"
        "    def findFootprints(self, smoothed, threshold, excluded):\n"
        "        found = super().findFootprints(smoothed, threshold, excluded)\n"
        "        self.log.info('third-party backend found %d', len(found))\n"
        "        return found\n"
    )
    env = {
        "PYTHONPATH": os.pathsep.join(filter(None, [str(tmp_path), os.environ.get("PYTHONPATH")]))
    }
    proc = pipetask(
        "run",
        "processCcd",
        repo,
        "--id",
        "visit=1",
        "--output",
        tmp_path / "out",
        *READ_POST_ISR,
        "-c",
        "calibrate.detection=mybackend:LoudDetection",
        env=env,
    )
    assert proc.returncode == 0, report(proc)
    assert "processCcd.calibrate.detection: third-party backend found" in proc.stderr


def test_bad_values_are_one_line(repo, tmp_path):
    for override, words in (
        ("calibrate.detection.thresholdType=bogus", "bogus"),
        ("calibrate.measurement.slots.calibFlux=base_CircularApertureFlux_11_0", "calibFlux"),
        ("charImage.repair=noSuchRepair", "noSuchRepair"),
    ):
        proc = pipetask(
            "run",
            "processCcd",
            repo,
            "--id",
            "visit=1",
            "--output",
            tmp_path / "out",
            "-c",
            override,
        )
        assert proc.returncode == 2, report(proc)
        assert "Traceback" not in proc.stderr and words in proc.stderr
        assert len(proc.stderr.strip().splitlines()) <= 2
