"""Every bad input in tests/cli_bad_inputs.txt gets its exit status and one clear message."""

from __future__ import annotations

import shlex
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from _shared_data import makeEmptyRepo, makeSynthRepo

HERE = Path(__file__).parent
PIPETASK = str(Path(sys.executable).parent / "pipetask")


def _cases() -> list[tuple[str, int, str]]:
    cases = []
    for line in (HERE / "cli_bad_inputs.txt").read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        args, status, fragment = (part.strip() for part in line.split("|"))
        cases.append((args, int(status), fragment))
    return cases


@pytest.fixture(scope="module")
def places(tmp_path_factory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("cli")
    repo = makeSynthRepo(root / "repo", visits=2, ccds=3, size=32)
    badToml = root / "bad.toml"
    badToml.write_text("[stats\nnumSigmaClip = 2\n")
    badValue = root / "value.toml"
    badValue.write_text("[stats]\nnumSigmaClip = 'ten'\n")
    notFits = root / "notes.fits"
    notFits.write_text("not a FITS file\n")
    damaged = {}
    for name, statement in (
        ("noTable", "DROP TABLE dataset"),
        ("badMeta", "UPDATE meta SET value = '{' WHERE key = 'keys'"),
    ):
        damaged[name] = root / name
        shutil.copytree(repo, damaged[name])
        with sqlite3.connect(damaged[name] / "registry.sqlite3") as conn:
            conn.execute(statement)
        conn.close()
    for name, damage in (("noRegistry", Path.unlink), ("registryDir", Path.mkdir)):
        damaged[name] = root / name
        shutil.copytree(repo, damaged[name])
        (damaged[name] / "registry.sqlite3").unlink()
        if damage is Path.mkdir:
            (damaged[name] / "registry.sqlite3").mkdir()
    return {
        **{name: str(path) for name, path in damaged.items()},
        "testRepo": str(makeEmptyRepo(root / "test-repo", camera="test")),
        "badByte": "\udcff",  # the byte 0xff, which is not UTF-8, as Python passes it on
        "hugeInt": "9" * 5000,
        "repo": str(repo),
        "raws": str(root / "repo-raws"),
        "badToml": str(badToml),
        "badValue": str(badValue),
        "notFits": str(notFits),
    }


@pytest.mark.parametrize(("args", "status", "fragment"), _cases(), ids=lambda v: str(v))
def test_bad_input(args: str, status: int, fragment: str, places, tmp_path) -> None:
    argv = [part.format(tmp=tmp_path, **places) for part in shlex.split(args)]
    proc = subprocess.run([PIPETASK, *argv], capture_output=True, text=True, timeout=120)
    output = proc.stdout + proc.stderr
    assert proc.returncode == status, output
    assert fragment in output, output
    assert "Traceback" not in output or "--doraise" in args, output
