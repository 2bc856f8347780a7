"""Locate ``../shared/data/obs_test`` (real LSST obs_test files) for tests that need it.

Absent: the test is skipped with the reason shown, except under CI (``CI=true``), where it
fails, so that a missing data folder never passes silently.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
OBS_TEST_DATA = REPO_ROOT.parent / "shared" / "data" / "obs_test"


def obsTestData() -> Path:
    """The obs_test data directory, or skip (fail under CI) when it is missing."""
    if (OBS_TEST_DATA / "raw").is_dir() and (OBS_TEST_DATA / "exposure").is_dir():
        return OBS_TEST_DATA
    message = f"obs_test data not found at {OBS_TEST_DATA} (expected ../shared/data/obs_test)"
    if os.environ.get("CI") == "true":
        pytest.fail(message + "; it is required under CI")
    pytest.skip(message)


#: (visit, filter) of the three obs_test data IDs.
DATA_IDS = [(1, "g"), (2, "g"), (3, "r")]


def rawPath(visit: int, filterName: str) -> Path:
    """The plain raw file of an obs_test data ID (the data may be absent: see obsTestData)."""
    return OBS_TEST_DATA / "raw" / f"raw_v{visit}_f{filterName}.fits.gz"


def exposurePath(visit: int, filterName: str) -> Path:
    """The LSST multi-extension exposure file of an obs_test data ID."""
    return OBS_TEST_DATA / "exposure" / f"exp_v{visit}_f{filterName}.fits.gz"


def allFiles() -> list[Path]:
    """Every obs_test image file, raw and exposure forms."""
    return [f(v, b) for v, b in DATA_IDS for f in (rawPath, exposurePath)]


def obsTestRaws() -> list[Path]:
    """The three plain raws ``raw/raw_v*_f*.fits.gz``."""
    return sorted((obsTestData() / "raw").glob("raw_v*_f*.fits.gz"))


def obsTestExposures() -> list[Path]:
    """The three LSST Exposure files ``exposure/exp_v*_f*.fits.gz``."""
    return sorted((obsTestData() / "exposure").glob("exp_v*_f*.fits.gz"))


def makeSynthRepo(root: Path, visits: int = 2, ccds: int = 3, size: int = 32) -> Path:
    """A ``synth`` repository at ``root`` ingested from freshly simulated raws."""
    from obs_synth.simulate import simulate
    from pipetask.butler.ingest import ingest

    raws = simulate(root.parent / f"{root.name}-raws", visits, ccds, size)
    results = ingest(root, raws, camera="synth")
    assert [r.status for r in results] == ["ingested"] * len(raws)
    return root


def makeEmptyRepo(root: Path, camera: str = "synth", parents: list[str] | None = None) -> Path:
    """A repository with no datasets."""
    from pipetask.butler.repository import Repository

    Repository.create(root, camera, parents)
    return root
