"""Executors end to end, through the real CLI: serial, ``-j 2`` and ``--executor dask``.

- The three executors (and Dask against a real ``dask scheduler`` with ``dask worker``
  processes on 127.0.0.1) write identical ``imageStats`` for the obs_test raws.
- A data ID whose task kills its own worker process fails alone; the run finishes.
- A data ID that hangs past ``--timeout`` fails alone with a TimeoutError.
- Ctrl-C (SIGINT to the process group, as a terminal sends it) stops a Dask run with
  exit status 130; ``--skip-existing`` then runs only what is left.

The crash and hang cases use ``probeTask``, a task of a test-only plugin written into a
temporary folder as a module with its ``.dist-info`` (entry point in the ``pipetask``
group) and put on ``PYTHONPATH``: the CLI and every worker, local or external, discover it
like any installed plugin, and nothing is installed into the environment.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _probe_plugin import probePluginEnv, sigintDefault
from _shared_data import makeSynthRepo, obsTestRaws

pytest.importorskip("distributed", reason="pipetask-dask needs dask[distributed]")

BIN = Path(sys.executable).parent
PIPETASK = str(BIN / "pipetask")
DASK = str(BIN / "dask")
RUN_TIMEOUT = 180  # seconds any one pipetask command may take before the test fails


@pytest.fixture(scope="module")
def probeEnv(tmp_path_factory) -> dict[str, str]:
    """The environment of a command that sees the ``probeTask`` plugin."""
    return probePluginEnv(tmp_path_factory.mktemp("probe-plugin"))


def pipetask(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None):
    """Run the ``pipetask`` command; the completed process (bounded in time)."""
    return subprocess.run(
        [PIPETASK, *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=RUN_TIMEOUT,
    )


@pytest.fixture(scope="module")
def obsRepo(tmp_path_factory) -> Path:
    """A repository of the three obs_test raws, ingested with ``pipetask ingest``."""
    raws = obsTestRaws()
    repo = tmp_path_factory.mktemp("obs-test") / "repo"
    done = pipetask("ingest", repo, *raws, "--camera", "test")
    assert done.returncode == 0, done.stderr
    return repo


@pytest.fixture(scope="module")
def synthRepo(tmp_path_factory) -> Path:
    """A synthetic repository of 2 visits x 3 CCDs (six data IDs)."""
    return makeSynthRepo(tmp_path_factory.mktemp("synth") / "repo", visits=2, ccds=3, size=32)


def _freePort() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stop(process: subprocess.Popen) -> None:
    """Stop a process started by a test, and its children, within bounded waits."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=15)


@pytest.fixture(scope="module")
def scheduler(probeEnv, tmp_path_factory) -> str:
    """A real ``dask scheduler`` and ``dask worker`` (2 processes, 1 thread each).

    Both listen on 127.0.0.1 only, on random free ports; they run in their own process
    groups and are stopped when the module's tests are done.
    """
    from distributed import Client

    logs = tmp_path_factory.mktemp("dask-cluster")
    address = f"tcp://127.0.0.1:{_freePort()}"
    processes: list[subprocess.Popen] = []

    def start(name: str, *args: str) -> subprocess.Popen:
        log = open(logs / f"{name}.log", "w")  # noqa: SIM115 (closed with the process)
        process = subprocess.Popen(
            [DASK, *args],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=probeEnv,
            cwd=logs,
            start_new_session=True,
        )
        log.close()
        processes.append(process)
        return process

    try:
        start(
            "scheduler",
            "scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            address.rsplit(":", 1)[1],
            "--no-dashboard",
        )
        start(
            "worker",
            "worker",
            address,
            "--nworkers",
            "2",
            "--nthreads",
            "1",
            "--host",
            "127.0.0.1",
            "--no-dashboard",
            "--death-timeout",
            "60",
        )
        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=90)
        yield address
    finally:
        for process in reversed(processes):
            _stop(process)


def _summary(stderr: str) -> tuple[int, int]:
    """(succeeded, failed) from the summary line of a run."""
    match = re.search(r"(\d+) succeeded, (\d+) failed", stderr)
    assert match, stderr
    return int(match.group(1)), int(match.group(2))


def _imageStats(repo: Path) -> dict[tuple, dict]:
    from pipetask import Butler

    butler = Butler(str(repo))
    return {
        (visit, band): butler.get("imageStats", visit=visit, filter=band)
        for visit, band in [(1, "g"), (2, "g"), (3, "r")]
    }


EXECUTORS = {
    "serial": [],
    "process": ["-j", "2"],
    "dask": ["--executor", "dask", "-j", "2"],
}


def test_executors_give_identical_results(obsRepo, tmp_path):
    """serial, -j 2 and a local Dask cluster write the same imageStats."""
    results = {}
    for name, options in EXECUTORS.items():
        out = tmp_path / name
        done = pipetask("run", "statsWriter", obsRepo, "--id", "--output", out, *options)
        assert done.returncode == 0, done.stderr
        assert _summary(done.stderr) == (3, 0)
        # Log lines of the workers come back to the parent, one per data ID.
        assert len(re.findall(r"statsWriter(?: \([^)]*\))?: Processing data ID", done.stderr)) == 3
        results[name] = _imageStats(out)
    assert results["serial"] == results["process"] == results["dask"]
    assert all(stats["mean"] > 0 for stats in results["serial"].values())


def test_dask_log_lines_carry_the_data_id(obsRepo, tmp_path):
    """With --longlog, a task's line from a Dask worker shows the data ID it belongs to."""
    out = tmp_path / "out"
    done = pipetask(
        "run", "statsWriter", obsRepo, "--id", "visit=3", "--output", out,
        "--executor", "dask", "--longlog",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stderr.splitlines() if "clipped mean=" in line]
    assert len(lines) == 1
    assert "statsWriter.stats" in lines[0] and "visit" in lines[0] and "'r'" in lines[0]


def test_external_dask_scheduler(obsRepo, scheduler, tmp_path):
    """--scheduler ADDRESS runs on real dask scheduler/worker processes, same results."""
    serial = tmp_path / "serial"
    assert pipetask("run", "statsWriter", obsRepo, "--id", "--output", serial).returncode == 0
    out = tmp_path / "dask"
    done = pipetask(
        "run", "statsWriter", obsRepo, "--id", "--output", out,
        "--executor", "dask", "--scheduler", scheduler,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert _summary(done.stderr) == (3, 0)
    assert len(re.findall(r"statsWriter(?: \([^)]*\))?: Processing data ID", done.stderr)) == 3
    assert _imageStats(out) == _imageStats(serial)
    # The connection is made while the graph is built, and reported with the run.
    assert re.search(r"dask: scheduler \S+ with 2 workers, connected in [\d.]+ s", done.stderr)


@pytest.mark.parametrize("address", ["tcp://127.0.0.1:{port}", "nowhere://127.0.0.1:{port}"])
def test_unreachable_scheduler_is_one_clear_line(obsRepo, tmp_path, address):
    """A refused connection or an unknown scheme: one line, status 2 (a client built on
    an unknown scheme once held the command for a minute at exit, then printed a
    traceback)."""
    done = pipetask(
        "run", "statsWriter", obsRepo, "--id", "--output", tmp_path / "out",
        "--executor", "dask", "--scheduler", address.format(port=_freePort()),
    )  # fmt: skip
    assert done.returncode == 2
    assert "cannot connect to the Dask scheduler" in done.stderr
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr
    assert not (tmp_path / "out").exists()  # nothing written


def _options(kind: str, scheduler: str | None) -> list[str]:
    if kind == "process":
        return ["-j", "2"]
    if kind == "dask":
        return ["--executor", "dask", "-j", "2"]
    return ["--executor", "dask", "--scheduler", scheduler]


@pytest.fixture(params=["process", "dask", "dask-scheduler"])
def executorOptions(request) -> list[str]:
    address = request.getfixturevalue("scheduler") if request.param == "dask-scheduler" else None
    return _options(request.param, address)


def test_worker_killed_mid_run_fails_only_its_data_id(synthRepo, probeEnv, executorOptions):
    """A data ID that kills its worker process fails; the five others succeed; no hang."""
    done = pipetask(
        "run", "probeTask", synthRepo, "--id", *executorOptions,
        "-c", "killWhen=visit=1 ccd=1", env=probeEnv,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert _summary(done.stderr) == (5, 1)
    failed = re.findall(r"failed (\{.*?\}): (\w+)", done.stderr)
    assert failed == [("{visit: 1, ccd: 1}", "WorkerDied")], done.stderr


def test_data_id_past_timeout_fails_alone(synthRepo, probeEnv, executorOptions):
    """A data ID that hangs fails with a TimeoutError after --timeout; the others succeed."""
    start = time.monotonic()
    done = pipetask(
        "run", "probeTask", synthRepo, "--id", *executorOptions, "--timeout", "3",
        "-c", "hangWhen=visit=2 ccd=0", env=probeEnv,
    )  # fmt: skip
    elapsed = time.monotonic() - start
    assert done.returncode == 1, done.stderr
    assert _summary(done.stderr) == (5, 1)
    failed = re.findall(r"failed (\{.*?\}): (\w+)", done.stderr)
    assert failed == [("{visit: 2, ccd: 0}", "TimeoutError")], done.stderr
    assert elapsed < 60, f"the run took {elapsed:.0f} s"


def test_ctrl_c_stops_a_dask_run_and_skip_existing_finishes_it(synthRepo, probeEnv, tmp_path):
    out = tmp_path / "out"
    command = [
        PIPETASK, "run", "slowProbe", str(synthRepo), "--id", "--output", str(out),
        "--executor", "dask", "-j", "2", "-c", "seconds=1",
    ]  # fmt: skip
    process = subprocess.Popen(
        command,
        env=probeEnv,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=sigintDefault,
    )
    try:
        done = out / "slowDone"
        deadline = time.monotonic() + 90
        while len(list(done.rglob("*.json"))) < 2:
            assert process.poll() is None and time.monotonic() < deadline, "no progress"
            time.sleep(0.05)
        os.killpg(process.pid, signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            _stop(process)
    assert process.returncode == 130, stderr
    assert "not run (interrupted)" in stderr
    assert "Traceback" not in stderr
    finished = len(list(done.rglob("*.json")))
    assert 2 <= finished < 6

    again = pipetask(*command[1:], "--skip-existing", env=probeEnv)
    assert again.returncode == 0, again.stderr
    assert re.search(rf"(\d+) succeeded, 0 failed, {finished} skipped of 6", again.stderr), (
        again.stderr
    )
    assert len(list(done.rglob("*.json"))) == 6


def test_dask_batches_data_ids_and_a_killer_still_fails_alone(tmp_path, probeEnv):
    """24 data IDs on 2 workers travel 3 to a Dask task; the batch whose data ID kills its
    worker is sent again one data ID per task: that one fails, the 23 others succeed, and
    each success's log line arrives once, with the data ID's outcome."""
    repo = makeSynthRepo(tmp_path / "repo", visits=6, ccds=4, size=16)
    done = pipetask(
        "run", "probeTask", repo, "--id", "--executor", "dask", "-j", "2",
        "-L", "pipetask.run=DEBUG", "-c", "killWhen=visit=3 ccd=2", env=probeEnv,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "dask: 24 items, up to 3 per task" in done.stderr
    assert re.search(r"dask: local cluster of 2 worker processes at \S+, started in [\d.]+ s",
                     done.stderr)  # fmt: skip
    assert re.search(r"dask: local cluster shut down in [\d.]+ s", done.stderr)
    assert _summary(done.stderr) == (23, 1)
    failed = re.findall(r"failed (\{.*?\}): (\w+)", done.stderr)
    assert failed == [("{visit: 3, ccd: 2}", "WorkerDied")], done.stderr
    probed = re.findall(r"Probing data ID (\{.*?\})", done.stderr)
    assert len(probed) == len(set(probed)) == 23
