"""Faults of a run, provoked for real through the CLI, and the repository checked afterwards.

- kill -9, SIGTERM and Ctrl-C (three times, with a worker slow to stop) of the main
  process of ``-j 2``, of a Dask run and of a serial run: within seconds no process of
  the run is left, the run record accounts for every data ID that finished (and says
  which were not run), ``pipetask report`` shows the run incomplete with a non-zero
  status, and ``--skip-existing`` completes it.
- Two runs started together into one new output.
- The executor options are followed exactly (a task that cannot run in parallel runs in
  one worker process with ``-j 4 --timeout 10``).
- Set-up failures write nothing.

Every process of a run carries ``PIPETASK_TEST_RUN=<mark>`` in its environment (children
inherit it, however they are started), which is how the tests find leftovers.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import pytest
from _probe_plugin import probePluginEnv, sigintDefault
from _shared_data import makeSynthRepo

PIPETASK = str(Path(sys.executable).parent / "pipetask")
TOTAL = 6  # data IDs of the synth repository (2 visits x 3 CCDs)
#: Seconds the processes of a killed run have to disappear.
GONE_SECONDS = 10.0


@pytest.fixture(scope="module")
def probeEnv(tmp_path_factory) -> dict[str, str]:
    return probePluginEnv(tmp_path_factory.mktemp("probe-plugin"))


@pytest.fixture(scope="module")
def synthRepo(tmp_path_factory) -> Path:
    return makeSynthRepo(tmp_path_factory.mktemp("synth") / "repo", visits=2, ccds=3, size=32)


def markedEnv(env: dict[str, str]) -> tuple[dict[str, str], str]:
    mark = uuid.uuid4().hex
    return {**env, "PIPETASK_TEST_RUN": mark}, mark


def processesOf(mark: str) -> list[int]:
    """Pids of live processes whose environment carries ``mark``."""
    needle = f"PIPETASK_TEST_RUN={mark}".encode()
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/environ", "rb") as stream:
                if needle not in stream.read().split(b"\0"):
                    continue
            with open(f"/proc/{entry}/stat", "rb") as stream:
                if stream.read().rsplit(b")", 1)[1].split()[0] == b"Z":
                    continue  # a zombie waiting for its parent (this test) to collect it
        except OSError:
            continue
        found.append(int(entry))
    return found


def waitUntilGone(mark: str) -> None:
    deadline = time.monotonic() + GONE_SECONDS
    while processesOf(mark):
        if time.monotonic() > deadline:
            left = processesOf(mark)
            for pid in left:  # do not leave them behind for the next test
                with __import__("contextlib").suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
            pytest.fail(f"processes of the run still alive after {GONE_SECONDS} s: {left}")
        time.sleep(0.1)


def registryRows(repo: Path, table: str) -> list[tuple]:
    with sqlite3.connect(repo / "registry.sqlite3") as db:
        return db.execute(f"SELECT * FROM {table}").fetchall()


def assertConsistent(out: Path) -> None:
    """Registry rows and files agree; no pending rows, no temporary files, no lock holder."""
    assert registryRows(out, "pending") == []
    registered = {row[-1] for row in registryRows(out, "dataset")}
    for path in registered:
        assert (out / path).is_file(), path
    data = {
        str(p.relative_to(out))
        for p in out.rglob("*")
        if p.is_file()
        and p.relative_to(out).parts[0] not in ("runs", "config")
        and not p.name.startswith(("registry.sqlite3", "repo.toml", ".pipetask-run.lock"))
        and p.name != "quantum_graph.qgraph"  # the run's graph, for report and resume
    }
    assert data <= registered, data - registered
    assert not [p for p in out.rglob(".tmp-*")], list(out.rglob(".tmp-*"))
    lock = out / ".pipetask-run.lock"
    assert not lock.exists() or lock.read_text() == "", "the lock names a holder after the run"


def outputsDone(out: Path) -> set[tuple[int, int]]:
    """(visit, ccd) of the data IDs whose output (the last thing a data ID writes) exists."""
    done = set()
    for path in (out / "slowDone").rglob("*.json"):
        if path.name.startswith(".tmp-"):
            continue  # being written
        keys = dict(part.split("=") for part in path.with_suffix("").parts[-2:])
        done.add((int(keys["visit"]), int(keys["ccd"])))
    return done


def readRecord(out: Path, task: str = "slowProbe") -> list[dict]:
    (path,) = sorted((out / "runs" / task).glob("*.jsonl"))[-1:]
    return [json.loads(line) for line in path.read_text().splitlines()]


def recordedOk(lines: list[dict]) -> set[tuple[int, int]]:
    return {
        (line["dataId"]["visit"], line["dataId"]["ccd"])
        for line in lines
        if line.get("status") == "ok"
    }


def startSlowRun(repo: Path, out: Path, env: dict[str, str], *options: str) -> subprocess.Popen:
    command = [
        PIPETASK, "run", "slowProbe", str(repo), "--id", "--output", str(out), *options,
    ]  # fmt: skip
    return subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=sigintDefault,
    )


def waitForProgress(process: subprocess.Popen, out: Path, count: int) -> None:
    deadline = time.monotonic() + 120
    while len(outputsDone(out)) < count:
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        assert time.monotonic() < deadline, "no progress"
        time.sleep(0.05)


def resume(repo: Path, out: Path, env: dict[str, str], *options: str) -> str:
    """Run the same command with --skip-existing; it must complete the run."""
    done = subprocess.run(
        [PIPETASK, "run", "slowProbe", str(repo), "--id", "--output", str(out), *options,
         "--skip-existing", "-c", "seconds=0.05"],
        env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert re.search(rf"(\d+) succeeded, 0 failed, (\d+) skipped of {TOTAL} data IDs", done.stderr)
    assert len(outputsDone(out)) == TOTAL
    assertConsistent(out)
    return done.stderr


def report(out: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PIPETASK, "report", str(out), *args], capture_output=True, text=True, timeout=60
    )


def notRunLines(text: str) -> list[str]:
    return re.findall(r"^slowProbe \{.*\} not run$", text, re.MULTILINE)


EXECUTORS = {
    "-j 2": ["-j", "2"],
    "dask": ["--executor", "dask", "-j", "2"],
}


def _executor(name: str) -> list[str]:
    if name == "dask":
        pytest.importorskip("distributed", reason="pipetask-dask needs dask[distributed]")
    return EXECUTORS[name]


@pytest.mark.parametrize("name", list(EXECUTORS))
def test_kill_9_of_the_main_process(synthRepo, probeEnv, tmp_path, name):
    """Workers end with their parent; the lock is free; report shows the run incomplete."""
    out = tmp_path / "out"
    env, mark = markedEnv(probeEnv)
    process = startSlowRun(synthRepo, out, env, *_executor(name), "-c", "seconds=1")
    waitForProgress(process, out, 2)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    process.stderr.close()
    waitUntilGone(mark)

    lines = readRecord(out)
    assert lines[0]["run"]["selected"] == TOTAL
    assert "end" not in lines[-1]
    assert len([x for line in lines if "selected" in line for x in line["selected"]]) == TOTAL
    shown = report(out)
    assert shown.returncode == 1, shown.stdout + shown.stderr
    assert "not run" in shown.stdout
    assert re.search(r"incomplete: slowProbe run \S+ did not finish", shown.stdout), shown.stdout
    notRun = len(notRunLines(shown.stdout))
    assert notRun >= 1
    assert len(recordedOk(lines)) + notRun == TOTAL, shown.stdout

    text = resume(synthRepo, out, env, *_executor(name))
    assert "taking over the run lock" in text and f"from run pid {process.pid}" in text
    shown = report(out)
    assert shown.returncode == 0, shown.stdout
    assert "not run" not in shown.stdout and "incomplete" not in shown.stdout
    counts = re.search(r"^total: (\d+) ok, (\d+) skipped$", shown.stdout, re.MULTILINE)
    assert counts and int(counts[1]) + int(counts[2]) == TOTAL, shown.stdout


@pytest.mark.parametrize("name", ["serial", *EXECUTORS])
def test_sigterm_stops_like_ctrl_c(synthRepo, probeEnv, tmp_path, name):
    """SIGTERM: workers stopped, summary printed, record complete and flushed, exit 143."""
    out = tmp_path / "out"
    env, mark = markedEnv(probeEnv)
    options = [] if name == "serial" else _executor(name)
    process = startSlowRun(synthRepo, out, env, *options, "-c", "seconds=1")
    waitForProgress(process, out, 2)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 143, stderr
    waitUntilGone(mark)
    assert "Traceback" not in stderr
    summary = re.search(r"(\d+) succeeded, 0 failed, 0 skipped of 6 data IDs in [\d.]+ s; "
                        r"(\d+) not run \(stopped by SIGTERM\)", stderr)  # fmt: skip
    assert summary, stderr
    lines = readRecord(out)
    assert lines[-1]["end"]["status"] == 143
    assert lines[-1]["end"]["stopped"] == "stopped by SIGTERM"
    # Every data ID that finished (its output is the last thing it writes) is recorded,
    # including those that finished while the run was stopping, and only those.
    assert recordedOk(lines) == outputsDone(out)
    assert int(summary[1]) == len(outputsDone(out))
    assert stderr.count("  not run {") == int(summary[2])
    assertConsistent(out)
    shown = report(out)
    assert shown.returncode == 1 and len(notRunLines(shown.stdout)) == int(summary[2])
    resume(synthRepo, out, env, *options)


@pytest.mark.parametrize("name", list(EXECUTORS))
def test_ctrl_c_three_times_with_a_worker_slow_to_stop(synthRepo, probeEnv, tmp_path, name):
    """Repeated Ctrl-C cannot abandon workers: the shutdown completes and takes seconds."""
    out = tmp_path / "out"
    env, mark = markedEnv(probeEnv)
    process = startSlowRun(
        synthRepo, out, env, *_executor(name), "-c", "seconds=4", "-c", "stubborn=true"
    )
    waitForProgress(process, out, 1)
    time.sleep(0.5)  # the next data IDs have started: their workers ignore SIGTERM now
    first = time.monotonic()
    for _ in range(3):
        os.killpg(process.pid, signal.SIGINT)  # as a terminal sends it: to the whole group
        time.sleep(0.1)
    _, stderr = process.communicate(timeout=60)
    stopping = time.monotonic() - first
    assert process.returncode == 130, stderr
    waitUntilGone(mark)
    assert "Traceback" not in stderr
    assert "not run (interrupted)" in stderr
    if stopping > 1.0:  # the later signals came while the run was stopping
        assert "the run is already stopping" in stderr
    assert recordedOk(readRecord(out)) == outputsDone(out)
    assertConsistent(out)
    resume(synthRepo, out, env, *_executor(name))


def test_two_runs_started_together_into_one_new_output(synthRepo, probeEnv, tmp_path):
    """The lock is taken before the output is opened or created."""
    for attempt in range(2):
        out = tmp_path / f"out{attempt}"
        command = [
            PIPETASK, "run", "slowProbe", str(synthRepo), "--id", "--output", str(out),
            "-c", "seconds=0.01",
        ]  # fmt: skip
        procs = [
            subprocess.Popen(command, env=probeEnv, stderr=subprocess.PIPE, text=True)
            for _ in range(2)
        ]
        results = [(p.wait(timeout=120), p.stderr.read()) for p in procs]
        for p in procs:
            p.stderr.close()
        assert sorted(s for s, _ in results) in ([0, 0], [0, 2]), results
        for status, stderr in results:
            assert "Traceback" not in stderr and "no such table" not in stderr, stderr
            if status == 2:
                assert "another pipetask run (pid " in stderr, stderr
        assert len(outputsDone(out)) == TOTAL
        assertConsistent(out)


def test_a_task_that_cannot_run_in_parallel_runs_in_one_process(synthRepo, probeEnv):
    """-j 4 --timeout 10: one worker process (so the timeout holds), not a pool of four."""
    done = subprocess.run(
        [PIPETASK, "run", "serialProbe", str(synthRepo), "--id", "-j", "4", "--timeout", "10"],
        env=probeEnv, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "This task does not support multiprocessing; using one process" in done.stderr
    pids = set(re.findall(r"Probing data ID .* in process (\d+)", done.stderr))
    assert len(pids) == 1, pids


def test_serial_probe_refuses_a_parallel_executor(synthRepo, probeEnv):
    pytest.importorskip("distributed", reason="pipetask-dask needs dask[distributed]")
    done = subprocess.run(
        [PIPETASK, "run", "serialProbe", str(synthRepo), "--id", "--executor", "dask"],
        env=probeEnv, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "cannot run in parallel" in done.stderr and "Traceback" not in done.stderr


def treeState(root: Path) -> dict[str, tuple[int, int]]:
    return {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*")
    }


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--executor", "nosuch"], "unknown executor 'nosuch'"),
        (["--executor", "serial", "--timeout", "5"], "--executor serial does not support"),
        (["--scheduler", "tcp://127.0.0.1:9"], "a scheduler address is for --executor dask"),
        (["-j", "2", "--id", "visit=abc"], "visit"),
    ],
)
def test_set_up_failures_write_nothing(synthRepo, tmp_path, args, fragment):
    """Neither the input (run record, lock) nor a new --output gets anything."""
    before = treeState(synthRepo)
    for output in ([], ["--output", str(tmp_path / "new")]):
        done = subprocess.run(
            [PIPETASK, "run", "statsWriter", str(synthRepo), "--id", *output, *args],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 2, done.stderr
        assert fragment in done.stderr and "Traceback" not in done.stderr, done.stderr
        assert treeState(synthRepo) == before
        assert not (tmp_path / "new").exists()


def test_output_inside_the_input_is_refused_except_rerun(synthRepo, tmp_path):
    before = treeState(synthRepo)
    for output in (synthRepo, synthRepo / "sub", synthRepo / "rerun"):
        done = subprocess.run(
            [PIPETASK, "run", "statsWriter", str(synthRepo), "--id", "--output", str(output)],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 2, done.stderr
        assert "never modifies" in done.stderr and "Traceback" not in done.stderr
        assert treeState(synthRepo) == before
    rerun = synthRepo / "rerun" / "mine"
    try:
        done = subprocess.run(
            [PIPETASK, "run", "statsWriter", str(synthRepo), "--id", "--output", str(rerun)],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert len(list((rerun / "imageStats").rglob("*.json"))) == TOTAL
        assertConsistent(rerun)
        assert registryRows(synthRepo, "dataset") == registryRows(synthRepo, "dataset")
        assert {k for k in treeState(synthRepo) if not k.startswith("rerun")} == set(before)
    finally:
        import shutil

        shutil.rmtree(synthRepo / "rerun")


def test_report_skips_a_bad_line_with_a_warning(synthRepo, tmp_path):
    out = tmp_path / "out"
    done = subprocess.run(
        [PIPETASK, "run", "statsWriter", str(synthRepo), "--id", "--output", str(out)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    (record,) = (out / "runs" / "statsWriter").glob("*.jsonl")
    lines = record.read_text().splitlines()
    lines.insert(3, '{"dataId": {"visit": 1, "ccd"')  # cut short
    lines.insert(5, "\x00\x00 not json")
    record.write_text("\n".join(lines) + "\n")
    shown = report(out)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert f"skipped 2 unreadable lines of {record}" in shown.stderr
    assert f"total: {TOTAL} ok" in shown.stdout


def test_a_lock_held_by_a_leftover_of_a_dead_run_names_the_holder(synthRepo, tmp_path):
    """An older pipetask's worker that inherited the lock keeps it after its run died:
    the next run is refused with the pid of that leftover, not of the dead run."""
    import socket

    out = tmp_path / "out"
    out.mkdir()
    dead = subprocess.Popen(["true"])
    dead.wait()
    holder = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(f"""
            import fcntl, os, sys, time
            fd = os.open({str(out / ".pipetask-run.lock")!r}, os.O_RDWR | os.O_CREAT)
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.write(fd, b"{dead.pid} {socket.gethostname()}")
            print("locked", flush=True)
            time.sleep(120)
        """)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "locked"
        done = subprocess.run(
            [PIPETASK, "run", "statsWriter", str(synthRepo), "--id", "--output", str(out)],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 2, done.stderr
        assert f"still held by process(es) {holder.pid}" in done.stderr, done.stderr
        assert f"left over from run pid {dead.pid}, which is dead" in done.stderr
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    done = subprocess.run(
        [PIPETASK, "run", "statsWriter", str(synthRepo), "--id", "--output", str(out)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"from run pid {dead.pid}, which ended without releasing it" in done.stderr
    assertConsistent(out)


def test_report_warns_of_a_record_that_is_a_directory(synthRepo, tmp_path):
    out = tmp_path / "out"
    done = subprocess.run(
        [PIPETASK, "run", "statsWriter", str(synthRepo), "--id", "--output", str(out)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    odd = out / "runs" / "statsWriter" / "20000101T000000Z-1.jsonl"
    odd.mkdir()
    shown = report(out)
    assert shown.returncode == 0, shown.stdout + shown.stderr
    assert f"skipped {odd}: not a file" in shown.stderr
    assert f"total: {TOTAL} ok" in shown.stdout
