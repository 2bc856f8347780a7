"""``pipetask run TASK --file PATH``: a plan run by the runner's loop on every executor.

The figures are checked against the independent NumPy reference of ``test_run_cli``; the
executors are provoked for real (a worker killed, a quantum past its timeout, a task that
cannot run in parallel) to show that a file run gets what every run gets.
"""

from __future__ import annotations

import importlib.util
import json
import re

import numpy as np
import pytest
from _probe_plugin import probePluginEnv
from test_run_cli import (
    DEFAULT,
    clippedReference,
    loggedStats,
    output,
    pipetask,
    rawFile,
    shown,
    statsLines,
)

VISITS = (1, 2, 3)


@pytest.fixture(scope="module")
def probeEnv(tmp_path_factory) -> dict[str, str]:
    return probePluginEnv(tmp_path_factory.mktemp("probe-plugin"))


def files(*visits: int) -> list[str]:
    return [arg for v in visits for arg in ("--file", str(rawFile(v)))]


LABELLED = re.compile(r"^(\w+\.stats) \(visit=(\d+) filter=\w+ file=\S+\): (.*)$")


def statsByVisit(text: str) -> dict[int, tuple[str, ...]]:
    """Each file's logged statistics, by the visit of the data ID that labels its line."""
    found = {}
    for line in text.splitlines():
        labelled = LABELLED.match(line)
        if labelled:
            (match,) = statsLines(f"{labelled[1]}: {labelled[3]}")
            found[int(labelled[2])] = loggedStats(match)
    return found


def writtenStats(out, visit: int) -> list[float]:
    values = json.loads((out / rawFile(visit).name[:-8] / "imageStats.json").read_text())
    return [values[k] for k in ("mean", "meanErr", "stdDev", "stdDevErr")]


def test_file_run_with_two_processes_gives_the_serial_figures(tmp_path):
    serial = pipetask("run", "statsWriter", *files(*VISITS), "--output", tmp_path / "serial")
    assert serial.returncode == 0, output(serial)
    pool = pipetask("run", "statsWriter", *files(*VISITS), "--output", tmp_path / "pool", "-j", "2")
    assert pool.returncode == 0, output(pool)
    for visit in VISITS:
        reference = clippedReference(visit, *DEFAULT)
        np.testing.assert_allclose(writtenStats(tmp_path / "serial", visit), reference, rtol=1e-9)
        assert writtenStats(tmp_path / "pool", visit) == writtenStats(tmp_path / "serial", visit)
    # With -j the console lines carry the file's data ID, as any run's do.
    assert statsByVisit(pool.stderr) == {v: shown(clippedReference(v, *DEFAULT)) for v in VISITS}
    assert "statsWriter: 3 of 3 files succeeded" in pool.stderr
    assert "Traceback" not in pool.stderr


def test_a_killed_worker_fails_only_its_file(tmp_path, probeEnv):
    proc = pipetask(
        "run", "probeTask", *files(*VISITS), "-j", "2", "-c", "killWhen=visit=2",
        cwd=tmp_path, env=probeEnv,
    )  # fmt: skip
    assert proc.returncode == 1, output(proc)
    assert "WorkerDied: the worker process was killed by SIGKILL" in proc.stderr
    assert "probeTask: 2 of 3 files succeeded" in proc.stderr
    for visit in (1, 3):
        assert f"probeTask: processed {rawFile(visit)} in" in proc.stderr
    assert f"processed {rawFile(2)}" not in proc.stderr
    assert "Traceback" not in proc.stderr


def test_timeout_stops_a_hanging_file(tmp_path, probeEnv):
    proc = pipetask(
        "run", "probeTask", *files(1, 2), "--timeout", "3", "-c", "hangWhen=visit=1",
        cwd=tmp_path, env=probeEnv, timeout=60,
    )  # fmt: skip
    assert proc.returncode == 1, output(proc)
    assert "TimeoutError: no result after 3 s (--timeout); worker stopped" in proc.stderr
    assert "probeTask: 1 of 2 files succeeded" in proc.stderr


def test_a_task_that_cannot_run_in_parallel_runs_its_files_serially(tmp_path, probeEnv):
    proc = pipetask("run", "serialProbe", *files(1, 2), "-j", "2", cwd=tmp_path, env=probeEnv)
    assert proc.returncode == 0, output(proc)
    assert "This task does not support multiprocessing; using one process" in proc.stderr
    pids = {line.rsplit(" ", 1)[1] for line in proc.stderr.splitlines() if "in process" in line}
    assert len(pids) == 1, output(proc)


def test_executor_options_are_checked_as_for_any_run(tmp_path):
    proc = pipetask("run", "exampleTask", *files(1), "--executor", "serial", "-j", "2")
    assert proc.returncode == 2, output(proc)
    assert (
        proc.stderr.splitlines()[-1] == "pipetask: error: --executor serial does not support -j 2"
    )
    unknown = pipetask("run", "exampleTask", *files(1), "--executor", "nosuch")
    assert unknown.returncode == 2 and "nosuch" in unknown.stderr, output(unknown)


def test_doraise_stops_at_the_first_failing_file(tmp_path):
    proc = pipetask("run", "exampleTask", *files(1, 2), "-c", "doFail=true", "--doraise")
    assert proc.returncode == 1, output(proc)
    assert proc.stderr.count("Traceback") == 1, output(proc)
    assert "stopping at the first failure (--doraise)" in proc.stderr
    assert "exampleTask: 0 of 2 files succeeded; 1 not run (--doraise)" in proc.stderr


def test_show_data_lists_each_file_and_runs_nothing(tmp_path):
    proc = pipetask("run", "statsWriter", *files(1, 3), "--show", "data", "--output", tmp_path)
    assert proc.returncode == 0, output(proc)
    assert proc.stdout.splitlines() == [
        f"visit=1 filter=g file={rawFile(1).name}",
        f"visit=3 filter=r file={rawFile(3).name}",
    ]
    assert list(tmp_path.iterdir()) == []


def test_a_task_without_run_data_ref_is_refused_on_a_file():
    proc = pipetask("run", "visitSummary", *files(1))
    assert proc.returncode == 2, output(proc)
    assert "--file: task 'visitSummary' has no runDataRef" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.skipif(
    importlib.util.find_spec("pipetask_dask") is None, reason="pipetask-dask is not installed"
)
def test_dask_runs_files_through_the_same_contract(tmp_path):
    proc = pipetask(
        "run", "statsWriter", *files(1, 3), "--executor", "dask", "-j", "2",
        "--output", tmp_path / "dask", timeout=240,
    )  # fmt: skip
    assert proc.returncode == 0, output(proc)
    for visit in (1, 3):
        np.testing.assert_allclose(
            writtenStats(tmp_path / "dask", visit), clippedReference(visit, *DEFAULT), rtol=1e-9
        )
    assert "statsWriter: 2 of 2 files succeeded" in proc.stderr
