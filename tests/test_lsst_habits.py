"""An LSST gen2 user's files and habits, through the installed ``pipetask`` command.

The talk's ``debug.py``, ``-L DEBUG``, the original's options (``--configfile``, ``@file``,
``--rerun``, ``--clobber-output``, ``--clobber-versions``, ``--profile``), retargets by
import path, ``--file`` on camera files, ``MaskedImage(path)``. Figures are checked against
the independent NumPy reference of ``test_run_cli``.
"""

from __future__ import annotations

import json
import pstats
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
from _shared_data import makeSynthRepo, obsTestRaws
from test_run_cli import (
    DEFAULT,
    FILTERS,
    _errors,
    clippedReference,
    lines,
    loggedStats,
    output,
    pipetask,
    pixels,
    rawFile,
    shown,
    statsLines,
    synthOverrides,
    synthStats,
)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

#: The talk's debug.py, exactly as the talk has it.
TALK_DEBUG_PY = """import lsstDebug
def DebugInfo(name):
    di = lsstDebug.getInfo(name)        # N.b. lsstDebug.Info(name) would call us recursively
    if name == "lsst.pipe.tasks.exampleCmdLineTask":
        di.display = 1

    return di

lsstDebug.Info = DebugInfo
"""


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    """A ``test`` camera repository of the three real obs_test raws."""
    root = tmp_path_factory.mktemp("lsst") / "repo"
    proc = pipetask("ingest", root, *obsTestRaws(), "--camera", "test")
    assert proc.returncode == 0, output(proc)
    return root


@pytest.fixture(scope="module")
def synthRepo(tmp_path_factory) -> Path:
    return makeSynthRepo(tmp_path_factory.mktemp("lsstsynth") / "repo", visits=1, ccds=2)


def statsOf(proc: subprocess.CompletedProcess) -> list[tuple[str, ...]]:
    return [loggedStats(m) for m in statsLines(proc.stderr)]


# -- --file: the camera is recognised and its overrides apply -------------------------------------


def test_file_on_obs_test_images_prints_the_repository_figures(repo, tmp_path):
    exposure = rawFile(3).parent.parent / "exposure" / "exp_v3_fr.fits.gz"
    proc = pipetask(
        "run", "exampleTask", "--file", rawFile(1), "--file", exposure, cwd=tmp_path
    )  # fmt: skip
    assert proc.returncode == 0, output(proc)
    fromRepo = pipetask("run", "exampleTask", repo, "--id", "visit=1^3")
    assert fromRepo.returncode == 0, output(fromRepo)
    assert statsOf(proc) == statsOf(fromRepo)  # both files ran (--file is repeatable)
    assert statsOf(proc) == [shown(clippedReference(v, *DEFAULT)) for v in (1, 3)]
    said = [t for t in proc.stderr.splitlines() if "camera 'test'" in t]
    assert len(said) == 2 and "data ID {visit: 3, filter: 'r'}" in said[1], output(proc)
    assert "Processing data ID {'visit': 1, 'filter': 'g', 'file': 'raw_v1_fg.fits.gz'}" in (
        proc.stderr
    )
    assert "2 of 2 files succeeded" in proc.stderr


def test_file_on_a_synth_raw_applies_the_synth_overrides(synthRepo, tmp_path):
    raw = synthRepo / "raw" / "v1" / "raw_v1_c1.fits"
    proc = pipetask("run", "exampleTask", "--file", raw, cwd=tmp_path)
    assert proc.returncode == 0, output(proc)
    fromRepo = pipetask("run", "exampleTask", synthRepo, "--id", "visit=1", "ccd=1")
    assert statsOf(proc) == statsOf(fromRepo) == [synthStats(raw, *synthOverrides())]
    assert "camera 'synth'" in proc.stderr and "synth/exampleTask.toml" in proc.stderr
    shownConfig = pipetask("run", "exampleTask", "--file", raw, "--show", "config=numIter")
    assert f"stats.numIter = {synthOverrides()[1]}" in shownConfig.stdout


def test_file_no_camera_recognises_says_so(tmp_path):
    from astropy.io import fits

    path = tmp_path / "anything.fits"
    data = np.asarray(pixels(2)[:4000], np.float32).reshape(40, 100)
    fits.PrimaryHDU(data).writeto(path)
    proc = pipetask("run", "exampleTask", "--file", path, cwd=tmp_path)
    assert proc.returncode == 0, output(proc)
    assert "no installed camera recognises it; no camera overrides apply" in proc.stderr


def test_several_files_write_one_output_directory_each(tmp_path):
    out = tmp_path / "out"
    proc = pipetask(
        "run", "statsWriter", "--file", rawFile(1), "--file", rawFile(2), "--output", out
    )
    assert proc.returncode == 0, output(proc)
    for visit in (1, 2):
        values = json.loads((out / rawFile(visit).name[:-8] / "imageStats.json").read_text())
        got = [values[k] for k in ("mean", "meanErr", "stdDev", "stdDevErr")]
        np.testing.assert_allclose(got, clippedReference(visit, *DEFAULT), rtol=1e-9)
    same = pipetask("run", "exampleTask", "--file", rawFile(1), "--file", rawFile(1))
    assert same.returncode == 2 and "more than once" in same.stderr


# -- the talk's debug.py ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "jobs"),
    [("cwd", []), ("PYTHONPATH", []), ("cwd", ["-j", "2"])],
    ids=["working directory", "$PYTHONPATH", "-j 2"],
)
def test_the_talks_debug_py_works_as_written(repo, tmp_path, where, jobs):
    home = tmp_path / "mydebug"
    home.mkdir()
    (home / "debug.py").write_text(TALK_DEBUG_PY)
    out = tmp_path / "out"
    env = {"PYTHONPATH": str(home)} if where == "PYTHONPATH" else {}
    proc = pipetask(
        "run", "exampleTask", repo, "--id", "visit=1^2", "--output", out, "--debug", *jobs,
        cwd=home if where == "cwd" else tmp_path, env=env,
    )  # fmt: skip
    assert proc.returncode == 0, output(proc)
    assert f"debug variables from {home / 'debug.py'}" in proc.stderr
    pngs = sorted((out / "display").glob("*.png"))
    assert len(pngs) == 2, output(proc)
    assert all(p.read_bytes()[:8] == PNG_SIGNATURE for p in pngs)
    # Without --debug the same file does nothing.
    quiet = pipetask(
        "run", "exampleTask", repo, "--id", "visit=2", "--output", tmp_path / "o2", cwd=home
    )
    assert quiet.returncode == 0 and not (tmp_path / "o2" / "display").exists()


def test_lsst_debug_module_reads_and_replaces_info():
    script = (
        "import lsstDebug\nfrom pipetask import debug\n"
        "assert lsstDebug.Info('x').display is False\n"
        "def mine(name):\n    di = lsstDebug.getInfo(name)\n    di.frame = 3\n    return di\n"
        "lsstDebug.Info = mine\n"
        "assert debug.Info is mine and debug.Info('y').frame == 3\n"
        "assert lsstDebug.getDebugFrame({'calexp': 2}, 'calexp') == 2\n"
        "assert lsstDebug.getDebugFrame(True, 'calexp') is None\n"
        "print('ok')\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.stdout == "ok\n", proc.stderr


@pytest.mark.parametrize(
    ("table", "refused"), [("exampleTsk", True), ("exampleTask.stat", True), ("isr", False)]
)
def test_misspelt_debug_table_is_reported(repo, tmp_path, table, refused):
    path = tmp_path / "debug.toml"
    path.write_text(f"[{table}]\ndisplay = true\n")
    proc = pipetask(
        "run", "exampleTask", repo, "--id", "visit=1", "--output", tmp_path / "out",
        "--debug-file", path,
    )  # fmt: skip
    if refused:
        assert proc.returncode == 2, output(proc)
        (line,) = lines(proc.stderr)
        expected = "exampleTask" if table == "exampleTsk" else "exampleTask.stats"
        assert line.endswith(f"[{table}] names no task of this run (did you mean [{expected}]?)")
    else:
        assert proc.returncode == 0, output(proc)
        assert f"[{table}] names no task of this run; its variables are unused" in proc.stderr


# -- -L DEBUG --------------------------------------------------------------------------------------


def iterationsReference(visit: int) -> list[tuple[int, str, str]]:
    """(pixels kept, mean, stdDev) of each clipping iteration, by plain NumPy."""
    x = pixels(visit)
    q1, median, q3 = np.percentile(x, [25, 50, 75])
    kept = x[np.abs(x - median) <= DEFAULT[0] * 0.741301109252802 * (q3 - q1)]
    found = []
    for i in range(DEFAULT[1]):
        if i:
            kept = x[np.abs(x - kept.mean()) <= DEFAULT[0] * kept.std(ddof=1)]
        found.append((kept.size, f"{kept.mean():.4f}", f"{kept.std(ddof=1):.4f}"))
    return found


def test_debug_level_explains_what_the_run_does(repo, tmp_path):
    out = tmp_path / "out"
    proc = pipetask("run", "statsWriter", repo, "--id", "visit=1", "--output", out, "-L", "DEBUG")
    assert proc.returncode == 0, output(proc)
    text = proc.stderr
    assert "pipetask: no camera config override file" in text  # the optional files it looked for
    assert "pipetask: selected {visit: 1, filter: 'g'}" in text
    assert "pipetask: executor serial (-j 1)" in text
    read = re.search(r"pipetask\.butler: read raw \{visit: 1, filter: 'g'\}: (\S+) \((\d+) bytes\)"
                     r" in [\d.]+ s", text)  # fmt: skip
    assert read and int(read[2]) == Path(read[1]).stat().st_size, text
    wrote = re.search(r"pipetask\.butler: wrote imageStats \{visit: 1, filter: 'g'\}: (\S+) "
                      r"\((\d+) bytes\)", text)  # fmt: skip
    assert (
        wrote and int(wrote[2]) == Path(wrote[1]).stat().st_size and out in Path(wrote[1]).parents
    )
    assert re.search(r"statsWriter: runDataRefStartUtc=\S+; runDataRefStartWallTime=", text)
    assert re.search(r"statsWriter\.stats: runEndUtc=.*; runEndCpuTime=[\d.]+; ", text)
    logged = re.findall(
        r"statsWriter\.stats: clipping iteration (\d): (\d+) pixels kept; mean=(\S+); stdDev=(\S+)",
        text,
    )
    assert [(int(n), m, s) for _, n, m, s in logged] == iterationsReference(1)
    # Without -L DEBUG none of it.
    plain = pipetask("run", "exampleTask", repo, "--id", "visit=1")
    assert "clipping iteration" not in plain.stderr and "pipetask.butler" not in plain.stderr


def test_debug_for_one_subtask_shows_only_its_detail(repo):
    proc = pipetask("run", "exampleTask", repo, "--id", "visit=3", "-L", "exampleTask.stats=DEBUG")
    assert proc.returncode == 0, output(proc)
    detail = [t for t in proc.stderr.splitlines() if "runStartUtc" in t or "iteration" in t]
    assert detail and all(t.startswith("exampleTask.stats: ") for t in detail)
    assert f"clipping iteration 1: {iterationsReference(3)[1][0]} pixels kept" in (proc.stderr)
    assert "runDataRefStart" not in proc.stderr  # exampleTask itself stays at INFO
    assert "pipetask.butler" not in proc.stderr and "selected" not in proc.stderr


def test_parallel_console_lines_carry_their_data_id(repo):
    proc = pipetask("run", "exampleTask", repo, "--id", "-j", "2")
    assert proc.returncode == 0, output(proc)
    found = {}
    for line in proc.stderr.splitlines():
        m = re.match(r"exampleTask\.stats \(visit=(\d) filter=(\w)\): clipped mean=(\S+);", line)
        if m:
            assert FILTERS[int(m[1])] == m[2]
            found[int(m[1])] = m[3]
    assert found == {v: shown(clippedReference(v, *DEFAULT))[0] for v in FILTERS}


# -- options of the original -------------------------------------------------------------


def test_configfile_is_an_alias_of_config_file(repo, tmp_path):
    path = tmp_path / "c.toml"
    path.write_text("[stats]\nnumIter = 5\n")
    proc = pipetask("run", "exampleTask", repo, "--configfile", path, "--show", "config=numIter")
    assert proc.returncode == 0, output(proc)
    assert "stats.numIter = 5" in lines(proc.stdout)


def test_argument_files_hold_several_options_a_line_with_comments(repo, tmp_path):
    args = tmp_path / "args.txt"
    args.write_text(
        "# the talk's habits\n"
        "--id visit=2   # one image\n"
        "\n"
        '-c stats.numIter=1 "stats.numSigmaClip=2.5"\n'
    )
    more = tmp_path / "more.txt"
    more.write_text("--show config=numSigmaClip data run\n")
    proc = pipetask("run", "exampleTask", repo, f"@{args}", f"@{more}")
    assert proc.returncode == 0, output(proc)
    assert "stats.numSigmaClip = 2.5" in lines(proc.stdout)
    assert "visit=2 filter=g" in lines(proc.stdout)
    assert statsOf(proc) == [shown(clippedReference(2, 2.5, 1))]
    missing = pipetask("run", "exampleTask", repo, f"@{tmp_path / 'nope.txt'}")
    assert missing.returncode == 2 and "nope.txt" in missing.stderr
    (tmp_path / "bad.txt").write_text('-c "open\n')
    bad = pipetask("run", "exampleTask", repo, f"@{tmp_path / 'bad.txt'}")
    assert bad.returncode == 2 and "No closing quotation" in bad.stderr


def test_rerun_writes_under_the_repository_chained_to_it(repo):
    first = pipetask("run", "statsWriter", repo, "--id", "visit=1", "--rerun", "mine")
    assert first.returncode == 0, output(first)
    mine = repo / "rerun" / "mine"
    assert (mine / "imageStats" / "visit=1" / "filter=g.json").is_file()
    assert tomllib.loads((mine / "repo.toml").read_text())["parents"] == ["../.."]
    chained = pipetask("run", "statsWriter", repo, "--id", "visit=2", "--rerun", "mine:yours")
    assert chained.returncode == 0, output(chained)
    yours = repo / "rerun" / "yours"
    assert tomllib.loads((yours / "repo.toml").read_text())["parents"] == ["../mine"]
    # An existing rerun keeps the input it was made from: visit 1 is found through "mine".
    again = pipetask("run", "statsWriter", repo, "--id", "visit=1", "--rerun", "yours",
                     "--show", "data")  # fmt: skip
    assert again.returncode == 0 and lines(again.stdout) == ["visit=1 filter=g"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rerun", "a:b:c"], "invalid argument for --rerun: ['a', 'b', 'c']"),
        (["--rerun", "a", "--output", "x"], "cannot specify both --output and --rerun"),
        (["--clobber-output"], "--clobber-output is only valid with --output or --rerun"),
    ],
)
def test_original_option_errors(repo, args, message):
    proc = pipetask("run", "statsWriter", repo, "--id", *args)
    assert proc.returncode == 2, output(proc)
    assert proc.stderr.startswith(f"pipetask: error: {message}"), output(proc)
    assert "Traceback" not in proc.stderr


def test_clobber_output_removes_the_output_first_never_the_input(repo, tmp_path):
    out = tmp_path / "out"
    assert pipetask("run", "statsWriter", repo, "--id", "visit=1", "--output", out).returncode == 0
    stale = out / "imageStats" / "visit=1" / "filter=g.json"
    assert stale.is_file()
    proc = pipetask(
        "run", "statsWriter", repo, "--id", "visit=3", "--output", out, "--clobber-output"
    )
    assert proc.returncode == 0, output(proc)
    assert not stale.exists()
    assert (out / "imageStats" / "visit=3" / "filter=r.json").is_file()
    assert not list(tmp_path.glob("out.clobbered-*"))
    same = pipetask("run", "statsWriter", repo, "--id", "--output", repo, "--clobber-output")
    assert same.returncode == 2
    # Refused before --clobber-output is looked at: an output is never the input.
    assert "is the input repository, which a run with --output never modifies" in same.stderr
    assert (repo / "repo.toml").is_file() and (repo / "raw").is_dir()
    notRepo = tmp_path / "notes"
    notRepo.mkdir()
    (notRepo / "precious.txt").write_text("keep")
    refused = pipetask("run", "statsWriter", repo, "--id", "--output", notRepo, "--clobber-output")
    assert refused.returncode == 2 and "not a pipetask repository" in refused.stderr
    assert (notRepo / "precious.txt").read_text() == "keep"
    # The output "out" is the parent of a repository that is now the input: never removed.
    child = tmp_path / "child"
    made = pipetask("run", "statsWriter", out, "--id", "visit=3", "--output", child)
    assert made.returncode == 0, output(made)
    parent = pipetask("run", "statsWriter", child, "--id", "--output", out, "--clobber-output")
    assert parent.returncode == 2 and "is a parent of the input" in parent.stderr, output(parent)
    assert (out / "imageStats" / "visit=3" / "filter=r.json").is_file()


def test_clobber_versions_replaces_only_the_package_versions(repo, tmp_path):
    out = tmp_path / "out"
    assert pipetask("run", "statsWriter", repo, "--id", "visit=1", "--output", out).returncode == 0
    packages = out / "config" / "packages.json"
    versions = json.loads(packages.read_text())
    packages.write_text(json.dumps({**versions, "numpy": "0.0.1"}))
    refused = pipetask("run", "statsWriter", repo, "--id", "visit=1", "--output", out)
    assert refused.returncode == 2 and "numpy: 0.0.1 != " in refused.stderr, output(refused)
    assert "--clobber-versions" in refused.stderr
    done = pipetask(
        "run", "statsWriter", repo, "--id", "visit=1", "--output", out, "--clobber-versions"
    )
    assert done.returncode == 0, output(done)
    assert json.loads(packages.read_text())["numpy"] == versions["numpy"]
    # The config is still compared.
    differs = pipetask(
        "run", "statsWriter", repo, "--id", "visit=1", "--output", out, "--clobber-versions",
        "-c", "stats.numIter=3",
    )  # fmt: skip
    assert differs.returncode == 2, output(differs)
    assert re.search(r"stats\.numIter: [23] != [23]", differs.stderr), output(differs)


def test_profile_writes_a_cprofile_of_the_processing_loop(repo, tmp_path):
    path = tmp_path / "run.prof"
    proc = pipetask("run", "exampleTask", repo, "--id", "visit=1", "--profile", path)
    assert proc.returncode == 0, output(proc)
    assert f"profile of the processing loop written to {path}" in proc.stderr
    functions = {name for _, _, name in pstats.Stats(str(path)).stats}
    assert "runDataRef" in functions and "parse_args" not in functions
    isDir = pipetask("run", "exampleTask", repo, "--id", "visit=1", "--profile", tmp_path)
    assert isDir.returncode == 2 and "is a directory" in isDir.stderr, output(isDir)
    onFile = pipetask("run", "exampleTask", "--file", rawFile(1), "--profile", path, "-L", "DEBUG")
    assert re.search(rf"read raw .*: {re.escape(str(rawFile(1)))} \(\d+ bytes\)", onFile.stderr)
    assert onFile.returncode == 0 and "runDataRef" in {
        n for _, _, n in pstats.Stats(str(path)).stats
    }


# -- retargets, bad --id, images ---------------------------------------------------------


@pytest.mark.parametrize(
    "how",
    [
        ["-c", "stats._target=pipetask_stats.simple.SimpleStatsTask"],
        ["-c", "stats=pipetask_stats.simple.SimpleStatsTask"],
        ["-C", "{toml}"],
    ],
    ids=["-c _target", "-c field", "-C file"],
)
def test_retarget_by_lsst_import_path(repo, tmp_path, how):
    toml = tmp_path / "retarget.toml"
    toml.write_text('[stats]\n_target = "pipetask_stats.simple.SimpleStatsTask"\n')
    args = [a.format(toml=toml) for a in how]
    proc = pipetask("run", "exampleTask", repo, "--id", "visit=2", *args)
    assert proc.returncode == 0, output(proc)
    assert [m["kind"] for m in statsLines(proc.stderr)] == ["simple"]


@pytest.mark.parametrize("target", ["statsWriter", "pipetask_example.stats_writer.StatsWriterTask"])
def test_command_line_task_is_no_subtask_target(repo, target):
    proc = pipetask("run", "exampleTask", repo, "--id", "visit=1", "-c", f"stats._target={target}")
    assert proc.returncode == 2, output(proc)
    (line,) = lines(proc.stderr)
    assert "'statsWriter' is a command-line task and cannot be the target of a subtask" in line
    # Every installed non-command-line task is listed (other plugins add their own).
    listed = line.partition("subtask targets: ")[2].split(", ")
    assert {"sigmaClippedStats", "simpleStats"} <= set(listed)
    assert "statsWriter" not in listed and "exampleTask" not in listed


@pytest.mark.parametrize("bad", ["visit=abc", "nokey=1", "visit=3..1"])
def test_bad_id_is_an_error_even_for_show_config(repo, bad):
    proc = pipetask("run", "exampleTask", repo, "--id", bad, "--show", "config")
    assert proc.returncode == 2, output(proc)
    assert proc.stdout == ""
    assert proc.stderr.startswith("pipetask: error: ") and "Traceback" not in proc.stderr


def test_masked_image_and_exposure_read_a_file_as_in_the_talk(tmp_path):
    script = tmp_path / "stats.py"
    script.write_text(
        "import sys\n"
        "from pipetask_image import Exposure, MaskedImage\n"
        "from pipetask_stats import SigmaClippedStatsTask\n"
        "mi = MaskedImage(sys.argv[1])\n"
        "exposure = Exposure(sys.argv[1])\n"
        "assert (exposure.getMaskedImage().image == mi.image).all()\n"
        "print(exposure.getFilter(), SigmaClippedStatsTask().run(mi).mean)\n"
    )
    proc = subprocess.run(
        [sys.executable, script, str(rawFile(3))], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    filterName, mean = proc.stdout.split()
    assert filterName == "r"
    assert float(mean) == pytest.approx(clippedReference(3, *DEFAULT)[0], rel=1e-12)
    assert _errors(pixels(3))[0] != pytest.approx(float(mean), rel=1e-12)  # clipping mattered
