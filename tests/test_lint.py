"""The repository is clean under ruff (lint and format), with the top pyproject's settings.

The files checked are those git tracks (what a fresh clone holds), so that work in progress
in a shared checkout does not fail other people's runs; outside git, the whole tree.
"""

from __future__ import annotations

import shutil
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


@pytest.fixture(scope="module")
def paths() -> list[str]:
    if shutil.which("git") and (ROOT / ".git").exists():
        result = subprocess.run(
            ["git", "ls-files", "-z", "--", "*.py", "*.pyi"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode == 0:
            tracked = [p for p in result.stdout.split("\0") if p and (ROOT / p).exists()]
            if tracked:
                return tracked
    return ["."]


def test_ruff_check(ruff, paths):
    result = subprocess.run(
        [ruff, "check", "--no-cache", "--force-exclude", *paths],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format(ruff, paths):
    result = subprocess.run(
        [ruff, "format", "--check", "--no-cache", "--force-exclude", *paths],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
