"""``pipetask report OUT --html FILE`` through the real CLI, on a pipeline run with a failure."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import textwrap
from html import unescape
from pathlib import Path

import pytest
from _browser import consoleErrors, pageRequests, visit
from _pipetest import pluginEnv
from _shared_data import makeSynthRepo

PIPETASK = str(Path(sys.executable).parent / "pipetask")

PIPELINE = """
[tasks.copy]
task = "ptCopy"
[tasks.copy2]
task = "ptCopy"
connections = { inputs = "ptStep1", outputs = "ptStep2" }
[tasks.gather]
task = "ptGather"
connections = { inputs = "ptStep2" }
"""


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A pipeline run in which copy2 fails on visit 2 (blocking that visit's gather)."""
    root = tmp_path_factory.mktemp("report")
    env = pluginEnv(root / "plugin")
    repo = makeSynthRepo(root / "repo", visits=3, ccds=2, size=32)
    pipe = root / "pipe.toml"
    pipe.write_text(textwrap.dedent(PIPELINE))
    out = root / "out"
    done = subprocess.run(
        [PIPETASK, "run", "-p", pipe, repo, "--id", "--output", out, "-c", "copy2:failVisit=2"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert done.returncode == 2, done.stderr  # two failed quanta
    return root, env, out


def pipetask(env, *args):
    return subprocess.run(
        [PIPETASK, *map(str, args)], capture_output=True, text=True, env=env, timeout=300
    )


def report(env, *args):
    return pipetask(env, "report", *args)


def test_html_report_of_a_pipeline_run(run):
    root, env, out = run
    page = root / "report.html"
    done = report(env, out, "--html", page)
    assert done.returncode == 1  # the text report's status: failures in the run
    assert f"to {page}" in done.stdout
    html = page.read_text(encoding="utf-8")
    # outcomes per label, the graph, the failure group with its rerun command and traceback
    assert re.search(r"<b>copy2</b>.*?failed", html)
    # a pipeline run records each quantum's peak memory: p50 / p95 / max per label
    for label in ("copy", "copy2", "gather"):
        row = re.search(rf"<tr><td><b>{label}</b>.*?</tr>", html).group(0)
        assert len(re.findall(r"\d (?:KiB|MiB|GiB)</td>", row)) == 3, row
    assert "<h3>copy2: RuntimeError (2 data IDs)</h3>" in html
    assert '<p class="msg">failing visit 2 by request</p>' in html
    rerun = shlex.split(unescape(re.search(r'<pre class="rerun">([^<]*)</pre>', html).group(1)))
    assert rerun[-3:] == ["--id", "visit=2", "ccd=0^1"] and "copy2:failVisit=2" in rerun
    assert "Traceback (most recent call last)" in html
    assert html.count('class="node"') == 3
    assert "blocked" in html
    # config differences from the defaults: copy2's failVisit
    assert re.search(r"failVisit[^<]*2", html)
    assert not list(root.glob("report.html.*")), "a temporary file was left behind"


def test_html_report_opens_in_a_browser(run, tmp_path):
    root, env, out = run
    page = tmp_path / "report.html"
    assert report(env, out, "--html", page).returncode == 1
    seen = visit(page, tmp_path)
    assert pageRequests(seen.requests) == [] and consoleErrors(seen.log) == []
    assert 'data-i="' in seen.dom


def test_html_report_bad_target_is_one_line(run, tmp_path):
    root, env, out = run
    done = report(env, out, "--html", tmp_path / "missing" / "r.html")
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "does not exist" in done.stderr


def test_html_report_plots_a_sweep(run):
    root, env, _ = run
    out = root / "sweep"
    done = pipetask(
        env, "run", "statsWriter", root / "repo", "--id", "visit=1", "--output", out,
        "--sweep", "stats.numSigmaClip=2^3^4",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    page = root / "sweep.html"
    assert report(env, out, "--html", page).returncode == 0
    html = page.read_text(encoding="utf-8")
    plot = re.search(r'aria-label="imageStats mean">(.*?)</svg>', html).group(1)
    assert "stats.numSigmaClip" in plot and plot.count("<circle") == 3 * 2  # 3 values x 2 CCDs
    assert plot.count("<polyline") == 2


def test_html_report_of_runs_of_two_tasks_into_one_output(run):
    """The stored graph is the last run's: earlier runs' tasks still get their node, and
    an earlier run's quanta are never given the inputs of the last graph's quanta."""
    root, env, _ = run
    out = root / "two-tasks"
    for task, visits in (("statsWriter", "1"), ("exampleTask", "1..2"), ("statsWriter", "2")):
        done = pipetask(env, "run", task, root / "repo", "--id", f"visit={visits}", "--output", out)
        assert done.returncode == 0, done.stderr
    page = root / "two-tasks.html"
    assert report(env, out, "--html", page).returncode == 0
    html = page.read_text(encoding="utf-8")
    nodes = re.findall(r'<g class="node"><title>(\w+): (\d+) ok', html)
    assert nodes == [("statsWriter", "4"), ("exampleTask", "4")]
    quanta = json.loads(re.search(r'id="quanta">(.*?)</script>', html).group(1))
    stats = {q["id"]: q for q in quanta if q["label"] == "statsWriter"}
    for ccd in (0, 1):
        first, last = stats[f"visit=1 ccd={ccd}"], stats[f"visit=2 ccd={ccd}"]
        assert last["inputs"] == [["raw", f"raw/v2/raw_v2_c{ccd}.fits"]]
        assert first["inputs"] == []  # not in the stored graph: unknown, not visit 2's
        assert first["outputs"] == [["imageStats", f"imageStats/visit=1/ccd={ccd}.json"]]
