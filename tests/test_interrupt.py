"""Ctrl-C (SIGINT) mid-run stops cleanly; --skip-existing then completes the rest."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _probe_plugin import sigintDefault
from _shared_data import makeSynthRepo

PIPETASK = str(Path(sys.executable).parent / "pipetask")
VISITS, CCDS = 8, 4


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    return makeSynthRepo(tmp_path_factory.mktemp("interrupt") / "repo", VISITS, CCDS, size=512)


def interruptAfter(args: list[str], processed: int) -> tuple[int, str]:
    """Start a run, send SIGINT once ``processed`` data IDs have started; status, stderr."""
    proc = subprocess.Popen(
        [PIPETASK, *args], stderr=subprocess.PIPE, text=True, preexec_fn=sigintDefault
    )
    lines = []
    deadline = time.monotonic() + 60
    assert proc.stderr is not None
    for line in proc.stderr:
        lines.append(line)
        if sum("Processing data ID" in x for x in lines) >= processed:
            proc.send_signal(signal.SIGINT)
            break
        assert time.monotonic() < deadline, "".join(lines)
    _, rest = proc.communicate(timeout=60)
    return proc.returncode, "".join(lines) + rest


def outputsIn(out: Path) -> list[Path]:
    return sorted(p for p in out.rglob("*") if p.is_file() and "imageStats" in p.parts)


@pytest.mark.parametrize("jobs", [[], ["-j", "2"]], ids=["serial", "-j 2"])
def test_interrupt_then_skip_existing(repo, tmp_path, jobs):
    out = tmp_path / "out"
    total = VISITS * CCDS
    args = ["run", "statsWriter", str(repo), "--id", "--output", str(out), *jobs]
    status, text = interruptAfter(args, processed=5)
    assert status == 130, text
    assert "Traceback" not in text
    summary = re.search(r"(\d+) succeeded, (\d+) failed, 0 skipped of (\d+) data IDs", text)
    assert summary, text
    done = int(summary.group(1))
    assert int(summary.group(3)) == total
    assert 0 < done < total, text
    assert f"{total - done - int(summary.group(2))} not run (interrupted)" in text
    # Nothing half-written: no temporary files, and every output on disk is a whole JSON.
    assert not [p for p in out.rglob(".tmp-*")], list(out.rglob(".tmp-*"))
    written = outputsIn(out)
    for path in written:
        assert set(json.loads(path.read_text())) == {"mean", "meanErr", "stdDev", "stdDevErr"}
    assert len(written) >= done

    # Resume: only the data IDs without outputs run.
    proc = subprocess.run(
        [*[PIPETASK], *args, "--skip-existing"], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    resumed = re.search(r"(\d+) succeeded, 0 failed, (\d+) skipped of (\d+)", proc.stderr)
    assert resumed, proc.stderr
    assert int(resumed.group(2)) >= done
    assert int(resumed.group(1)) + int(resumed.group(2)) == total
    assert proc.stderr.count("Processing data ID") == int(resumed.group(1))
    assert len(outputsIn(out)) == total


def test_every_test_sending_sigint_gives_its_child_the_default_disposition():
    """A child started from a non-interactive shell's background job inherits SIGINT
    ignored and would never stop: each test that sends SIGINT restores it in the child."""
    sends = re.compile(r"(send_signal|killpg|os\.kill)\([^)]*SIGINT")
    senders = []
    for path in sorted(Path(__file__).parent.glob("test_*.py")):
        text = path.read_text(encoding="utf-8")
        if sends.search(text):
            senders.append(path.name)
            assert "preexec_fn=sigintDefault" in text, f"{path.name} sends SIGINT"
    assert "test_pipeline_run.py" in senders and "test_interrupt.py" in senders, senders
