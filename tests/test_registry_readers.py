"""Readers of a registry while its one writer commits, provoked for real.

A connection opened read-only (``mode=ro``) used to fail now and then with "attempt to
write a readonly database" while another process committed: SQLite's hot-journal check
can see the writer's next transaction as a crashed one, and a read-only connection cannot
roll it back (see ``pipetask.butler.sqlite_read``). Two things guard against it:

- workers of a pipeline run open no registry at all (``pipetask.butler.worker_butler``);
- read-only connections (an output's parents, ``report``, a calibration registry) retry a
  journal that only looks hot, and report one that stays hot as one line.
"""

from __future__ import annotations

import multiprocessing
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _shared_data import makeSynthRepo
from pipetask.butler.registry import Registry
from pipetask.errors import ButlerError
from test_run_faults import assertConsistent, registryRows

PIPETASK = str(Path(sys.executable).with_name("pipetask"))
KEYS = {"visit": int, "ccd": int}
WRITE_SECONDS = 4.0


def _makeRegistry(path: str) -> None:
    registry = Registry(path, KEYS, "synth", create=True)
    assert registry.conn is not None  # connecting creates the tables
    registry.close()


def _read(path: str, stop, results) -> None:
    """Open the registry read-only again and again and look paths up until ``stop``."""
    reads, errors = 0, []
    while not stop.is_set():
        registry = Registry(path, KEYS, "synth", readonly=True)
        try:
            for i in range(10):
                registry.hasPath(f"x/{i}.json")
                reads += 1
        except (sqlite3.Error, ButlerError) as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            registry.close()
    results.put((reads, errors[:3], len(errors)))


def test_read_only_readers_never_fail_while_the_writer_commits(tmp_path):
    """Three processes read through read-only registries while this one commits small
    transactions for a few seconds (the run's main process registering outputs)."""
    path = str(tmp_path / "registry.sqlite3")
    _makeRegistry(path)
    context = multiprocessing.get_context("fork")
    stop, results = context.Event(), context.Queue()
    readers = [context.Process(target=_read, args=(path, stop, results)) for _ in range(3)]
    for reader in readers:
        reader.start()
    writer = Registry(path, KEYS, "synth")
    commits = 0
    end = time.monotonic() + WRITE_SECONDS
    try:
        while time.monotonic() < end:
            writer.register("x", {"visit": commits, "ccd": 0}, f"x/{commits}.json")
            commits += 1
    finally:
        stop.set()
        writer.close()
    outcomes = [results.get(timeout=60) for _ in readers]
    for reader in readers:
        reader.join(timeout=30)
    assert commits > 1000, commits
    assert all(reads > 0 for reads, _, _ in outcomes), outcomes
    assert [(errors, count) for _, errors, count in outcomes] == [([], 0)] * 3


def test_a_hot_journal_left_by_a_dead_writer_is_one_line_then_rolled_back(tmp_path):
    """A writer killed mid-transaction leaves a journal that really is hot: a read-only
    open says so in one line (after a short wait), the next writable open rolls it back."""
    path = tmp_path / "registry.sqlite3"
    _makeRegistry(str(path))
    writer = Registry(str(path), KEYS, "synth")
    writer.register("x", {"visit": 1, "ccd": 0}, "x/1.json")
    writer.close()
    script = (
        "import os, sqlite3, sys\n"
        "db = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        "db.execute('PRAGMA journal_mode=PERSIST')\n"
        "db.execute('PRAGMA cache_size=1')\n"
        "db.execute('BEGIN IMMEDIATE')\n"
        'db.execute("DELETE FROM dataset")\n'
        "db.executemany('INSERT INTO pending (path) VALUES (?)', "
        "[(str(i) * 200,) for i in range(3000)])\n"
        "os._exit(9)\n"  # dies holding the transaction: the journal is hot
    )
    subprocess.run([sys.executable, "-c", script, str(path)], check=False, timeout=60)
    journal = Path(f"{path}-journal")
    assert journal.exists() and journal.read_bytes()[:1] != b"\0"
    reader = Registry(str(path), KEYS, "synth", readonly=True)
    start = time.monotonic()
    with pytest.raises(ButlerError) as caught:
        reader.hasPath("x/1.json")
    reader.close()
    assert "interrupted by a process that died" in str(caught.value)
    assert str(path) in str(caught.value)
    assert time.monotonic() - start < 30
    writable = Registry(str(path), KEYS, "synth")
    assert writable.hasPath("x/1.json")  # rolled back: the row is there again
    assert writable.pendingRows() == []
    writable.close()
    reader = Registry(str(path), KEYS, "synth", readonly=True)
    assert reader.hasPath("x/1.json")
    reader.close()


@pytest.fixture(scope="module")
def manyTiny(tmp_path_factory) -> Path:
    return makeSynthRepo(tmp_path_factory.mktemp("many") / "repo", visits=50, ccds=6, size=16)


def test_j2_over_hundreds_of_tiny_data_ids_registers_every_one(manyTiny, tmp_path):
    """The run that once lost one data ID of 200 to the race: statsWriter with ``-j 2``
    over 300 tiny images, the main process committing an outcome every few milliseconds
    while the workers read raws; every data ID succeeds and the output is consistent."""
    out = tmp_path / "out"
    done = subprocess.run(
        [PIPETASK, "run", "statsWriter", str(manyTiny), "--id", "--output", str(out)] + ["-j", "2"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "300 succeeded, 0 failed" in done.stderr, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    rows = registryRows(out, "dataset")
    assert len([r for r in rows if r[1] == "imageStats"]) == 300, len(rows)
    assertConsistent(out)


def test_a_worker_reads_and_writes_files_only(manyTiny, tmp_path):
    """A worker of a run never opens a registry: with the output's registry replaced by a
    file that is no database, the run's job still processes a quantum in a fresh worker,
    reading its raw from the input and writing its output file for the main process."""
    from pipetask.butler import Butler
    from pipetask.execution.base import OK
    from pipetask.pipeline.graph_io import graphPath, loadGraph
    from pipetask.pipeline.quantum import PipelineJob, QuantumItem

    out = tmp_path / "out"
    done = subprocess.run(
        [PIPETASK, "run", "statsWriter", str(manyTiny), "--id", "visit=1", "--output", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    with Butler(manyTiny, output=out) as butler:
        types = tuple(butler.runtimeDatasetTypes())
    written = out / "imageStats"
    shutil.rmtree(written)
    for repo in (out, manyTiny):  # neither registry is readable now
        (repo / "registry.sqlite3").rename(repo / "registry.saved")
        (repo / "registry.sqlite3").write_text("not a database\n")
    try:
        job = PipelineJob(str(graphPath(out)), str(manyTiny), str(out), datasetTypes=types)
        graph = loadGraph(job.graphPath)
        label = next(iter(graph.tasks))
        outcome = job.makeWorker().process(QuantumItem(label, 0, graph.dataId(label, 0)))
    finally:
        for repo in (out, manyTiny):
            (repo / "registry.saved").replace(repo / "registry.sqlite3")
    assert outcome.status == OK, outcome.error
    ((datasetType, dataId, relative),) = outcome.extra["written"]
    assert (datasetType, dataId) == ("imageStats", graph.dataId(label, 0))
    assert (out / relative).is_file()


@pytest.mark.parametrize("withOutput", [True, False], ids=["into-an-output", "into-the-input"])
def test_an_ingest_and_a_run_at_once_on_one_repository(manyTiny, tmp_path, withOutput):
    """``pipetask ingest`` adds 120 raws to a repository while ``-j 2`` runs over its 300
    (the run writing into another output, or into the repository itself, the ingest's
    commits then interleaving with the run's): both succeed, the run processes what it
    selected at its start, the ingest registers each new file once, and every registry
    agrees with its files."""
    from obs_synth.simulate import simulate

    repo = tmp_path / "repo"
    shutil.copytree(manyTiny, repo)
    raws = simulate(tmp_path / "new", visits=20, ccds=6, size=16, firstVisit=101)
    out = tmp_path / "out"
    run = [PIPETASK, "run", "statsWriter", str(repo), "--id", "visit=1..50", "-j", "2"]
    if withOutput:
        run += ["--output", str(out)]
    ingest = [PIPETASK, "ingest", str(repo), *map(str, raws), "--camera", "synth"]
    procs = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for command in (run, ingest)
    ]
    (runOut, runErr), (ingestOut, ingestErr) = (p.communicate(timeout=600) for p in procs)
    assert procs[0].returncode == 0, runErr[-3000:]
    assert "300 succeeded, 0 failed" in runErr, runErr[-3000:]
    assert procs[1].returncode == 0, ingestErr[-3000:]
    assert "120 ingested, 0 duplicate" in ingestOut + ingestErr, ingestOut + ingestErr
    assert "Traceback" not in runErr + ingestErr
    raws = [r for r in registryRows(repo, "dataset") if r[1] == "raw"]
    assert len(raws) == 420 and len({r[-1] for r in raws}) == 420
    written = out if withOutput else repo
    stats = [r for r in registryRows(written, "dataset") if r[1] == "imageStats"]
    assert len(stats) == 300
    assertConsistent(repo)
    if withOutput:
        assertConsistent(out)
