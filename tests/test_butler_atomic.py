"""Atomic writes: a writer killed at any moment leaves no partial dataset and no orphan row."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _shared_data import makeEmptyRepo
from pipetask import Butler
from pipetask.butler import atomic

SLOW_WRITER = r"""
import sys, time
from pipetask import Butler
from pipetask.butler.formats import StorageFormat

class SlowFormat(StorageFormat):
    extension = ".bin"
    def read(self, path):
        with open(path, "rb") as f:
            return f.read()
    def write(self, obj, path):
        with open(path, "wb") as f:
            for i in range(0, len(obj), 1 << 16):
                f.write(obj[i:i + (1 << 16)])
                f.flush()
                if i == 0:
                    print("started", flush=True)
                time.sleep(0.01)

butler = Butler(sys.argv[1])
butler._formats["slow"] = SlowFormat()
butler.registerDatasetType("big", format="slow")
butler.put(bytes([int(sys.argv[2])]) * (64 << 20), "big", visit=1, ccd=1)
print("finished", flush=True)
"""


def _runAndKill(root: Path, fill: int) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", SLOW_WRITER, str(root), str(fill)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "started"
    time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def _tmpFiles(root: Path) -> list[Path]:
    return [p for p in root.rglob(".tmp-*")]


def test_killed_write_leaves_no_dataset_and_no_row(tmp_path):
    root = makeEmptyRepo(tmp_path / "r")
    _runAndKill(root, 1)
    final = root / "big" / "visit=1" / "ccd=1.bin"
    assert not final.exists()
    # the debris of the dead writer is visible until the repository is opened again...
    assert _tmpFiles(root), "expected the killed writer's temporary file"
    butler = Butler(root)  # ...which recovers: temporary file and pending row removed
    assert _tmpFiles(root) == []
    assert butler.output.registry.pendingRows() == []
    assert butler.output.registry.count() == 0
    assert not butler.datasetExists("big", visit=1, ccd=1)


def test_killed_overwrite_keeps_the_old_dataset(tmp_path):
    root = makeEmptyRepo(tmp_path / "r")
    butler = Butler(root)
    butler.registerDatasetType("big", format="json", template="big/v{visit}_c{ccd}.json")
    butler.put({"old": True}, "big", visit=1, ccd=1)
    butler.close()
    # the killed writer uses its own format for the same path
    script = SLOW_WRITER.replace(
        'butler.registerDatasetType("big", format="slow")',
        "from pipetask.butler.camera import DatasetType\n"
        'butler._runtimeTypes["big"] = DatasetType("big", "big/v{visit}_c{ccd}.json", "", "slow")',
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(root), "65"], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "started"
    time.sleep(0.2)
    proc.kill()
    proc.wait(timeout=30)
    butler = Butler(root)
    assert butler.get("big", visit=1, ccd=1) == {"old": True}
    assert _tmpFiles(root) == []
    assert butler.output.registry.count("big") == 1


def _deadOwner() -> str:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return f"{atomic.owner().rpartition('.')[0]}.{proc.pid}"


def test_recovery_registers_a_file_renamed_before_the_commit(tmp_path):
    """The process died between the rename and the commit: the file is complete."""
    root = makeEmptyRepo(tmp_path / "r")
    butler = Butler(root)
    registry = butler.output.registry
    relative = "done/v1_c2.json"
    (root / "done").mkdir()
    (root / relative).write_text(json.dumps({"ok": 1}))
    butler.registerDatasetType("done", template="done/v{visit}_c{ccd}.json")
    registry.addPending("done", {"visit": 1, "ccd": 2}, relative, str(root / "gone"), _deadOwner())
    butler.close()
    butler = Butler(root)
    assert butler.output.registry.pendingRows() == []
    assert butler.get("done", visit=1, ccd=2) == {"ok": 1}


def test_recovery_drops_a_write_that_never_started(tmp_path):
    root = makeEmptyRepo(tmp_path / "r")
    butler = Butler(root)
    butler.output.registry.addPending("x", {"visit": 1}, "x/1.json", str(root / "t"), _deadOwner())
    butler.close()
    butler = Butler(root)
    assert butler.output.registry.pendingRows() == []
    assert butler.output.registry.count() == 0


def test_recovery_of_a_killed_run_removes_its_dead_workers_temporaries(tmp_path):
    """A run's main process records its workers' writes as pending without temporary
    names; killed mid-write, the workers leave ``.tmp-`` files that the next open, which
    resolves those rows, removes (those of live processes stay)."""
    root = makeEmptyRepo(tmp_path / "r")
    butler = Butler(root)
    butler.registerDatasetType("done", template="done/v{visit}_c{ccd}.json")
    rows = [("done", {"visit": v, "ccd": 0}, f"done/v{v}_c0.json") for v in (1, 2)]
    butler.output.registry.addPendingMany(rows, _deadOwner())
    butler.close()
    (root / "done").mkdir()
    (root / "done/v1_c0.json").write_text("{}")  # renamed before the kill: complete
    dead = [root / f"done/.tmp-{_deadOwner()}-00ff00ff-v{v}_c0.json" for v in (1, 2)]
    live = root / f"done/.tmp-{atomic.owner()}-00ff00ff-v2_c0.json"
    for tmp in [*dead, live]:
        tmp.write_text('{"half')
    butler = Butler(root)
    assert butler.output.registry.pendingRows() == []
    assert [p for p in dead if p.exists()] == []
    assert live.exists()
    assert butler.datasetExists("done", visit=1, ccd=0)
    assert not butler.datasetExists("done", visit=2, ccd=0)
    butler.close()


def test_pending_writes_of_live_processes_are_left_alone(tmp_path):
    root = makeEmptyRepo(tmp_path / "r")
    butler = Butler(root)
    tmp = root / ".tmp-live-x.json"
    tmp.write_text("{}")
    butler.output.registry.addPending("x", {"visit": 1}, "x.json", str(tmp), atomic.owner())
    butler.close()
    butler = Butler(root)  # this process is alive: its pending write must survive
    assert len(butler.output.registry.pendingRows()) == 1
    assert tmp.exists()


def test_temporary_names_keep_the_extension_and_directory(tmp_path):
    path = tmp_path / "sub" / "raw_v1_fg.fits.gz"
    tmp = Path(atomic.tempPath(path))
    assert tmp.parent == path.parent
    assert tmp.name.startswith(".tmp-") and tmp.name.endswith("-raw_v1_fg.fits.gz")
    assert str(os.getpid()) in tmp.name


def test_a_failing_writer_leaves_nothing(tmp_path):
    root = makeEmptyRepo(tmp_path / "r")
    butler = Butler(root)

    class Unwritable:
        def getDict(self):
            raise RuntimeError("cannot serialise")

    with pytest.raises(RuntimeError, match="cannot serialise"):
        butler.put(Unwritable(), "thing", visit=1, ccd=1)
    assert _tmpFiles(root) == []
    assert butler.output.registry.count() == 0
    assert butler.output.registry.pendingRows() == []
