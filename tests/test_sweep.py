"""Config sweeps through the real CLI: ``pipetask run ... --sweep`` and
``pipetask report OUT --sweep``, on simulated synth raws.

Each variant writes its own output with its own config and gets what a plain run with
that value gets; labels upstream of every swept field run once; adding a value later runs
only the new variant; a bad sweep fails before any work with one line and exit status 2.
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections import Counter
from pathlib import Path

import pytest
from _pipetest import pluginEnv
from _shared_data import makeSynthRepo

PIPETASK = str(Path(sys.executable).parent / "pipetask")

PIPELINE = """
[tasks.copy]
task = "ptCopy"
[tasks.gather]
task = "ptGather"
"""


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    return pluginEnv(tmp_path_factory.mktemp("plugin"))


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    return makeSynthRepo(tmp_path_factory.mktemp("synth") / "repo", visits=2, ccds=3, size=32)


@pytest.fixture
def pipeline(tmp_path):
    path = tmp_path / "pipe.toml"
    path.write_text(textwrap.dedent(PIPELINE))
    return path


def pipetask(env, *args, timeout=180):
    return subprocess.run(
        [PIPETASK, *map(str, args)], capture_output=True, text=True, env=env, timeout=timeout
    )


def registered(out: Path) -> dict[str, str]:
    with sqlite3.connect(out / "registry.sqlite3") as conn:
        assert conn.execute("SELECT COUNT(*) FROM pending").fetchone()[0] == 0
        return {p: t for t, p in conn.execute("SELECT dataset_type, path FROM dataset")}


def records(out: Path, name: str) -> list[list[dict]]:
    """The quantum lines of each run record, oldest run first."""
    runs = sorted((out / "runs" / name).glob("*.jsonl"))
    return [
        [line for line in map(json.loads, path.read_text().splitlines()) if "label" in line]
        for path in runs
    ]


def test_one_task_sweep_matches_plain_runs_and_reports_a_table(env, repo, tmp_path):
    out = tmp_path / "out"
    done = pipetask(
        env, "run", "statsWriter", repo, "--id", "visit=1", "--output", out,
        "--sweep", "stats.numSigmaClip=2.5^4", "-j", "2",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    variants = sorted(p.name for p in (out / "sweep").iterdir())
    assert variants == ["stats.numSigmaClip=2.5", "stats.numSigmaClip=4.0"]
    for name, value in (("stats.numSigmaClip=2.5", "2.5"), ("stats.numSigmaClip=4.0", "4.0")):
        variant = out / "sweep" / name
        config = (variant / "config" / "statsWriter.toml").read_text()
        assert f"numSigmaClip = {value}" in config
        rows = [p for p, t in registered(variant).items() if t == "imageStats"]
        assert sorted(rows) == [f"imageStats/visit=1/ccd={c}.json" for c in range(3)]
        assert all((variant / p).exists() for p in rows)
        assert not registered(out)  # nothing shared: the run's own output holds no dataset
        # The same value in a plain run gives the same numbers.
        plain = tmp_path / f"plain{value}"
        alone = pipetask(
            env, "run", "statsWriter", repo, "--id", "visit=1", "--output", plain,
            "-c", f"stats.numSigmaClip={value}",
        )  # fmt: skip
        assert alone.returncode == 0, alone.stderr
        for path in rows:
            assert json.loads((variant / path).read_text()) == json.loads(
                (plain / path).read_text()
            )
    # The table: text and CSV, one row per variant and data ID, values from the outputs.
    text = pipetask(env, "report", out, "--sweep")
    assert text.returncode == 0, text.stderr
    lines = text.stdout.splitlines()
    assert lines[0] == "imageStats"
    assert lines[1].split()[:3] == ["stats.numSigmaClip", "data", "ID"]
    assert len(lines) == 2 + 6
    table = pipetask(env, "report", out, "--sweep", "--csv")
    assert table.returncode == 0, table.stderr
    rows = list(csv.DictReader(io.StringIO(table.stdout)))
    assert len(rows) == 6
    assert Counter(r["stats.numSigmaClip"] for r in rows) == {"2.5": 3, "4.0": 3}
    for row in rows:
        variant = out / "sweep" / f"stats.numSigmaClip={row['stats.numSigmaClip']}"
        stored = json.loads((variant / f"imageStats/visit=1/ccd={row['ccd']}.json").read_text())
        assert float(row["mean"]) == stored["mean"]
    # Clipping harder can only keep fewer pixels: a smaller spread at 2.5 sigma.
    spread = {(r["stats.numSigmaClip"], r["ccd"]): float(r["stdDev"]) for r in rows}
    for ccd in ("0", "1", "2"):
        assert spread[("2.5", ccd)] < spread[("4.0", ccd)]


def test_a_downstream_sweep_runs_upstream_once_and_a_new_value_only_itself(
    env, repo, pipeline, tmp_path
):
    out = tmp_path / "out"
    args = ["run", "-p", pipeline, repo, "--id", "--output", out]
    done = pipetask(env, *args, "--sweep", "gather:threshold=1^2^3", "-j", "2")
    assert done.returncode == 0, done.stderr
    (first,) = records(out, "pipe")
    counts = Counter((q["label"], q["status"]) for q in first)
    assert counts[("copy", "ok")] == 6  # 2 visits x 3 CCDs, once for all variants
    assert sum(n for (label, _s), n in counts.items() if label == "copy") == 6
    copies = Counter(json.dumps(q["dataId"], sort_keys=True) for q in first if q["label"] == "copy")
    assert len(copies) == 6 and set(copies.values()) == {1}  # each upstream quantum once
    for value in ("1.0", "2.0", "3.0"):
        assert counts[(f"gather[gather.threshold={value}]", "ok")] == 2
    assert sorted(registered(out).values()) == ["copy_config", "packages"] + ["ptStep1"] * 6
    for value in ("1.0", "2.0", "3.0"):
        variant = out / "sweep" / f"gather.threshold={value}"
        assert sorted(registered(variant).values()) == [
            "gather_config",
            "packages",
            "ptVisit",
            "ptVisit",
        ]
        assert f"threshold = {value}" in (variant / "config" / "gather.toml").read_text()
        assert not (variant / "config" / "copy.toml").exists()
        assert json.loads((variant / "ptVisit" / "visit=1.json").read_text()) == {"ccds": [0, 1, 2]}
    # Adding a value later runs only the new variant; --show graph says so first.
    shown = pipetask(env, *args, "--sweep", "gather:threshold=1^2^3^4", "--show", "graph")
    assert shown.returncode == 0, shown.stderr
    assert "quantum graph: 14 quanta, 12 done" in shown.stdout
    assert "gather[gather.threshold=4.0] (ptGather): 2 quanta per (visit), 2 to run" in shown.stdout
    assert "gather[gather.threshold=1.0] (ptGather): 2 quanta per (visit), 0 to run" in shown.stdout
    again = pipetask(env, *args, "--sweep", "gather:threshold=1^2^3^4")
    assert again.returncode == 0, again.stderr
    second = records(out, "pipe")[-1]
    ran = Counter(q["label"] for q in second if q["status"] == "ok")
    assert ran == {"gather[gather.threshold=4.0]": 2}
    skipped = Counter(q["label"] for q in second if q["status"] == "skipped")
    assert skipped["copy"] == 6 and skipped["gather[gather.threshold=1.0]"] == 2


def test_grid_and_zip_of_two_sweeps(env, repo, pipeline, tmp_path):
    args = ["run", "-p", pipeline, repo, "--id", "visit=1", "--sweep", "copy:threshold=1^2",
            "--sweep", "gather:threshold=5^6"]  # fmt: skip
    grid = pipetask(env, *args, "--output", tmp_path / "grid")
    assert grid.returncode == 0, grid.stderr
    names = sorted(p.name for p in (tmp_path / "grid" / "sweep").iterdir())
    assert names == [
        f"copy.threshold={a},gather.threshold={b}" for a in ("1.0", "2.0") for b in ("5.0", "6.0")
    ]
    (run,) = records(tmp_path / "grid", "pipe")
    # copy is swept: nothing is shared, every variant copies its own CCDs.
    assert Counter(q["status"] for q in run) == {"ok": 4 * (3 + 1)}
    zipped = pipetask(env, *args, "--sweep-zip", "--output", tmp_path / "zip")
    assert zipped.returncode == 0, zipped.stderr
    names = sorted(p.name for p in (tmp_path / "zip" / "sweep").iterdir())
    assert names == ["copy.threshold=1.0,gather.threshold=5.0",
                     "copy.threshold=2.0,gather.threshold=6.0"]  # fmt: skip
    for name in names:
        variant = tmp_path / "zip" / "sweep" / name
        found = sorted(t for t in registered(variant).values() if t.startswith("pt"))
        assert found == ["ptStep1"] * 3 + ["ptVisit"]


@pytest.mark.parametrize(
    ("sweeps", "message"),
    [
        (["gather:threshold=1^abc"], "variant gather.threshold=abc: cannot parse 'abc'"),
        (["gather:nothing=1^2"], "has no field 'nothing'"),
        (["gather:threshold=3^3.0"], "would both write to"),
        (["gather:threshold=3..1"], "reversed range"),
        (["nolabel:threshold=1"], "no label 'nolabel'"),
        (["threshold=1"], "name the label"),
        (["copy:threshold=1^2", "gather:threshold=1^2^3", "--sweep-zip"], "as many values"),
        (["gather:threshold=1", "gather:threshold=2"], "swept twice"),
        (["gather:connections.summary=x"], "cannot rename connections"),
    ],
)
def test_a_bad_sweep_fails_before_any_work(env, repo, pipeline, tmp_path, sweeps, message):
    out = tmp_path / "out"
    args = [x for s in sweeps for x in (s.startswith("--") and [s] or ["--sweep", s])]
    done = pipetask(env, "run", "-p", pipeline, repo, "--id", "--output", out, *args)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], done.stderr
    assert lines[0].startswith("pipetask: error:")
    assert not out.exists()


def test_a_sweep_needs_an_output_and_csv_needs_sweep(env, repo, tmp_path):
    done = pipetask(env, "run", "statsWriter", repo, "--id", "--sweep", "stats.numSigmaClip=3")
    assert done.returncode == 2 and "--sweep needs --output" in done.stderr
    assert pipetask(env, "report", repo, "--csv").returncode == 2
    zipped = pipetask(env, "run", "statsWriter", repo, "--id", "--sweep-zip")
    assert zipped.returncode == 2 and "--sweep-zip" in zipped.stderr


def test_a_shared_failure_blocks_every_variant_and_a_killed_sweep_resumes(
    env, repo, pipeline, tmp_path
):
    out = tmp_path / "out"
    args = ["run", "-p", pipeline, repo, "--id", "--output", out, "--sweep", "gather:threshold=1^2"]
    failed = pipetask(env, *args, "-c", "copy:failVisit=2")
    assert failed.returncode == 3, failed.stderr  # three CCDs of visit 2, once
    assert "copy: 3 succeeded, 3 failed, 0 blocked" in failed.stderr
    for value in ("1.0", "2.0"):
        assert f"gather[gather.threshold={value}]: 1 succeeded, 0 failed, 1 blocked" in (
            failed.stderr
        )
    # Killed mid-way (every process of the run), the sweep resumes where it stopped.
    out = tmp_path / "killed"
    args = ["run", "-p", pipeline, repo, "--id", "--output", out, "--sweep", "gather:threshold=1^2"]
    process = subprocess.Popen(
        [PIPETASK, *map(str, args), "-c", "copy:sleep=0.4", "-j", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not list(out.glob("ptStep1/*/*.json")):
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    resumed = pipetask(env, *args, "-c", "copy:sleep=0.4")
    assert resumed.returncode == 0, resumed.stderr
    last = records(out, "pipe")[-1]
    copies = Counter(q["status"] for q in last if q["label"] == "copy")
    assert sum(copies.values()) == 6 and set(copies) <= {"ok", "skipped"}, copies
    assert sorted(t for t in registered(out).values() if t.startswith("pt")) == ["ptStep1"] * 6
    for value in ("1.0", "2.0"):
        variant = out / "sweep" / f"gather.threshold={value}"
        assert (
            sorted(t for t in registered(variant).values() if t.startswith("pt")) == ["ptVisit"] * 2
        )
    leftovers = [p for p in out.rglob(".tmp-*")]
    assert not leftovers
