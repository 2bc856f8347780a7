"""The Dask executor's local cluster, its start and Ctrl-C, and how it sizes its batches.

- The local cluster starts in the background while the command line builds the graph
  and the run writes its configs and opens its record; the run then waits for it:
  Ctrl-C at any moment of that start (while the graph is built, while the run waits for
  the cluster, once it runs) ends the command with status 130, no traceback (Dask's own
  waits once printed ``NameError: cannot access free variable 'future'``), no process
  of the run left, and a run record that, when the run began, is ended and accounts for
  every data ID; ``--skip-existing`` then completes the run.
- Batches follow the items' measured pace (:func:`pipetask_dask.executor.batchSize`).
- Each item's log records come back with its outcome: handed to this process's handlers
  just before it, in the order they were logged, labelled with its data ID.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _probe_plugin import probePluginEnv, sigintDefault
from _shared_data import makeSynthRepo
from test_run_faults import (
    PIPETASK,
    TOTAL,
    assertConsistent,
    markedEnv,
    readRecord,
    recordedOk,
    resume,
    waitUntilGone,
)

pytest.importorskip("distributed", reason="pipetask-dask needs dask[distributed]")

from _log_job import LOGGER, LoggingJob  # noqa: E402
from pipetask_dask.executor import (  # noqa: E402
    BATCH_SECONDS,
    FIRST_BATCH,
    MAX_BATCH,
    DaskExecutor,
    batchSize,
)


@pytest.fixture(scope="module")
def probeEnv(tmp_path_factory) -> dict[str, str]:
    return probePluginEnv(tmp_path_factory.mktemp("probe-plugin"))


@pytest.fixture(scope="module")
def synthRepo(tmp_path_factory) -> Path:
    return makeSynthRepo(tmp_path_factory.mktemp("synth") / "repo", visits=2, ccds=3, size=32)


#: When Ctrl-C comes: the line of the run's log it follows (and a delay after it).
MOMENTS = {
    # The executor exists and its cluster is starting; the graph is being built.
    "graph": (r"executor dask \(--executor\)", 0.0),
    # The run waits for the cluster, or the cluster has just started.
    "start": (r"executor dask \(--executor\)", 0.6),
    # The cluster is up: the run has begun.
    "running": (r"dask: local cluster of 2 worker processes .* started in", 0.0),
}


@pytest.mark.parametrize("moment", list(MOMENTS))
def test_ctrl_c_while_the_local_cluster_starts(synthRepo, probeEnv, tmp_path, moment):
    out = tmp_path / "out"
    env, mark = markedEnv(probeEnv)
    pattern, delay = MOMENTS[moment]
    command = [
        PIPETASK, "run", "slowProbe", str(synthRepo), "--id", "--output", str(out),
        "--executor", "dask", "-j", "2", "-c", "seconds=0.5", "-L", "pipetask=DEBUG",
    ]  # fmt: skip
    process = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=sigintDefault,
    )
    lines = []
    assert process.stderr is not None
    deadline = time.monotonic() + 120
    for line in process.stderr:
        lines.append(line)
        if re.search(pattern, line):
            time.sleep(delay)
            os.killpg(process.pid, signal.SIGINT)  # as a terminal sends it: to every process
            break
        assert time.monotonic() < deadline, "".join(lines)
    _, rest = process.communicate(timeout=60)
    stderr = "".join(lines) + rest
    assert process.returncode == 130, stderr
    assert "Traceback" not in stderr and "Error" not in stderr, stderr
    waitUntilGone(mark)
    if (out / "runs").exists():  # the run began: its record is whole and ended
        summary = re.search(
            rf"(\d+) succeeded, 0 failed, 0 skipped of {TOTAL} data IDs in [\d.]+ s"
            rf"(?:; (\d+) not run \(interrupted\))?",
            stderr,
        )
        assert summary, stderr
        lines = readRecord(out)
        assert lines[-1]["end"]["status"] == 130
        assert len(recordedOk(lines)) == int(summary[1])
        assertConsistent(out)
    else:
        assert "pipetask: interrupted" in stderr, stderr
    resume(synthRepo, out, env, "--executor", "dask", "-j", "2")
    waitUntilGone(mark)


FORK_SERVER_SCRIPT = """
import multiprocessing, os, signal
from multiprocessing import forkserver
from pipetask_dask import executor

real = forkserver.ensure_running

def pressed():  # Ctrl-C just as the fork server is started
    os.kill(os.getpid(), signal.SIGINT)
    real()

forkserver.ensure_running = pressed
try:
    executor.startForkServer()
    print("Ctrl-C lost")
except KeyboardInterrupt:
    print("Ctrl-C stops the run")
forkserver.ensure_running = real
real()
# Ctrl-C reaches the server too (a terminal sends it to the process group): here while
# it is still importing Dask.
server = forkserver._forkserver._forkserver_pid
os.kill(server, signal.SIGINT)
with multiprocessing.get_context("forkserver").Pool(1) as pool:
    print("a worker's Ctrl-C:", pool.apply(signal.getsignal, (signal.SIGINT,)).name)
print("the same server:", forkserver._forkserver._forkserver_pid == server)
"""


def test_ctrl_c_as_the_fork_server_starts_is_not_lost():
    """The fork server of the local workers ignores Ctrl-C from its start (and its
    workers with it), but this process never ignores Ctrl-C to start it: one pressed at
    that moment stops the run (it once went unseen, and the run went on)."""
    done = subprocess.run(
        [sys.executable, "-c", FORK_SERVER_SCRIPT],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=sigintDefault,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "Ctrl-C stops the run",
        "a worker's Ctrl-C: SIG_IGN",
        "the same server: True",
    ]


def test_a_run_leaves_no_process_behind(synthRepo, probeEnv, tmp_path):
    """Workers, their nannies and the process they are forked from are gone within
    seconds of the end of the command (usually at once: a worker the shutdown did not
    stop in time ends with the process it was forked from)."""
    env, mark = markedEnv(probeEnv)
    log = tmp_path / "stderr.txt"
    with open(log, "w") as stderr:
        process = subprocess.Popen(
            [PIPETASK, "run", "slowProbe", str(synthRepo), "--id", "--output",
             str(tmp_path / "out"), "--executor", "dask", "-j", "2", "-c", "seconds=0.01",
             "-L", "pipetask.run=DEBUG"],
            env=env, stdout=subprocess.DEVNULL, stderr=stderr,
        )  # fmt: skip
        assert process.wait(timeout=300) == 0, log.read_text()
    waitUntilGone(mark)
    text = log.read_text()
    assert re.search(
        r"local workers are forked from a process that imported \S*pipetask_dask", text
    )
    assert "(in the background; the run waited" in text
    assert re.search(rf"6 succeeded, 0 failed, 0 skipped of {TOTAL} data IDs", text)


def _files(out: Path, folder: str) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in (out / folder).rglob("*.json")}


def test_the_run_is_prepared_while_the_local_cluster_starts(synthRepo, probeEnv, tmp_path):
    """The local cluster goes on starting while the run writes its config and opens its
    record (the cluster takes most of a second to start, the writes milliseconds); the run
    then waits for it, says how long, and writes byte for byte what a serial run writes,
    leaving no process behind."""
    env, mark = markedEnv(probeEnv)
    outs = {}
    for name, options in (("serial", []), ("dask", ["--executor", "dask", "-j", "2"])):
        outs[name] = tmp_path / name
        done = subprocess.run(
            [PIPETASK, "run", "statsWriter", str(synthRepo), "--id", "--output",
             str(outs[name]), *options, "-L", "pipetask.butler=DEBUG"],
            env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
    waitUntilGone(mark)
    wrote = done.stderr.index("wrote statsWriter_config")
    started = re.search(
        r"dask: local cluster of 2 worker processes .* started in [\d.]+ s \(in the "
        r"background; the run waited [\d.]+ s for it\)",
        done.stderr,
    )
    assert started and wrote < started.start(), done.stderr
    assert re.search(rf"{TOTAL} succeeded, 0 failed, 0 skipped of {TOTAL} data IDs", done.stderr)
    serial = _files(outs["serial"], "imageStats")
    assert len(serial) == TOTAL
    assert _files(outs["dask"], "imageStats") == serial


def test_a_local_cluster_that_cannot_start_stops_the_run_in_one_line(synthRepo, probeEnv, tmp_path):
    """The local cluster fails while the run is already open (its workers cannot make
    their folder: Dask's temporary directory lies under a plain file). The command ends
    with status 2 and one line from Dask's start, the run's record says it stopped with
    every data ID not run, nothing is left running or half written, and the same command
    then completes with --skip-existing."""
    env, mark = markedEnv(probeEnv)
    (tmp_path / "a-file").write_text("")
    out = tmp_path / "out"
    done = subprocess.run(
        [PIPETASK, "run", "slowProbe", str(synthRepo), "--id", "--output", str(out),
         "--executor", "dask", "-j", "2", "-c", "seconds=0.01"],
        env={**env, "DASK_TEMPORARY_DIRECTORY": str(tmp_path / "a-file" / "dask")},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    waitUntilGone(mark)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if "error" in line.lower()]
    assert len(errors) == 1, done.stderr
    assert not [line for line in done.stderr.splitlines() if line.startswith("distributed")]
    assert errors[0].startswith("pipetask: error: the run stopped: cannot start a local Dask")
    assert "Not a directory" in errors[0] and "--skip-existing" in errors[0]
    assert f"0 succeeded, 0 failed, 0 skipped of {TOTAL} data IDs" in done.stderr
    lines = readRecord(out)
    assert recordedOk(lines) == set()
    assert lines[-1]["end"]["status"] == 2
    assert lines[-1]["end"]["stopped"].startswith("stopped: cannot start a local Dask cluster")
    assertConsistent(out)
    resume(synthRepo, out, env, "--executor", "dask", "-j", "2")
    waitUntilGone(mark)


def test_first_batches_are_a_share_of_the_work():
    # 24 items on 2 workers: four batches per worker, 3 items each.
    assert batchSize(24, 2, None) == 3
    assert batchSize(10_000, 2, None) == FIRST_BATCH
    assert batchSize(1, 8, None) == 1
    assert batchSize(10_000, 2, timeout=5.0) == 1  # a timeout applies to each item


def test_batches_follow_the_pace_of_the_items():
    # Items of 1 ms: BATCH_SECONDS of them per batch, while plenty are ready.
    assert batchSize(10_000, 2, None, pace=0.001) == int(BATCH_SECONDS / 0.001)
    # Items of a second: one per batch, so both workers finish together.
    assert batchSize(40, 2, None, pace=1.0) == 1
    # Items of a microsecond: as many as a batch may hold.
    assert batchSize(100_000, 2, None, pace=1e-6) == MAX_BATCH
    # Few items left of 10 ms each: cut small to balance the workers...
    assert batchSize(16, 2, None, pace=0.01) == 5
    # ...but work too short to matter stays in one batch.
    assert batchSize(16, 2, None, pace=0.0001) >= 16


class _Events(logging.Handler):
    """Keeps ``("log", data ID, message)`` for every record it is handed."""

    def __init__(self, events: list) -> None:
        super().__init__()
        self.events = events

    def emit(self, record: logging.LogRecord) -> None:
        dataId = getattr(record, "dataId", None)
        self.events.append(("log", dataId and dataId["i"], record.getMessage()))


def test_log_records_come_with_their_outcome_in_order():
    """60 items on a local cluster of 2 workers, several per Dask task: each item's two
    records reach this process's handlers right before its outcome, in order, labelled
    with its data ID (none early, none late, none lost)."""
    events: list = []
    logger = logging.getLogger(LOGGER)
    handler = _Events(events)
    logger.addHandler(handler)
    previous = logger.level
    logger.setLevel(logging.INFO)  # sent to the workers with the run
    executor = DaskExecutor(processes=2)
    try:
        executor.start()
        items = [{"i": i} for i in range(60)]
        for outcome in executor.run(LoggingJob(), items):
            events.append(("outcome", outcome.dataId["i"], outcome.status))
    finally:
        executor.close()
        logger.removeHandler(handler)
        logger.setLevel(previous)
    assert len(events) == 3 * 60
    done = []
    for first in range(0, len(events), 3):
        i = events[first + 2][1]
        assert events[first : first + 3] == [
            ("log", i, f"first of {i}"),
            ("log", i, f"second of {i}"),
            ("outcome", i, "ok"),
        ], events[first : first + 3]
        done.append(i)
    assert sorted(done) == list(range(60))
