"""The repository is clean under ruff (lint and format), with the top pyproject's settings."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUFF = Path(sys.executable).with_name("ruff")


@pytest.fixture(scope="module")
def ruff() -> str:
    if not RUFF.exists():
        pytest.fail(f"ruff is not installed next to {sys.executable}; see tests/requirements.txt")
    return str(RUFF)


def test_ruff_check(ruff):
    result = subprocess.run(
        [ruff, "check", "--no-cache", "."], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format(ruff):
    result = subprocess.run(
        [ruff, "format", "--check", "--no-cache", "."],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
