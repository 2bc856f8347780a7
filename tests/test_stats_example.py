"""The first script a new user runs, examples/stats_in_python.py, works end to end."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
from _shared_data import obsTestData, rawPath
from pipetask_image import MaskedImage

SCRIPT = Path(__file__).resolve().parents[1] / "examples" / "stats_in_python.py"


def runScript(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=120
    )


def test_example_on_obs_test_raw():
    obsTestData()
    done = runScript(str(rawPath(1, "g")))
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "simple: Struct(mean=" in out
    assert "sigma-clipped, numSigmaClip=1.0: Struct(mean=" in out
    assert "sigma-clipped, numSigmaClip=3.0: Struct(mean=1184.69" in out
    assert "refused:" in out and "numSigmaClip" in out and "'ten'" in out
    assert "clipped mean=1184.70; meanErr=0.02; stdDev=33.64" in done.stderr


def test_example_on_a_file_of_our_own(tmp_path):
    path = tmp_path / "image.fits"
    MaskedImage(np.random.default_rng(1).normal(5.0, 1.0, (64, 64))).writeFits(path)
    done = runScript(str(path))
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("Struct(mean=") == 3


def test_example_reports_a_bad_file(tmp_path):
    path = tmp_path / "broken.fits"
    path.write_bytes(b"not fits")
    done = runScript(str(path))
    assert done.returncode == 1
    assert "broken.fits" in done.stderr and "Traceback" not in done.stderr
