"""Failures around a run: resuming after failed data IDs, --doraise output, bad debug files."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from _shared_data import makeSynthRepo
from pipetask import debug

PIPETASK = str(Path(sys.executable).parent / "pipetask")


def pipetask(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([PIPETASK, *args], capture_output=True, text=True, timeout=300, cwd=cwd)


@pytest.fixture()
def repo(tmp_path) -> Path:
    return makeSynthRepo(tmp_path / "repo", visits=2, ccds=2, size=32)


def test_skip_existing_reruns_failed_data_ids(repo, tmp_path):
    out = tmp_path / "out"
    (repo / "raw" / "v2" / "raw_v2_c1.fits").unlink()  # this data ID will fail
    first = pipetask("run", "statsWriter", str(repo), "--id", "--output", str(out))
    assert first.returncode == 1, first.stderr
    assert "3 succeeded, 1 failed" in first.stderr
    # A failed data ID leaves no output, so a resume runs it again and it fails again.
    stats = out / "imageStats"
    assert (stats / "visit=2" / "ccd=0.json").is_file()
    assert not (stats / "visit=2" / "ccd=1.json").exists()
    again = pipetask(
        "run", "statsWriter", str(repo), "--id", "--output", str(out), "--skip-existing"
    )
    assert again.returncode == 1, again.stderr
    assert "0 succeeded, 1 failed, 3 skipped of 4 data IDs" in again.stderr
    assert "Processing data ID {'visit': 2, 'ccd': 1}" in again.stderr


def test_doraise_prints_the_traceback_once_and_counts_what_did_not_run(repo):
    proc = pipetask(
        "run", "exampleTask", str(repo), "--id", "--doraise", "-c", 'stats.badMaskPlanes=["NOPE"]'
    )
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.count("Traceback (most recent call last)") == 1, proc.stderr
    assert re.search(
        r"0 succeeded, 1 failed, 0 skipped of 4 data IDs in [\d.]+ s; 3 not run", proc.stderr
    ), proc.stderr


@pytest.mark.parametrize(
    ("content", "fragment"),
    [("import noSuchModule\n", "ModuleNotFoundError"), ("def broken(:\n", "SyntaxError")],
)
def test_a_broken_debug_py_is_one_line(repo, tmp_path, content, fragment):
    bad = tmp_path / "debug.py"
    bad.write_text(content)
    out = tmp_path / "out"
    proc = pipetask(
        "run", "statsWriter", str(repo), "--id", "--output", str(out), "--debug-file", str(bad)
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith(f"pipetask: error: debug file {bad}: {fragment}")
    assert "Traceback" not in proc.stderr
    # Refused before anything was stored.
    assert not (out / "config").exists()


def test_debug_toml_subtask_tables(tmp_path):
    path = tmp_path / "debug.toml"
    path.write_text('[exampleTask]\ndisplay = true\n\n[exampleTask.stats]\ndisplay = "png"\n')
    try:
        debug.loadDebugFile(str(path))
        assert debug.Info("exampleTask").display is True
        assert debug.Info("exampleTask.stats").display == "png"
        assert debug.Info("exampleTask").stats is False  # not a variable of the parent
    finally:
        debug.reset()
