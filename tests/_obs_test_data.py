"""Where the shared obs_test data lives, and how tests react when it is missing.

The data is never copied into the repository: it is read from ``../shared/data/obs_test``
relative to the repository root. Without it a test skips with a visible reason, except
under CI (``CI=true``), where it fails: CI must have the data.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
OBS_TEST_DIR = (REPO_ROOT / ".." / "shared" / "data" / "obs_test").resolve()

#: (visit, filter) of the three obs_test data IDs.
DATA_IDS = [(1, "g"), (2, "g"), (3, "r")]


def rawPath(visit: int, filterName: str) -> Path:
    """The plain raw file of a data ID."""
    return OBS_TEST_DIR / "raw" / f"raw_v{visit}_f{filterName}.fits.gz"


def exposurePath(visit: int, filterName: str) -> Path:
    """The LSST multi-extension exposure file of a data ID."""
    return OBS_TEST_DIR / "exposure" / f"exp_v{visit}_f{filterName}.fits.gz"


def allFiles() -> list[Path]:
    """Every obs_test image file, raw and exposure forms."""
    return [f(v, b) for v, b in DATA_IDS for f in (rawPath, exposurePath)]


def requireObsTest() -> Path:
    """Return the obs_test directory; skip (fail under ``CI=true``) when it is missing."""
    if not (OBS_TEST_DIR / "raw").is_dir() or not (OBS_TEST_DIR / "exposure").is_dir():
        reason = f"obs_test data not found at {OBS_TEST_DIR}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason + " (required under CI)")
        pytest.skip(reason)
    return OBS_TEST_DIR
