"""``pipetask run -p`` end to end through the real CLI, on simulated synth raws.

Serial and ``-j 2`` write identical outputs; the main process is the only writer of the
registry (registry rows and files agree, no pending rows, no temporary files); a failed
quantum blocks only its descendants; a killed run resumes with ``--skip-existing``;
bad pipeline files are one line with exit status 2.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from _pipetest import pluginEnv
from _probe_plugin import sigintDefault
from _shared_data import makeSynthRepo

PIPETASK = str(Path(sys.executable).parent / "pipetask")

PIPELINE = """
description = "copy, copy again, gather per visit; statistics of each raw"
[tasks.copy]
task = "ptCopy"
[tasks.copy2]
task = "ptCopy"
connections = { inputs = "ptStep1", outputs = "ptStep2" }
[tasks.gather]
task = "ptGather"
connections = { inputs = "ptStep2" }
[tasks.stats]
task = "statsWriter"
[subsets.copies]
labels = ["copy", "copy2"]
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


def pipetask(env, *args, timeout=120):
    return subprocess.run(
        [PIPETASK, *map(str, args)], capture_output=True, text=True, env=env, timeout=timeout
    )


def registered(out: Path) -> dict[str, str]:
    with sqlite3.connect(out / "registry.sqlite3") as conn:
        return {p: t for t, p in conn.execute("SELECT dataset_type, path FROM dataset")}


def checkConsistent(out: Path) -> None:
    """Registry rows and files agree; no pending rows; no temporary files."""
    rows = registered(out)
    for path in rows:
        assert (out / path).exists(), path
    with sqlite3.connect(out / "registry.sqlite3") as conn:
        assert conn.execute("SELECT COUNT(*) FROM pending").fetchone()[0] == 0
    datasets = {
        os.path.relpath(os.path.join(d, f), out)
        for d, _, files in os.walk(out)
        for f in files
        if not f.startswith(("registry.sqlite3", "repo.toml", ".pipetask", "quantum_graph"))
        and not f.endswith("~1")  # a replaced config, kept
        and "/runs/" not in os.path.join(d, f) + "/"
        and not os.path.relpath(d, out).startswith("runs")
    }
    assert not [p for p in datasets if os.path.basename(p).startswith(".tmp-")]
    assert datasets <= set(rows) | {p for p in datasets if p.startswith(".")}, datasets - set(rows)


def contents(out: Path, datasetType: str) -> dict[str, str]:
    return {p: (out / p).read_text() for p, t in registered(out).items() if t == datasetType}


def test_serial_two_processes_and_dask_write_the_same_outputs(env, repo, pipeline, tmp_path):
    pytest.importorskip("distributed", reason="pipetask-dask needs dask[distributed]")
    outs = {}
    modes = (("serial", []), ("j2", ["-j", "2"]), ("dask", ["--executor", "dask", "-j", "2"]))
    for mode, extra in modes:
        out = tmp_path / mode
        done = pipetask(env, "run", "-p", pipeline, repo, "--id", "--output", out, *extra)
        assert done.returncode == 0, done.stderr
        assert "gather: 2 succeeded, 0 failed, 0 blocked, 0 skipped of 2 quanta" in done.stderr
        checkConsistent(out)
        outs[mode] = out
    for datasetType in ("ptStep1", "ptStep2", "ptVisit", "imageStats"):
        serial = contents(outs["serial"], datasetType)
        assert serial, datasetType
        assert contents(outs["j2"], datasetType) == serial, datasetType
        assert contents(outs["dask"], datasetType) == serial, datasetType
    visit = json.loads(
        (outs["serial"] / next(iter(contents(outs["serial"], "ptVisit")))).read_text()
    )
    assert visit == {"ccds": [0, 1, 2]}
    records = list((outs["serial"] / "runs" / "pipe").glob("*.jsonl"))
    assert len(records) == 1
    lines = [json.loads(line) for line in records[0].read_text().splitlines()]
    quanta = [line for line in lines if "label" in line]
    assert len(quanta) == 6 + 6 + 2 + 6
    one = next(q for q in quanta if q["label"] == "stats")
    assert one["attempt"] == 1 and one["configHash"] and one["maxRss"] > 0
    assert "runDataRefDuration" in one["metadata"]["stats"]


def test_a_failed_quantum_blocks_only_its_descendants(env, repo, pipeline, tmp_path):
    out = tmp_path / "out"
    args = ["run", "-p", pipeline, repo, "--id", "--output", out]
    done = pipetask(env, *args, "-c", "copy2:failVisit=2")
    assert done.returncode == 3, done.stderr
    assert "copy2: 3 succeeded, 3 failed, 0 blocked, 0 skipped of 6 quanta" in done.stderr
    assert "gather: 1 succeeded, 0 failed, 1 blocked, 0 skipped of 2 quanta" in done.stderr
    assert "stats: 6 succeeded" in done.stderr
    assert list(contents(out, "ptVisit")) == ["ptVisit/visit=1.json"]
    checkConsistent(out)
    # The config differs from the stored one: refused, then replaced on request.
    refused = pipetask(env, *args, "--skip-existing")
    assert refused.returncode == 2 and "copy2" in refused.stderr
    resumed = pipetask(env, *args, "--skip-existing", "--clobber-config")
    assert resumed.returncode == 0, resumed.stderr
    assert "redo 6: copy2: config replaced (--clobber-config)" in resumed.stderr
    assert "gather: 2 succeeded" in resumed.stderr and "copy: 0 succeeded" in resumed.stderr
    checkConsistent(out)


def test_a_killed_run_resumes(env, repo, pipeline, tmp_path):
    out = tmp_path / "out"
    args = ["run", "-p", str(pipeline) + "#copies", repo, "--id", "--output", out]
    process = subprocess.Popen(
        [PIPETASK, *map(str, args), "-j", "2", "-c", "copy:sleep=0.4", "-c", "copy2:sleep=0.4"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=sigintDefault,  # not SIGINT ignored, as from a background job
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not list(out.glob("ptStep1/*/*.json")):
        time.sleep(0.05)
    time.sleep(0.3)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    resumed = pipetask(
        env, *args, "--skip-existing", "-c", "copy:sleep=0.4", "-c", "copy2:sleep=0.4"
    )
    assert resumed.returncode == 0, resumed.stderr
    assert "resume:" in resumed.stderr
    assert len(contents(out, "ptStep2")) == 6
    checkConsistent(out)


def test_resume_reads_the_stored_graph_and_says_what_it_redoes(env, repo, pipeline, tmp_path):
    out = tmp_path / "out"
    args = ["run", "-p", str(pipeline) + "#copies", repo, "--output", out]
    first = pipetask(env, *args, "--id", "visit=1", "-c", "copy2:failVisit=1")
    assert first.returncode == 3, first.stderr
    stored = out / "quantum_graph.qgraph"
    before = stored.read_bytes()
    shown = pipetask(env, *args, "--id", "visit=1", "--skip-existing", "--show", "graph")
    assert "the config of copy2 differs from the one stored in the output" in shown.stderr
    assert shown.stdout.count("config replaced (--clobber-config)") == 3, shown.stdout
    resumed = pipetask(env, *args, "--id", "visit=1", "--skip-existing", "--clobber-config")
    assert resumed.returncode == 0, resumed.stderr
    assert f"resume: read the stored graph {stored} (6 quanta)" in resumed.stderr
    assert "resume: 3 of 6 quanta done, 3 to run" in resumed.stderr
    assert "redo 3: copy2: config replaced (--clobber-config)" in resumed.stderr
    assert "copy: 0 succeeded, 0 failed, 0 blocked, 3 skipped of 3 quanta" in resumed.stderr
    assert "copy2: 3 succeeded" in resumed.stderr
    assert stored.read_bytes() != before  # stored again with the replaced config
    checkConsistent(out)
    # Another --id is another graph: built, and said so.
    other = pipetask(env, *args, "--id", "visit=1..2", "--skip-existing")
    assert other.returncode == 0, other.stderr
    assert "the stored graph does not fit this run (it was made for '--id visit=1')" in (
        other.stderr
    )
    assert "resume: 6 of 12 quanta done, 6 to run" in other.stderr
    # A damaged stored graph is rebuilt, with a warning naming the file.
    stored.write_bytes(stored.read_bytes()[:40])
    damaged = pipetask(env, *args, "--id", "visit=1..2", "--skip-existing")
    assert damaged.returncode == 0, damaged.stderr
    assert f"quantum graph {str(stored)!r} is damaged" in damaged.stderr
    assert "resume: 12 of 12 quanta done, 0 to run" in damaged.stderr
    checkConsistent(out)


def test_resume_redoes_the_quanta_whose_files_were_removed_and_their_readers(
    env, repo, pipeline, tmp_path
):
    out = tmp_path / "out"
    args = ["run", "-p", str(pipeline) + "#copies", repo, "--id", "--output", out]
    first = pipetask(env, *args)
    assert first.returncode == 0, first.stderr
    before = contents(out, "ptStep2")
    step1 = sorted(p for p, t in registered(out).items() if t == "ptStep1")
    (out / step1[0]).unlink()  # one file, behind the registry's back
    folder = (out / step1[-1]).parent  # and a whole folder (the other visit's)
    assert folder != (out / step1[0]).parent
    for path in folder.iterdir():
        path.unlink()
    folder.rmdir()
    shown = pipetask(env, *args, "--skip-existing", "--show", "graph")
    assert shown.returncode == 0, shown.stderr
    assert "quantum graph: 12 quanta, 4 done" in shown.stdout
    why = [line.split("}: ", 1)[1] for line in shown.stdout.splitlines() if "  run  " in line]
    assert why.count("an output's file was removed") == 4, shown.stdout
    assert sum(w.startswith("an input is redone, after 1 quantum of copy") for w in why) == 4
    resumed = pipetask(env, *args, "--skip-existing")
    assert resumed.returncode == 0, resumed.stderr
    assert "resume: 4 of 12 quanta done, 8 to run" in resumed.stderr
    assert "redo 4: copy: an output's file was removed" in resumed.stderr
    assert "redo 4: copy2: an input is redone" in resumed.stderr
    assert "copy: 4 succeeded, 0 failed, 0 blocked, 2 skipped of 6 quanta" in resumed.stderr
    assert contents(out, "ptStep2") == before
    checkConsistent(out)
    again = pipetask(env, *args, "--skip-existing")
    assert again.returncode == 0 and "resume: 12 of 12 quanta done, 0 to run" in again.stderr


BAD = {
    "unknown task": ('[tasks.a]\ntask = "nope"\n', "unknown task 'nope'"),
    "cycle": (
        '[tasks.a]\ntask = "ptCopy"\nconnections = { inputs = "y", outputs = "x" }\n'
        '[tasks.b]\ntask = "ptCopy"\nconnections = { inputs = "x", outputs = "y" }\n',
        "cycle",
    ),
    "two producers": ('[tasks.a]\ntask = "ptCopy"\n[tasks.b]\ntask = "ptCopy"\n', "both"),
    "failing contract": (
        '[tasks.a]\ntask = "ptCopy"\n[[contracts]]\ncheck = "a.threshold > 10"\n',
        "contract 'a.threshold > 10' fails (a.threshold = 5.0)",
    ),
    "rename to nothing": (
        '[tasks.a]\ntask = "ptCopy"\nconnections = { outputs = " " }\n',
        "renamed to nothing",
    ),
    "rename of no connection": (
        '[tasks.a]\ntask = "ptCopy"\nconnections = { nosuch = "x" }\n',
        "'nosuch' is not a connection of task 'ptCopy'",
    ),
    "contract on an unknown label": (
        '[tasks.a]\ntask = "ptCopy"\n[[contracts]]\ncheck = "b.threshold > 1"\n',
        "contract 'b.threshold > 1': no label 'b' (labels: a)",
    ),
    "contract that is code": (
        '[tasks.a]\ntask = "ptCopy"\n[[contracts]]\ncheck = "__import__(1)"\n',
        "is not LEFT OP RIGHT",
    ),
    "no tasks": ("description = 'nothing'\n", "no tasks; a pipeline file names each"),
    "bad TOML": ("[tasks.a\n", "bad.toml:1: invalid TOML"),
    "import of a missing file": (
        'imports = ["gone.toml"]\n[tasks.a]\ntask = "ptCopy"\n',
        "gone.toml' not found (imported by",
    ),
    "unknown subset label": (
        '[tasks.a]\ntask = "ptCopy"\n[subsets.s]\nlabels = ["zz"]\n',
        "subset 's' names unknown label 'zz'",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_pipeline_files_are_one_line(env, repo, tmp_path, case):
    text, expected = BAD[case]
    path = tmp_path / "bad.toml"
    path.write_text(text)
    done = pipetask(env, "run", "-p", path, repo, "--id", "--output", tmp_path / "out")
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pipetask: error: "), done.stderr
    assert expected in lines[0]
    assert not (tmp_path / "out").exists()


def test_show_pipeline_and_graph(env, repo, pipeline, tmp_path):
    done = pipetask(
        env, "run", "-p", pipeline, repo, "--id", "visit=1", "--show", "pipeline", "graph"
    )
    assert done.returncode == 0, done.stderr
    assert "gather (ptGather), one quantum per (visit)" in done.stdout
    assert "input multiple  inputs = ptStep2 (visit, ccd) from copy2" in done.stdout
    assert "gather (ptGather): 1 quanta per (visit), 1 to run" in done.stdout
    assert "run  {visit: 1}: new, after 3 quanta of copy2" in done.stdout
    missing = pipetask(env, "run", "-p", pipeline, repo, "--id", "visit=9", "--show", "graph")
    assert missing.returncode == 2
    assert "empty graph: label 'copy', input 'inputs' (dataset type 'raw')" in missing.stderr


@pytest.mark.parametrize("extra", [[], ["-j", "2"]], ids=["serial", "j2"])
def test_ctrl_c_stops_cleanly_and_the_run_resumes(env, repo, pipeline, tmp_path, extra):
    out = tmp_path / "out"
    args = ["run", "-p", str(pipeline) + "#copies", repo, "--id", "--output", out]
    slow = ["-c", "copy:sleep=0.4", "-c", "copy2:sleep=0.4"]
    process = subprocess.Popen(
        [PIPETASK, *map(str, args), *extra, *slow],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=sigintDefault,  # not SIGINT ignored, as from a background job
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not list(out.glob("ptStep1/*/*.json")):
        time.sleep(0.05)
    os.killpg(process.pid, signal.SIGINT)  # what a terminal sends to its process group
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "not run (interrupted)" in stderr
    assert "Traceback" not in stderr
    checkConsistent(out)
    resumed = pipetask(env, *args, *slow, "--skip-existing")
    assert resumed.returncode == 0, resumed.stderr
    assert len(contents(out, "ptStep2")) == 6
    checkConsistent(out)


def test_report_shows_each_label(env, repo, pipeline, tmp_path):
    out = tmp_path / "out"
    done = pipetask(
        env, "run", "-p", pipeline, repo, "--id", "--output", out, "-c", "copy2:failVisit=2"
    )
    assert done.returncode == 3, done.stderr
    report = pipetask(env, "report", out)
    lines = report.stdout.splitlines()
    assert "copy2 {visit: 2, ccd: 0} failed  RuntimeError: failing visit 2 by request" in (
        report.stdout
    ), report.stdout
    assert any(line.startswith("gather {visit: 2} blocked") for line in lines), report.stdout
    assert any(line.startswith("copy {visit: 2, ccd: 0} ok") for line in lines), report.stdout


@pytest.mark.parametrize(
    ("option", "expected"),
    [
        ("-c copy:nosuch=1", "-c copy:nosuch=1: "),
        ("-c copy:threshold=abc", "-c copy:threshold=abc: cannot parse 'abc'"),
        ("-C copy:{bad}", "-C copy: {bad}:1: "),
        ("-c nolabel:x=1", "-c nolabel:x=1: no label 'nolabel' in"),
        ("-c x=1", "-c x=1: name the label, -c LABEL:NAME=VALUE (labels: copy, copy2"),
    ],
)
def test_a_bad_labelled_override_is_one_line_naming_the_option_once(
    env, repo, pipeline, tmp_path, option, expected
):
    bad = tmp_path / "bad.toml"
    bad.write_text("nosuch = 1\n")
    flag, value = option.format(bad=bad).split(" ", 1)
    done = pipetask(
        env, "run", "-p", pipeline, repo, "--id", "--output", tmp_path / "o", flag, value
    )
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"pipetask: error: {expected.format(bad=bad)}"), line
    assert line.count(value.split(":")[-1]) == 1, line  # the option is named once
    assert not (tmp_path / "o").exists()


def test_show_config_and_history_apply_to_the_labels_that_have_the_field(
    env, repo, pipeline, tmp_path
):
    args = ["run", "-p", pipeline, repo, "--id", "visit=1"]
    # ptCopy's labels have `threshold`; statsWriter's does not: it is left out, no error.
    done = pipetask(env, *args, "-c", "copy2:threshold=7", "--show", "config=threshold")
    assert done.returncode == 0, done.stderr
    assert "# label copy (ptCopy)\n" in done.stdout and "# label stats" not in done.stdout
    assert "# label copy2 (ptCopy)\n" in done.stdout and "threshold = 7.0" in done.stdout
    one = pipetask(env, *args, "-c", "copy2:threshold=7", "--show", "history=copy2:threshold")
    assert one.returncode == 0, one.stderr
    assert one.stdout.startswith("# label copy2 (ptCopy)\nthreshold\n"), one.stdout
    assert "# label copy " not in one.stdout and "-c copy2:threshold=7" in one.stdout
    none = pipetask(env, *args, "--show", "config=nothingLikeThis")
    assert none.returncode == 2 and none.stdout == ""
    assert "--show config=nothingLikeThis: no config field matches in any label" in none.stderr
