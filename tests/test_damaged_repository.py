"""Damaged repositories through the real CLI: one line naming the file, exit 2, never a
default, nothing written; and files pipetask writes honour the umask."""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from _shared_data import makeSynthRepo

PIPETASK = str(Path(sys.executable).parent / "pipetask")


def cli(*args: str, umask: int | None = None) -> subprocess.CompletedProcess:
    def preexec() -> None:
        if umask is not None:
            os.umask(umask)

    return subprocess.run(
        [PIPETASK, *args], capture_output=True, text=True, timeout=180, preexec_fn=preexec
    )


@pytest.fixture(scope="module")
def ran(tmp_path_factory) -> tuple[Path, Path]:
    """A synth repository and an output holding a stored config and package list."""
    root = tmp_path_factory.mktemp("damaged")
    repo = makeSynthRepo(root / "repo", visits=1, ccds=2, size=24)
    out = root / "out"
    first = cli("run", "statsWriter", str(repo), "--id", "--output", str(out))
    assert first.returncode == 0, first.stdout + first.stderr
    return repo, out


def _copy(tmp_path: Path, repo: Path, out: Path) -> tuple[Path, Path]:
    newRepo, newOut = tmp_path / "repo", tmp_path / "out"
    shutil.copytree(repo, newRepo, symlinks=True)
    shutil.copytree(out, newOut, symlinks=True)
    return newRepo, newOut


def _unchanged(path: Path) -> tuple:
    return tuple(sorted((p.name, p.stat().st_size) for p in path.parent.iterdir()))


@pytest.mark.parametrize("damage", ["empty", "not-utf8", "directory", "blank"])
@pytest.mark.parametrize("stored", ["config/statsWriter.toml", "config/packages.json"])
def test_unreadable_stored_file_is_an_error_naming_it(ran, tmp_path, stored, damage):
    repo, out = _copy(tmp_path, *ran)
    path = out / stored
    path.unlink()
    if damage == "empty":
        path.write_bytes(b"")
    elif damage == "blank":
        path.write_bytes(b"\n  \n")
    elif damage == "not-utf8":
        path.write_bytes(b"\xff\xfe[stats]\nnumSigmaClip = 3\n")
    else:
        path.mkdir()
    before = _unchanged(path)
    # The run's config is the defaults: an empty stored config read as "all defaults"
    # would let it through.
    result = cli("run", "statsWriter", str(repo), "--id", "--output", str(out))
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert str(path) in output and "Traceback" not in output, output
    assert {
        "empty": "is empty",
        "blank": "is empty",
        "not-utf8": "not UTF-8",
        "directory": "is a directory",
    }[damage] in output
    assert _unchanged(path) == before
    assert not list(out.rglob(".tmp-*"))


def _sql(registry: Path, statement: str) -> None:
    conn = sqlite3.connect(registry)
    conn.execute(statement)
    conn.commit()
    conn.close()


@pytest.mark.parametrize(
    ("damage", "fragment"),
    [
        ("DROP TABLE dataset", "damaged registry: no table dataset"),
        ("DROP TABLE pending", "damaged registry: no table pending"),
        ("UPDATE meta SET value = '{not json' WHERE key = 'keys'", "unreadable metadata"),
        ("DELETE FROM meta WHERE key = 'version'", "unreadable metadata"),
        ("empty file", "damaged registry: no table meta"),
    ],
)
@pytest.mark.parametrize("command", ["run", "ingest"])
def test_damaged_registry_is_one_clear_line(ran, tmp_path, damage, fragment, command):
    repo, _ = _copy(tmp_path, *ran)
    registry = repo / "registry.sqlite3"
    if damage == "empty file":
        registry.write_bytes(b"")
    else:
        _sql(registry, damage)
    size = registry.stat().st_size
    if command == "run":
        result = cli("run", "exampleTask", str(repo), "--id")
    else:
        raws = sorted(ran[0].parent.glob("repo-raws/*.fits"))
        result = cli("ingest", str(repo), str(raws[0]))
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert fragment in output and str(registry) in output, output
    assert "Traceback" not in output
    assert registry.stat().st_size == size  # not "repaired" into an empty registry


PUT_CALEXP = """
import sys
from pipetask import Butler
with Butler(sys.argv[1], output=sys.argv[2]) as butler:
    butler.put(butler.get("raw", visit=1, ccd=0), "calexp", visit=1, ccd=0)
"""


def test_files_written_honour_the_umask(tmp_path):
    raws = makeSynthRepo(tmp_path / "src", visits=1, ccds=1, size=24).parent / "src-raws"
    repo, out = tmp_path / "repo", tmp_path / "out"
    ingest = cli("ingest", str(repo), str(raws), "--camera", "synth", umask=0o002)
    assert ingest.returncode == 0, ingest.stdout + ingest.stderr
    run = cli("run", "statsWriter", str(repo), "--id", "--output", str(out), umask=0o002)
    assert run.returncode == 0, run.stdout + run.stderr
    put = subprocess.run(
        [sys.executable, "-c", PUT_CALEXP, str(repo), str(out)],
        capture_output=True,
        text=True,
        preexec_fn=lambda: os.umask(0o002),
    )
    assert put.returncode == 0, put.stderr
    written = [
        p
        for p in [*repo.rglob("*"), *out.rglob("*")]
        if p.is_file() and not p.name.startswith(".pipetask-run.lock")
    ]
    names = {p.name for p in written}
    assert {"registry.sqlite3", "repo.toml", "calexp_v1_c0.fits", "raw_v1_c0.fits"} <= names
    assert any(p.suffix == ".json" for p in written) and any(p.suffix == ".toml" for p in written)
    for path in written:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == 0o664, f"{path}: {oct(mode)}"


def test_paths_that_are_not_utf8_are_refused_before_anything_is_created(ran, tmp_path):
    repo, _ = ran
    raws = sorted(repo.parent.glob("repo-raws/*.fits"))
    places = tmp_path / "places"
    places.mkdir()
    bad = str(places) + "/r\udcff"  # the byte 0xff, as Python passes it on
    for args in (
        ["ingest", bad, str(raws[0]), "--camera", "synth"],
        ["run", "statsWriter", str(repo), "--id", "--output", bad],
        ["run", "statsWriter", bad, "--id"],
    ):
        result = cli(*args)
        output = result.stdout + result.stderr
        assert result.returncode == 2, output
        assert "is not valid UTF-8" in output and "\\xff" in output, output
        assert list(places.iterdir()) == []
