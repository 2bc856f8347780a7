"""The progress bar: drawn on a terminal for runs of more than a few data IDs, never in
pipes, and log lines stay whole around it."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import sys
from pathlib import Path

import pytest
from _shared_data import makeSynthRepo

PIPETASK = str(Path(sys.executable).parent / "pipetask")
BAR_CLEAR = "\r\x1b[K"


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    return makeSynthRepo(tmp_path_factory.mktemp("progress") / "repo", visits=2, ccds=4)


def runOnTerminal(args: list[str]) -> tuple[int, str]:
    """Run pipetask with stderr (and stdout) on a pseudo-terminal; its exit status and text."""
    master, slave = pty.openpty()
    proc = subprocess.Popen([PIPETASK, *args], stdout=slave, stderr=slave, close_fds=True)
    os.close(slave)
    chunks = []
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            proc.kill()
            raise AssertionError("no output for 60 s")
        try:
            data = os.read(master, 65536)
        except OSError:  # the terminal closed: the process ended
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    return proc.wait(timeout=60), b"".join(chunks).decode(errors="replace")


def test_bar_on_a_terminal(repo):
    status, text = runOnTerminal(["run", "exampleTask", str(repo), "--id"])
    assert status == 0, text
    assert "] 8/8" in text
    assert BAR_CLEAR in text
    # Every log line arrives whole, on a line of its own, the bar lifted before it.
    lines = text.replace("\r\n", "\n").split("\n")
    processing = [line for line in lines if "Processing data ID" in line]
    assert len(processing) == 8
    for line in processing:
        # What follows the last clear is what the terminal shows on that line.
        assert line.rsplit(BAR_CLEAR, 1)[-1].startswith("exampleTask: Processing data ID {")
    # The bar is gone from the screen when the run ends: nothing follows the summary.
    tail = text.rsplit(BAR_CLEAR, 1)[-1]
    assert "8 succeeded, 0 failed, 0 skipped of 8 data IDs" in tail
    assert "[" not in tail.split("8 succeeded", 1)[1]


def test_no_bar_in_a_pipe(repo):
    proc = subprocess.run(
        [PIPETASK, "run", "exampleTask", str(repo), "--id"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "\x1b[K" not in proc.stderr and "] 8/8" not in proc.stderr
    assert proc.stderr.count("Processing data ID") == 8


def test_no_bar_for_a_few_data_ids(repo):
    status, text = runOnTerminal(["run", "exampleTask", str(repo), "--id", "visit=1", "ccd=0^1"])
    assert status == 0, text
    assert "\x1b[K" not in text
