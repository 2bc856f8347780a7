"""A full or read-only file system under a run, provoked for real.

Each test mounts a small ``tmpfs`` (a full disk) or a read-only bind mount in a private
user and mount namespace (``unshare -Urm``, no privileges needed where user namespaces
are enabled), runs ``pipetask`` there, and copies what the run left out of the namespace
for the checks: registry rows and files agree, no temporary files, no pending rows, and
the next command works.
"""

from __future__ import annotations

import json
import shlex
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from _shared_data import makeSynthRepo

PIPETASK = str(Path(sys.executable).parent / "pipetask")
VISITS, CCDS = 6, 5
TOTAL = VISITS * CCDS


def _namespaces() -> str | None:
    """Why mount namespaces cannot be used here, or None when they can."""
    if shutil.which("unshare") is None:
        return "no unshare command"
    probe = subprocess.run(
        ["unshare", "-Urm", "sh", "-c", "mount -t tmpfs -o size=4k tmpfs /mnt"],
        capture_output=True,
        text=True,
    )
    if probe.returncode != 0:
        return f"unprivileged mount namespaces are not available: {probe.stderr.strip()}"
    return None


pytestmark = pytest.mark.skipif(
    _namespaces() is not None, reason=str(_namespaces()) + " (needed to fill a disk for real)"
)


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    return makeSynthRepo(tmp_path_factory.mktemp("storage") / "repo", VISITS, CCDS, size=16)


def inNamespace(tmp: Path, script: str) -> None:
    """Run ``script`` (bash) in a private user and mount namespace; ``$MNT`` is a mount
    point, ``$T`` the test's directory, ``$P`` the pipetask command. Each step writes its
    output to files under ``$T``."""
    mnt = tmp / "mnt"
    mnt.mkdir()
    env = f"MNT={shlex.quote(str(mnt))}; T={shlex.quote(str(tmp))}; P={shlex.quote(PIPETASK)}"
    done = subprocess.run(
        ["unshare", "-Urm", "bash", "-c", f"{env}\n{script}"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def step(tmp: Path, name: str) -> tuple[int, str]:
    """Exit status and stderr of a step run by :func:`inNamespace`."""
    return int((tmp / f"{name}.rc").read_text()), (tmp / f"{name}.err").read_text()


def run(name: str, *args: str) -> str:
    """The bash line that runs ``pipetask ARGS`` as step ``name``."""
    words = " ".join(shlex.quote(a) if not a.startswith("$") else a for a in args)
    return f'"$P" {words} >"$T/{name}.out" 2>"$T/{name}.err"; echo $? >"$T/{name}.rc"'


def assertConsistent(out: Path) -> None:
    with sqlite3.connect(out / "registry.sqlite3") as db:
        assert db.execute("SELECT * FROM pending").fetchall() == []
        registered = {row[0] for row in db.execute("SELECT path FROM dataset")}
    for path in registered:
        assert (out / path).is_file(), path
    for folder in ("imageStats", "metadata"):
        for path in (out / folder).rglob("*"):
            if path.is_file():
                assert str(path.relative_to(out)) in registered, path
    assert not list(out.rglob(".tmp-*")), list(out.rglob(".tmp-*"))
    assert not (out / ".pipetask-run.lock").exists()


def recordLines(out: Path) -> list[dict]:
    (path,) = (out / "runs" / "statsWriter").glob("*.jsonl")
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.mark.parametrize("jobs", [[], ["-j", "2"]], ids=["serial", "-j 2"])
def test_disk_filling_mid_run_stops_at_the_first_error(repo, tmp_path, jobs):
    """The run stops at the first ENOSPC with a summary and what was not run; exit 2;
    nothing half-written; with space again, --skip-existing completes it."""
    args = ["run", "statsWriter", str(repo), "--id", "--output", "$MNT/out", *jobs]
    inNamespace(
        tmp_path,
        f"""
        mount -t tmpfs -o size=160k tmpfs "$MNT"
        {run("full", *args)}
        cp -a "$MNT/out" "$T/after-full"
        mount -o remount,size=20m "$MNT"
        {run("resume", *args, "--skip-existing")}
        cp -a "$MNT/out" "$T/after-resume"
        """,
    )
    status, err = step(tmp_path, "full")
    assert status == 2, err
    assert "Traceback" not in err
    assert err.count("No space left on device") >= 2, err
    failures = [line for line in err.splitlines() if "Failed on dataId=" in line]
    assert 1 <= len(failures) <= max(1, len(jobs) and 2), err  # at most one per worker
    assert "pipetask: error: the run stopped: No space left on device" in err
    summary = [line for line in err.splitlines() if " data IDs in " in line]
    assert summary and "not run (stopped: No space left on device" in summary[0], err
    after = tmp_path / "after-full"
    assertConsistent(after)
    lines = recordLines(after)
    assert lines[0]["run"]["selected"] == TOTAL
    ok = [x for x in lines if x.get("status") == "ok"]
    assert len(ok) == len(list((after / "imageStats").rglob("*.json")))
    assert all(x["maxRss"] > 0 for x in ok)
    assert 0 < len(ok) < TOTAL

    status, err = step(tmp_path, "resume")
    assert status == 0, err
    assert f"succeeded, 0 failed, {len(ok)} skipped of {TOTAL} data IDs" in err
    resumed = tmp_path / "after-resume"
    assertConsistent(resumed)
    assert len(list((resumed / "imageStats").rglob("*.json"))) == TOTAL


@pytest.mark.parametrize("free", ["0", "8k", "24k"])
def test_disk_full_when_the_run_starts(repo, tmp_path, free):
    """No room for the lock, repo.toml, the registry or the stored config: one line,
    exit 2, and nothing half-made is left (the next run with space works)."""
    args = ["run", "statsWriter", str(repo), "--id", "--output", "$MNT/out"]
    inNamespace(
        tmp_path,
        f"""
        mount -t tmpfs -o size=64k tmpfs "$MNT"
        fill=$((64 - ${{free%k}}))
        dd if=/dev/zero of="$MNT/fill" bs=1k count=$fill 2>/dev/null || true
        {run("full", *args)}
        ls -A "$MNT" > "$T/left.txt"
        cp -a "$MNT/." "$T/after-full"
        rm "$MNT/fill"
        mount -o remount,size=20m "$MNT"
        {run("again", *args)}
        cp -a "$MNT/out" "$T/after-again"
        """,
    )
    status, err = step(tmp_path, "full")
    assert status == 2, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("pipetask: error:")]
    assert len(lines) == 1, err
    assert "No space left on device" in lines[0] or "database or disk is full" in lines[0], err
    left = tmp_path / "after-full" / "out"
    if left.exists():  # a repository made before the disk filled must be whole
        assert not list(left.rglob(".tmp-*")), list(left.rglob("*"))
        if (left / "registry.sqlite3").exists():
            assertConsistent(left)
    status, err = step(tmp_path, "again")
    assert status == 0, err
    assertConsistent(tmp_path / "after-again")


def test_read_only_file_system(repo, tmp_path):
    """A task that writes nothing runs on a read-only repository (without a run record);
    writing into it or under it is one line, exit 2."""
    copy = tmp_path / "repo"
    shutil.copytree(repo, copy, ignore=shutil.ignore_patterns("runs"))
    quoted = shlex.quote(str(copy))
    inNamespace(
        tmp_path,
        f"""
        mount --bind {quoted} {quoted}
        mount -o remount,bind,ro {quoted}
        {run("example", "run", "exampleTask", str(copy), "--id", "visit=1")}
        {run("writer", "run", "statsWriter", str(copy), "--id", "visit=1")}
        {
            run(
                "rerun",
                "run",
                "statsWriter",
                str(copy),
                "--id",
                "--output",
                str(copy / "rerun" / "x"),
            )
        }
        {run("report", "report", str(copy))}
        """,
    )
    status, err = step(tmp_path, "example")
    assert status == 0, err
    assert f"{CCDS} succeeded, 0 failed, 0 skipped of {CCDS} data IDs" in err
    assert "keeping no run record: Read-only file system" in err
    for name in ("writer", "rerun"):
        status, err = step(tmp_path, name)
        assert status == 2, err
        assert "Traceback" not in err
        assert err.strip().splitlines()[-1].startswith("pipetask: error: "), err
        assert "Read-only file system" in err, err
    assert not (copy / "runs").exists() and not (copy / "rerun").exists()
    status, out = step(tmp_path, "report")
    assert status == 0 and "no runs recorded" in (tmp_path / "report.out").read_text()
