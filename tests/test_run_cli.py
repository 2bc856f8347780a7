"""``pipetask run`` end to end, through the installed command, on real obs_test raws.

Every test runs the real ``pipetask`` executable in a subprocess and checks its exit
status, what it prints and the files it writes. The statistics it logs and writes are
checked against an independent NumPy implementation of the algorithm of SPEC section 7,
so that "the camera override applied" means "the numbers changed as they should", not
only "the config says so".
"""

from __future__ import annotations

import fcntl
import functools
import hashlib
import importlib.metadata
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
from _probe_plugin import sigintDefault
from _shared_data import REPO_ROOT, makeSynthRepo, obsTestRaws

PIPETASK = str(Path(sys.executable).parent / "pipetask")
EXAMPLES = REPO_ROOT / "examples"

#: visit -> filter of the three obs_test raws.
FILTERS = {1: "g", 2: "g", 3: "r"}
#: The task defaults: obs_test, like LSST's, has no override files for these tasks.
DEFAULT = (3.0, 2)
STATS_LINE = re.compile(
    r"^(?P<logger>\w+)\.stats: (?P<kind>clipped|simple) mean=(?P<mean>\S+); "
    r"meanErr=(?P<meanErr>\S+); stdDev=(?P<stdDev>\S+); stdDevErr=(?P<stdDevErr>\S+)$"
)
PROCESSING = re.compile(r"^(\w+): Processing data ID \{'visit': (\d+), 'filter': '(\w)'\}$")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# -- helpers ---------------------------------------------------------------------------------


def pipetask(*args, cwd=None, env=None, timeout=120) -> subprocess.CompletedProcess:
    """Run the installed ``pipetask`` with ``args``; the $PIPE_*_ROOT variables are cleared."""
    fullEnv = {k: v for k, v in os.environ.items() if not k.startswith("PIPE_")}
    fullEnv.update(env or {})
    return subprocess.run(
        [PIPETASK, *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=fullEnv,
        timeout=timeout,
    )


def output(proc: subprocess.CompletedProcess) -> str:
    return f"status {proc.returncode}\n--- stdout\n{proc.stdout}--- stderr\n{proc.stderr}"


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def rawFile(visit: int) -> Path:
    return next(p for p in obsTestRaws() if p.name == f"raw_v{visit}_f{FILTERS[visit]}.fits.gz")


@functools.cache
def pixels(visit: int) -> np.ndarray:
    """The finite pixels of an obs_test raw, as float32 widened to float64."""
    from astropy.io import fits

    values = fits.getdata(rawFile(visit)).astype(np.float32).astype(np.float64).ravel()
    return values[np.isfinite(values)]


def rawShape(visit: int) -> tuple[int, int]:
    from astropy.io import fits

    return fits.getdata(rawFile(visit)).shape


def _errors(kept: np.ndarray) -> tuple[float, float, float, float]:
    n = kept.size
    mean, var = kept.mean(), kept.var(ddof=1)
    stdDev = np.sqrt(var)
    varVar = 2.0 * (n - 1) * var**2 / n**2
    return (
        float(mean),
        float(np.sqrt(var / n)),
        float(stdDev),
        float(0.5 * np.sqrt(varVar) / stdDev),
    )


@functools.cache
def clippedReference(visit: int, numSigmaClip: float, numIter: int) -> tuple[float, ...]:
    """mean, meanErr, stdDev, stdDevErr by SPEC section 7's algorithm (a plain raw has no
    mask, so every finite pixel is a candidate)."""
    x = pixels(visit)
    q1, median, q3 = np.percentile(x, [25, 50, 75])
    kept = x[np.abs(x - median) <= numSigmaClip * 0.741301109252802 * (q3 - q1)]
    for _ in range(1, numIter):
        mean, std = kept.mean(), kept.std(ddof=1)
        kept = x[np.abs(x - mean) <= numSigmaClip * std]
    return _errors(kept)


@functools.cache
def simpleReference(visit: int) -> tuple[float, ...]:
    return _errors(pixels(visit))


def shown(values: tuple[float, ...]) -> tuple[str, ...]:
    """The values as the log lines print them."""
    return tuple(f"{v:.2f}" for v in values)


def statsLines(text: str) -> list[re.Match]:
    return [m for m in map(STATS_LINE.match, text.splitlines()) if m]


def loggedStats(match: re.Match) -> tuple[str, ...]:
    return tuple(match[k] for k in ("mean", "meanErr", "stdDev", "stdDevErr"))


def processedVisits(text: str, task: str = "exampleTask") -> list[int]:
    """Visits of the ``Processing data ID`` lines, in order; each must name its filter."""
    visits = []
    for m in map(PROCESSING.match, text.splitlines()):
        if m and m[1] == task:
            assert m[3] == FILTERS[int(m[2])], m[0]
            visits.append(int(m[2]))
    return visits


def treeHash(root: Path) -> str:
    """A digest of every path, symlink target and file content under ``root``."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        if path.is_symlink():
            digest.update(os.readlink(path).encode())
        elif path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def readJson(path: Path) -> dict:
    return json.loads(path.read_text())


def statsFile(out: Path, visit: int) -> Path:
    return out / "imageStats" / f"visit={visit}" / f"filter={FILTERS[visit]}.json"


def metadataFile(out: Path, visit: int, task: str = "statsWriter") -> Path:
    return out / "metadata" / task / f"visit={visit}" / f"filter={FILTERS[visit]}.json"


def assertStatsFile(out: Path, visit: int, reference: tuple[float, ...]) -> None:
    values = readJson(statsFile(out, visit))
    assert set(values) == {"mean", "meanErr", "stdDev", "stdDevErr"}
    got = [values[k] for k in ("mean", "meanErr", "stdDev", "stdDevErr")]
    np.testing.assert_allclose(got, reference, rtol=1e-9)


def registryRows(repo: Path, table: str) -> list[tuple]:
    with sqlite3.connect(repo / "registry.sqlite3") as db:
        return sorted(db.execute(f"SELECT * FROM {table}").fetchall(), key=repr)


def cameraFile(relative: str) -> tuple[Path, int]:
    """An obs_synth camera override file and the line that sets ``numIter`` in it."""
    import obs_synth

    path = Path(obs_synth.__file__).parent / "config" / relative
    number = next(
        i for i, text in enumerate(path.read_text().splitlines(), 1) if text.startswith("numIter")
    )
    return path, number


# -- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def obsRepo(tmp_path_factory) -> Path:
    """A ``test`` camera repository ingested, through the CLI, from the three real raws."""
    repo = tmp_path_factory.mktemp("obs") / "repo"
    proc = pipetask("ingest", repo, *obsTestRaws(), "--camera", "test")
    assert proc.returncode == 0, output(proc)
    assert "3 ingested" in proc.stdout + proc.stderr, output(proc)
    return repo


@pytest.fixture(scope="module")
def fullRun(obsRepo) -> subprocess.CompletedProcess:
    """``exampleTask`` over every data ID of the obs_test repository."""
    return pipetask("run", "exampleTask", obsRepo, "--id")


@pytest.fixture(scope="module")
def writerRun(obsRepo, tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path, str, str]:
    """``statsWriter --id --output OUT``, with the input tree hashed before and after."""
    out = tmp_path_factory.mktemp("writer") / "out"
    before = treeHash(obsRepo)
    proc = pipetask("run", "statsWriter", obsRepo, "--id", "--output", out)
    return proc, out, before, treeHash(obsRepo)


@pytest.fixture()
def overrideFiles(tmp_path) -> dict[str, Path]:
    files = {
        "f": "[stats]\nnumIter = 7\n",
        "g": "[stats]\nnumIter = 9\nnumSigmaClip = 4.0\n",
        "h": "[stats]\nnumIter = 6\n",
    }
    paths = {}
    for name, text in files.items():
        paths[name] = tmp_path / f"{name}.toml"
        paths[name].write_text(text)
    return paths


# -- --id --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tokens", "visits"),
    [
        (["visit=1..3"], [1, 2, 3]),
        (["visit=1^3"], [1, 3]),
        (["visit=1..3:2"], [1, 3]),
        (["filter=g"], [1, 2]),
        (["filter=g^r", "visit=2..3"], [2, 3]),
        ([], [1, 2, 3]),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) and v and isinstance(v[0], str) else None,
)
def test_id_forms_show_data(obsRepo, tokens, visits):
    proc = pipetask("run", "exampleTask", obsRepo, "--id", *tokens, "--show", "data")
    assert proc.returncode == 0, output(proc)
    assert lines(proc.stdout) == [f"visit={v} filter={FILTERS[v]}" for v in visits]
    assert processedVisits(proc.stderr) == [], "--show data without run must process nothing"


def test_several_ids_select_the_union_without_duplicates(obsRepo):
    proc = pipetask(
        "run", "exampleTask", obsRepo, "--id", "visit=3", "--id", "filter=g", "--id", "visit=1",
        "--show", "data", "run",
    )  # fmt: skip
    assert proc.returncode == 0, output(proc)
    shownLines = lines(proc.stdout)
    assert len(shownLines) == len(set(shownLines)) == 3
    assert shownLines[0] == "visit=3 filter=r"  # the first --id's data IDs come first
    assert set(shownLines) == {f"visit={v} filter={f}" for v, f in FILTERS.items()}
    processed = processedVisits(proc.stderr)
    assert processed == [int(s.split()[0].split("=")[1]) for s in shownLines]
    assert "3 succeeded, 0 failed, 0 skipped of 3 data IDs" in proc.stderr


def test_no_id_warns_and_processes_nothing(obsRepo):
    proc = pipetask("run", "exampleTask", obsRepo)
    assert proc.returncode == 0, output(proc)
    assert "no --id given" in proc.stderr
    assert "Not running the task because there is no data to process" in proc.stderr
    assert processedVisits(proc.stderr) == []
    assert not statsLines(proc.stderr)


# -- a plain run -----------------------------------------------------------------------------


def test_run_logs_each_data_id_with_its_statistics(fullRun):
    assert fullRun.returncode == 0, output(fullRun)
    assert processedVisits(fullRun.stderr) == [1, 2, 3]
    stats = statsLines(fullRun.stderr)
    assert [m["kind"] for m in stats] == ["clipped"] * 3
    assert all(m["logger"] == "exampleTask" for m in stats)
    for visit, match in zip((1, 2, 3), stats, strict=True):
        assert loggedStats(match) == shown(clippedReference(visit, *DEFAULT)), match[0]
    # Each stats line follows its own Processing line.
    order = [
        "P" if PROCESSING.match(line) else "S"
        for line in fullRun.stderr.splitlines()
        if PROCESSING.match(line) or STATS_LINE.match(line)
    ]
    assert order == ["P", "S"] * 3
    summary = lines(fullRun.stderr)[-1]
    assert re.fullmatch(
        r"pipetask: exampleTask: 3 succeeded, 0 failed, 0 skipped of 3 data IDs in [\d.]+ s",
        summary,
    ), summary


# -- config: camera overrides, -C, -c and --show ---------------------------------------------


def showConfig(repo: Path, *args: str, task: str = "exampleTask") -> tuple[str, dict]:
    """``--show config`` text and the TOML it parses to."""
    proc = pipetask("run", task, repo, "--show", "config", *args)
    assert proc.returncode == 0, output(proc)
    assert processedVisits(proc.stderr, task) == []
    return proc.stdout, tomllib.loads(proc.stdout)


def test_obs_test_applies_no_override_file_like_the_real_obs_test(obsRepo):
    text, config = showConfig(obsRepo)
    assert config["stats"]["numSigmaClip"] == DEFAULT[0]
    assert config["stats"]["numIter"] == DEFAULT[1]
    assert config["stats"]["badMaskPlanes"] == ["EDGE"]
    assert config["doFail"] is False
    assert config["stats"]["_target"] == "pipetask_stats.sigma_clipped:SigmaClippedStatsTask"
    assert "# Clip pixels farther than" in text  # docs come along as comments
    proc = pipetask("run", "exampleTask", obsRepo, "--show", "history=stats.numIter")
    assert proc.returncode == 0, output(proc)
    assert [row.split()[0] for row in lines(proc.stdout)[1:]] == ["2"]
    assert lines(proc.stdout)[1].rstrip().endswith("default")


@pytest.fixture(scope="module")
def smallSynthRepo(tmp_path_factory) -> Path:
    """A ``synth`` camera repository (two visits of three 32-pixel CCDs)."""
    return makeSynthRepo(tmp_path_factory.mktemp("synth") / "repo")


def synthOverrides() -> tuple[float, int]:
    """numSigmaClip, numIter after obs_synth's two override files, read from the files."""
    stats: dict = {}
    for relative in ("exampleTask.toml", "synth/exampleTask.toml"):
        stats.update(tomllib.loads(cameraFile(relative)[0].read_text())["stats"])
    return stats.get("numSigmaClip", DEFAULT[0]), stats.get("numIter", DEFAULT[1])


def test_show_config_applies_both_camera_files_in_order(smallSynthRepo):
    generic = tomllib.loads(cameraFile("exampleTask.toml")[0].read_text())["stats"]
    specific = tomllib.loads(cameraFile("synth/exampleTask.toml")[0].read_text())["stats"]
    assert generic["numIter"] != specific["numIter"]
    _, config = showConfig(smallSynthRepo)
    # config/exampleTask.toml, then config/synth/exampleTask.toml wins where both set a field.
    assert config["stats"]["numIter"] == specific["numIter"]
    assert config["stats"]["numSigmaClip"] == generic["numSigmaClip"]


def test_show_history_lists_every_source_in_order(smallSynthRepo, overrideFiles):
    proc = pipetask(
        "run", "exampleTask", smallSynthRepo, "--show", "history=stats.numIter",
        "-C", overrideFiles["f"], "-c", "stats.numIter=4",
    )  # fmt: skip
    assert proc.returncode == 0, output(proc)
    rows = lines(proc.stdout)
    assert rows[0] == "stats.numIter"
    common, commonLine = cameraFile("exampleTask.toml")
    specific, specificLine = cameraFile("synth/exampleTask.toml")
    numIter = {
        path: tomllib.loads(path.read_text())["stats"]["numIter"] for path in (common, specific)
    }
    expected = [
        ("2", "default"),
        (str(numIter[common]), f"{common}:{commonLine}"),
        (str(numIter[specific]), f"{specific}:{specificLine}"),
        ("7", f"-C {overrideFiles['f']}:2"),
        ("4", "-c stats.numIter=4"),
    ]
    assert len(rows) == 1 + len(expected), output(proc)
    for row, (value, source) in zip(rows[1:], expected, strict=True):
        assert row.split()[0] == value, row
        assert row.rstrip().endswith(source), row


def synthStats(path: Path, numSigmaClip: float, numIter: int) -> tuple[str, ...]:
    """The statistics of a synth raw as logged, by the independent reference algorithm."""
    from astropy.io import fits

    values = fits.getdata(path).astype(np.float32).astype(np.float64).ravel()
    x = values[np.isfinite(values)]
    q1, median, q3 = np.percentile(x, [25, 50, 75])
    kept = x[np.abs(x - median) <= numSigmaClip * 0.741301109252802 * (q3 - q1)]
    for _ in range(1, numIter):
        kept = x[np.abs(x - kept.mean()) <= numSigmaClip * kept.std(ddof=1)]
    return shown(_errors(kept))


def test_camera_overrides_change_the_figures_of_a_run(smallSynthRepo):
    proc = pipetask("run", "exampleTask", smallSynthRepo, "--id", "visit=1", "ccd=0")
    assert proc.returncode == 0, output(proc)
    (match,) = statsLines(proc.stderr)
    raw = smallSynthRepo / "raw" / "v1" / "raw_v1_c0.fits"
    assert loggedStats(match) == synthStats(raw, *synthOverrides())
    assert synthOverrides() != DEFAULT


@pytest.mark.parametrize(
    ("order", "numIter", "numSigmaClip"),
    [
        (["-c", "stats.numIter=1", "-C", "{g}", "-c", "stats.numIter=5"], 5, 4.0),
        (["-c", "stats.numIter=5", "-C", "{g}"], 9, 4.0),
        (["-C", "{g}", "-c", "stats.numIter=1", "-C", "{h}"], 6, 4.0),
        (["-C", "{g}", "{h}", "-c", "stats.numSigmaClip=1.5"], 6, 1.5),
    ],
    ids=["c-C-c", "c-C", "C-c-C", "C two files then c"],
)
def test_c_and_C_apply_left_to_right(obsRepo, overrideFiles, order, numIter, numSigmaClip):
    args = [a.format(**{k: str(p) for k, p in overrideFiles.items()}) for a in order]
    _, config = showConfig(obsRepo, *args)
    assert config["stats"]["numIter"] == numIter
    assert config["stats"]["numSigmaClip"] == numSigmaClip


@pytest.mark.parametrize(
    "overrides",
    [
        [],
        ["-c", "stats.numSigmaClip=5", "-c", 'stats.badMaskPlanes=["EDGE","NO_DATA"]'],
        ["-c", "stats._target=simpleStats"],
    ],
    ids=["default", "overridden", "retargeted"],
)
def test_show_config_fed_back_through_C_is_the_same_config(obsRepo, tmp_path, overrides):
    first, config = showConfig(obsRepo, *overrides)
    saved = tmp_path / "saved.toml"
    saved.write_text(first)
    second, _ = showConfig(obsRepo, "-C", saved)
    assert second == first
    if overrides == []:
        assert config["stats"]["numIter"] == DEFAULT[1]
    elif "stats._target=simpleStats" in overrides:
        # Only the new target's fields: the simple statistics have none.
        assert config["stats"] == {"_target": "pipetask_stats.simple:SimpleStatsTask"}
        assert "numIter" not in first and "numSigmaClip" not in first
    else:
        assert config["stats"]["numSigmaClip"] == 5.0
        assert config["stats"]["badMaskPlanes"] == ["EDGE", "NO_DATA"]


def test_show_config_pattern_shows_only_matching_fields(obsRepo):
    proc = pipetask("run", "exampleTask", obsRepo, "--show", "config=numSigmaClip")
    assert proc.returncode == 0, output(proc)
    assert "stats.numSigmaClip = 3.0" in lines(proc.stdout)
    assert "# Clip pixels farther than this many standard deviations" in proc.stdout
    for other in ("numIter", "badMaskPlanes", "doFail", "_target"):
        assert other not in proc.stdout


def test_show_tasks_prints_the_tree_with_implementations(obsRepo):
    import pipetask_example.example_task as exampleModule
    import pipetask_stats.simple as simpleModule

    proc = pipetask("run", "exampleTask", obsRepo, "--show", "tasks")
    assert proc.returncode == 0, output(proc)
    assert lines(proc.stdout) == [
        "exampleTask: pipetask_example.example_task:ExampleTask",
        "  stats: pipetask_stats.sigma_clipped:SigmaClippedStatsTask",
    ]
    assert exampleModule.ExampleTask.ConfigClass().stats.target.__name__ == "SigmaClippedStatsTask"
    retargeted = pipetask(
        "run", "exampleTask", obsRepo, "--show", "tasks",
        "-C", EXAMPLES / "configs" / "retarget_simple.toml",
    )  # fmt: skip
    assert retargeted.returncode == 0, output(retargeted)
    assert lines(retargeted.stdout)[1] == "  stats: pipetask_stats.simple:SimpleStatsTask"
    assert simpleModule.SimpleStatsTask._DefaultName == "simpleStats"


def test_show_without_run_processes_nothing_and_needs_no_output(obsRepo):
    before = treeHash(obsRepo)
    proc = pipetask(
        "run", "statsWriter", obsRepo, "--id", "--show", "config", "data", "tasks",
    )  # fmt: skip
    assert proc.returncode == 0, output(proc)
    assert "visit=3 filter=r" in lines(proc.stdout)
    assert "statsWriter: pipetask_example.stats_writer:StatsWriterTask" in proc.stdout
    assert tomllib.loads(proc.stdout.split("statsWriter: ")[0])["stats"]["numSigmaClip"] == 3.0
    assert processedVisits(proc.stderr, "statsWriter") == []
    assert "succeeded" not in proc.stderr
    assert treeHash(obsRepo) == before


def test_show_data_run_prints_then_processes(obsRepo):
    proc = pipetask("run", "exampleTask", obsRepo, "--id", "visit=1^3", "--show", "data", "run")
    assert proc.returncode == 0, output(proc)
    assert lines(proc.stdout) == ["visit=1 filter=g", "visit=3 filter=r"]
    assert processedVisits(proc.stderr) == [1, 3]
    assert "2 succeeded, 0 failed, 0 skipped of 2 data IDs" in proc.stderr


@pytest.mark.parametrize(
    "retarget",
    [
        ["-C", str(EXAMPLES / "configs" / "retarget_simple.toml")],
        ["-c", "stats._target=simpleStats"],
    ],
    ids=["toml file", "-c"],
)
def test_retargeted_stats_run_the_simple_implementation(obsRepo, retarget):
    proc = pipetask("run", "exampleTask", obsRepo, "--id", "visit=2", *retarget)
    assert proc.returncode == 0, output(proc)
    stats = statsLines(proc.stderr)
    assert [m["kind"] for m in stats] == ["simple"]
    assert loggedStats(stats[0]) == shown(simpleReference(2))


def test_bad_mask_planes_example_file_applies(obsRepo):
    path = EXAMPLES / "configs" / "bad_mask_planes.toml"
    proc = pipetask(
        "run", "exampleTask", obsRepo, "-C", path,
        "--show", "config=badMaskPlanes", "history=badMaskPlanes",
    )  # fmt: skip
    assert proc.returncode == 0, output(proc)
    assert 'stats.badMaskPlanes = ["EDGE", "NO_DATA"]' in lines(proc.stdout)
    number = next(
        i for i, t in enumerate(path.read_text().splitlines(), 1) if t.startswith("badMaskPlanes")
    )
    assert lines(proc.stdout)[-1].endswith(f"-C {path}:{number}")


# -- logging -------------------------------------------------------------------------------------


def test_log_level_per_component_hides_only_that_component(obsRepo):
    proc = pipetask(
        "run", "exampleTask", obsRepo, "--id", "visit=1", "-L", "exampleTask.stats=WARN"
    )
    assert proc.returncode == 0, output(proc)
    assert processedVisits(proc.stderr) == [1]
    assert statsLines(proc.stderr) == []
    assert "1 succeeded" in proc.stderr


def test_global_log_level_error_hides_info_lines(obsRepo):
    proc = pipetask("run", "exampleTask", obsRepo, "--id", "visit=1", "-L", "ERROR")
    assert proc.returncode == 0, output(proc)
    assert proc.stderr == ""


def test_debug_log_level_adds_the_traceback_of_a_task_error(obsRepo):
    quiet = pipetask("run", "exampleTask", obsRepo, "--id", "visit=1", "-c", "doFail=true")
    loud = pipetask(
        "run", "exampleTask", obsRepo, "--id", "visit=1", "-c", "doFail=true", "-L", "DEBUG"
    )
    assert quiet.returncode == loud.returncode == 1, output(quiet) + output(loud)
    assert "Traceback" not in quiet.stderr
    assert "Traceback (most recent call last)" in loud.stderr
    assert 'raise TaskError("Raising TaskError by request' in loud.stderr


def _sourceLine(path: Path, fragment: str) -> int:
    return next(i for i, t in enumerate(path.read_text().splitlines(), 1) if fragment in t)


def test_longlog_shows_level_time_data_id_and_location(obsRepo):
    import pipetask_example.example_task as exampleModule

    proc = pipetask("run", "exampleTask", obsRepo, "--id", "visit=2", "--longlog")
    assert proc.returncode == 0, output(proc)
    number = _sourceLine(Path(exampleModule.__file__), 'self.log.info("Processing data ID')
    processing = [t for t in proc.stderr.splitlines() if "Processing data ID" in t]
    assert len(processing) == 1
    assert re.fullmatch(
        r"INFO +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)? exampleTask "
        r"\(\{'visit': 2, 'filter': 'g'\}\) "
        rf"\(example_task\.py:{number}\) - Processing data ID \{{'visit': 2, 'filter': 'g'\}}",
        processing[0],
    ), processing[0]
    stats = [t for t in proc.stderr.splitlines() if " exampleTask.stats " in t]
    assert len(stats) == 1 and "({'visit': 2, 'filter': 'g'})" in stats[0]
    assert stats[0].endswith(
        "clipped mean={}; meanErr={}; stdDev={}; stdDevErr={}".format(
            *shown(clippedReference(2, *DEFAULT))
        )
    )


def test_json_log_lines_and_log_file(obsRepo, tmp_path):
    logFile = tmp_path / "run.log"
    proc = pipetask(
        "run", "exampleTask", obsRepo, "--id", "filter=g",
        "--log-format", "json", "--log-file", logFile,
    )  # fmt: skip
    assert proc.returncode == 0, output(proc)
    records = [json.loads(line) for line in lines(proc.stderr)]  # every line is JSON
    assert all({"message", "logger", "level"} <= set(r) for r in records)
    stats = [r for r in records if r["logger"] == "exampleTask.stats"]
    assert [r["message"] for r in stats] == [
        "clipped mean={}; meanErr={}; stdDev={}; stdDevErr={}".format(
            *shown(clippedReference(v, *DEFAULT))
        )
        for v in (1, 2)
    ]
    assert [r["dataId"] for r in stats] == [{"visit": v, "filter": "g"} for v in (1, 2)]
    assert records[-1]["logger"] == "pipetask" and "2 succeeded" in records[-1]["message"]
    # The log file gets the same records.
    inFile = [json.loads(line) for line in lines(logFile.read_text())]
    assert [(r["logger"], r["message"]) for r in inFile] == [
        (r["logger"], r["message"]) for r in records
    ]


def test_log_file_with_console_format(obsRepo, tmp_path):
    logFile = tmp_path / "console.log"
    proc = pipetask("run", "exampleTask", obsRepo, "--id", "visit=3", "--log-file", logFile)
    assert proc.returncode == 0, output(proc)
    assert lines(logFile.read_text()) == lines(proc.stderr)
    assert processedVisits(logFile.read_text()) == [3]


# -- failures ----------------------------------------------------------------------------------


def test_failing_data_ids_each_log_one_line_and_set_the_exit_status(obsRepo):
    proc = pipetask("run", "exampleTask", obsRepo, "--id", "-c", "doFail=true")
    assert proc.returncode == 3, output(proc)
    assert "Traceback" not in proc.stderr
    assert processedVisits(proc.stderr) == [1, 2, 3]
    for visit, filterName in FILTERS.items():
        failed = [
            t
            for t in proc.stderr.splitlines()
            if t.startswith(
                f"pipetask: Failed on dataId={{'visit': {visit}, 'filter': '{filterName}'}}"
            )
        ]
        assert len(failed) == 1, output(proc)
        assert failed[0].endswith("TaskError: Raising TaskError by request (config.doFail=True)")
    assert "0 succeeded, 3 failed, 0 skipped of 3 data IDs" in proc.stderr


def test_doraise_stops_at_the_first_failure_with_its_traceback(obsRepo):
    proc = pipetask("run", "exampleTask", obsRepo, "--id", "-c", "doFail=true", "--doraise")
    assert proc.returncode == 1, output(proc)
    assert processedVisits(proc.stderr) == [1]
    assert "Traceback (most recent call last)" in proc.stderr
    assert "pipetask.errors.TaskError: Raising TaskError by request" in proc.stderr
    assert "0 succeeded, 1 failed, 0 skipped of 3 data IDs" in proc.stderr


@pytest.fixture(scope="module")
def missingRawRun(obsRepo, tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    """exampleTask over a copy of the repository whose visit 2 raw file was deleted."""
    repo = tmp_path_factory.mktemp("missing") / "repo"
    shutil.copytree(obsRepo, repo, ignore=shutil.ignore_patterns("runs"))
    (repo / "raw" / "raw_v2_fg.fits.gz").unlink()
    return pipetask("run", "exampleTask", repo, "--id"), repo


def test_missing_raw_file_fails_only_its_data_id(missingRawRun):
    proc, _ = missingRawRun
    assert proc.returncode == 1, output(proc)
    failed = [t for t in proc.stderr.splitlines() if t.startswith("pipetask: Failed on dataId=")]
    assert len(failed) == 1
    assert failed[0].startswith("pipetask: Failed on dataId={'visit': 2, 'filter': 'g'}: ")
    assert "raw_v2_fg.fits.gz" in failed[0] and "missing" in failed[0]
    stats = statsLines(proc.stderr)
    assert [loggedStats(m) for m in stats] == [shown(clippedReference(v, *DEFAULT)) for v in (1, 3)]
    assert "2 succeeded, 1 failed, 0 skipped of 3 data IDs" in proc.stderr


def test_missing_raw_file_is_reported_without_a_traceback(missingRawRun):
    proc, _ = missingRawRun
    assert "Traceback" not in proc.stderr, output(proc)


def test_report_lists_the_latest_outcomes(missingRawRun):
    _, repo = missingRawRun
    proc = pipetask("report", repo)
    assert proc.returncode == 1, output(proc)  # the latest outcome of visit 2 is a failure
    rows = lines(proc.stdout)
    assert rows[:3] == [
        "exampleTask {visit: 1, filter: 'g'} ok",
        rows[1],
        "exampleTask {visit: 3, filter: 'r'} ok",
    ]
    assert rows[1].startswith("exampleTask {visit: 2, filter: 'g'} failed  ButlerError: ")
    assert rows[-1] == "total: 1 failed, 2 ok"


# -- statsWriter: outputs, stored config, versions, metadata -------------------------------------


def test_stats_writer_writes_outputs_and_leaves_the_input_unchanged(writerRun):
    proc, out, before, after = writerRun
    assert proc.returncode == 0, output(proc)
    assert after == before, "a run with --output modified its input repository"
    assert processedVisits(proc.stderr, "statsWriter") == [1, 2, 3]
    for visit in FILTERS:
        assertStatsFile(out, visit, clippedReference(visit, *DEFAULT))
        metadata = readJson(metadataFile(out, visit))["statsWriter"]
        assert metadata["runDataRefEndWallTime"] >= metadata["runDataRefStartWallTime"]
    stored = tomllib.loads((out / "config" / "statsWriter.toml").read_text())
    assert stored["stats"]["numSigmaClip"] == 3.0 and stored["stats"]["numIter"] == 2
    packages = readJson(out / "config" / "packages.json")
    for name in ("pipetask", "pipetask-example", "pipetask-stats", "obs-test"):
        assert packages[name] == importlib.metadata.version(name), name
    assert packages["python"] == sys.version.split()[0]
    repoToml = tomllib.loads((out / "repo.toml").read_text())
    assert repoToml["camera"] == "test" and len(repoToml["parents"]) == 1


def test_stored_package_versions_include_the_numerical_libraries(writerRun):
    _, out, _, _ = writerRun
    packages = readJson(out / "config" / "packages.json")
    for name in ("numpy", "astropy"):
        assert packages.get(name) == importlib.metadata.version(name), name


def test_stored_config_is_what_show_config_prints(writerRun, obsRepo):
    _, out, _, _ = writerRun
    text, _ = showConfig(obsRepo, task="statsWriter")
    assert (out / "config" / "statsWriter.toml").read_text() == text


def test_parallel_run_gives_the_serial_results_and_forwards_worker_logs(
    writerRun, obsRepo, tmp_path
):
    _, serial, _, _ = writerRun
    out = tmp_path / "parallel"
    proc = pipetask(
        "run", "statsWriter", obsRepo, "--id", "--output", out, "-j", "2",
        "--log-format", "json",
    )  # fmt: skip
    assert proc.returncode == 0, output(proc)
    for visit in FILTERS:
        assert readJson(statsFile(out, visit)) == readJson(statsFile(serial, visit))
    records = [json.loads(line) for line in lines(proc.stderr)]
    byDataId = {
        (r["dataId"]["visit"], r["dataId"]["filter"]): r["message"]
        for r in records
        if r["logger"] == "statsWriter.stats"
    }
    assert byDataId == {
        (v, f): "clipped mean={}; meanErr={}; stdDev={}; stdDevErr={}".format(
            *shown(clippedReference(v, *DEFAULT))
        )
        for v, f in FILTERS.items()
    }
    assert sorted(processedVisits("\n".join(
        f"{r['logger']}: {r['message']}" for r in records
    ), "statsWriter")) == [1, 2, 3]  # fmt: skip


def _statsWriter(repo: Path, out: Path, *args, ids=("--id",)) -> subprocess.CompletedProcess:
    return pipetask("run", "statsWriter", repo, *ids, "--output", out, *args)


def test_changed_config_is_refused_then_clobbered_with_a_backup(obsRepo, tmp_path):
    out = tmp_path / "out"
    first = _statsWriter(obsRepo, out)
    assert first.returncode == 0, output(first)
    original = (out / "config" / "statsWriter.toml").read_text()
    results = {v: statsFile(out, v).read_bytes() for v in FILTERS}

    refused = _statsWriter(obsRepo, out, "-c", "stats.numSigmaClip=5")
    assert refused.returncode == 2, output(refused)
    assert "stats.numSigmaClip: 3.0 != 5.0" in refused.stderr
    assert "--clobber-config" in refused.stderr
    assert processedVisits(refused.stderr, "statsWriter") == []
    assert (out / "config" / "statsWriter.toml").read_text() == original
    assert {v: statsFile(out, v).read_bytes() for v in FILTERS} == results

    clobbered = _statsWriter(obsRepo, out, "-c", "stats.numSigmaClip=5", "--clobber-config")
    assert clobbered.returncode == 0, output(clobbered)
    stored = tomllib.loads((out / "config" / "statsWriter.toml").read_text())
    assert stored["stats"]["numSigmaClip"] == 5.0
    assert (out / "config" / "statsWriter.toml~1").read_text() == original
    for visit in FILTERS:
        assertStatsFile(out, visit, clippedReference(visit, 5.0, DEFAULT[1]))

    # --no-backup-config replaces it again and keeps no new backup.
    noBackup = _statsWriter(
        obsRepo, out, "-c", "stats.numSigmaClip=5", "-c", "stats.numIter=4",
        "--clobber-config", "--no-backup-config", ids=("--id", "visit=1"),
    )  # fmt: skip
    assert noBackup.returncode == 0, output(noBackup)
    assert sorted(p.name for p in (out / "config").iterdir()) == [
        "packages.json",
        "statsWriter.toml",
        "statsWriter.toml~1",
    ]
    assert (out / "config" / "statsWriter.toml~1").read_text() == original
    stored = tomllib.loads((out / "config" / "statsWriter.toml").read_text())
    assert stored["stats"]["numIter"] == 4 and stored["stats"]["numSigmaClip"] == 5.0

    # The same config again is accepted without --clobber-config.
    again = _statsWriter(
        obsRepo, out, "-c", "stats.numSigmaClip=5", "-c", "stats.numIter=4", ids=("--id", "visit=1")
    )
    assert again.returncode == 0, output(again)
    assert processedVisits(again.stderr, "statsWriter") == [1]


def test_report_of_a_writer_output(writerRun):
    _, out, _, _ = writerRun
    proc = pipetask("report", out)
    assert proc.returncode == 0, output(proc)
    assert lines(proc.stdout) == [
        "statsWriter {visit: 1, filter: 'g'} ok",
        "statsWriter {visit: 2, filter: 'g'} ok",
        "statsWriter {visit: 3, filter: 'r'} ok",
        "total: 3 ok",
    ]


def test_skip_existing_runs_only_the_missing_data_id(obsRepo, tmp_path):
    out = tmp_path / "out"
    assert _statsWriter(obsRepo, out).returncode == 0
    kept = {v: statsFile(out, v).read_bytes() for v in (1, 3)}
    statsFile(out, 2).unlink()
    metadataFile(out, 2).unlink()
    proc = _statsWriter(obsRepo, out, "--skip-existing")
    assert proc.returncode == 0, output(proc)
    assert processedVisits(proc.stderr, "statsWriter") == [2]
    assert "1 succeeded, 0 failed, 2 skipped of 3 data IDs" in proc.stderr
    assertStatsFile(out, 2, clippedReference(2, *DEFAULT))
    assert metadataFile(out, 2).is_file()
    assert {v: statsFile(out, v).read_bytes() for v in (1, 3)} == kept
    assertConsistentRegistry(out)


def assertConsistentRegistry(repo: Path) -> None:
    """Every registered dataset's file exists, once, and no write is left pending."""
    assert registryRows(repo, "pending") == []
    paths = [row[-1] for row in registryRows(repo, "dataset")]
    assert len(paths) == len(set(paths))
    for path in paths:
        assert (repo / path).is_file(), path


def test_example_task_stores_no_config(obsRepo, tmp_path):
    out = tmp_path / "out"
    for args in (["-c", "stats.numSigmaClip=5"], ["-c", "stats.numIter=1"]):
        proc = pipetask("run", "exampleTask", obsRepo, "--id", "visit=1", "--output", out, *args)
        assert proc.returncode == 0, output(proc)
        assert processedVisits(proc.stderr) == [1]
    assert not (out / "config").exists()
    assert not (out / "metadata").exists()


# -- --debug -------------------------------------------------------------------------------------


def assertDisplayed(proc: subprocess.CompletedProcess, out: Path, visit: int) -> None:
    """One PNG of the raw, under OUT/display, and a log line saying where."""
    assert proc.returncode == 0, output(proc)
    pngs = sorted((out / "display").glob("*.png"))
    assert len(pngs) == 1, output(proc)
    data = pngs[0].read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (height, width) == rawShape(visit)  # the whole raw, unscaled
    assert f"exampleTask: display: {pngs[0]}" in proc.stderr.splitlines()
    assert f"visit={visit}" in pngs[0].name


def test_debug_file_toml_writes_a_png(obsRepo, tmp_path):
    out = tmp_path / "out"
    proc = pipetask(
        "run", "exampleTask", obsRepo, "--id", "visit=1", "--output", out,
        "--debug-file", EXAMPLES / "debug.toml",
    )  # fmt: skip
    assertDisplayed(proc, out, 1)
    assert f"debug variables from {EXAMPLES / 'debug.toml'}" in proc.stderr


@pytest.mark.parametrize("name", ["debug.toml", "debug.py"])
def test_plain_debug_reads_the_file_in_the_working_directory(obsRepo, tmp_path, name):
    shutil.copy(EXAMPLES / name, tmp_path / name)
    out = tmp_path / "out"
    proc = pipetask(
        "run", "exampleTask", obsRepo, "--id", "visit=3", "--output", out, "--debug",
        cwd=tmp_path,
    )  # fmt: skip
    assertDisplayed(proc, out, 3)
    assert f"debug variables from {tmp_path / name}" in proc.stderr


def test_debug_log_level_is_not_debug_display(obsRepo, tmp_path):
    shutil.copy(EXAMPLES / "debug.toml", tmp_path / "debug.toml")
    out = tmp_path / "out"
    proc = pipetask(
        "run", "exampleTask", obsRepo, "--id", "visit=1", "--output", out, "-L", "DEBUG",
        cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, output(proc)
    assert not (out / "display").exists()
    assert "display" not in proc.stderr


def test_debug_without_a_debug_file_warns_and_runs(obsRepo, tmp_path):
    out = tmp_path / "out"
    proc = pipetask(
        "run", "exampleTask", obsRepo, "--id", "visit=1", "--output", out, "--debug",
        cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, output(proc)
    assert "no debug.toml or debug.py in the working directory" in proc.stderr
    assert processedVisits(proc.stderr) == [1]
    assert not (out / "display").exists()


# -- --file, help, $PIPE_*_ROOT -------------------------------------------------------------------


def test_run_on_a_single_file_without_a_repository(tmp_path):
    raw = rawFile(3)
    proc = pipetask("run", "exampleTask", "--file", raw, cwd=tmp_path)
    assert proc.returncode == 0, output(proc)
    assert (
        "exampleTask: Processing data ID {'visit': 3, 'filter': 'r', 'file': 'raw_v3_fr.fits.gz'}"
        in proc.stderr
    )
    assert "--file raw_v3_fr.fits.gz: camera 'test'" in proc.stderr
    stats = statsLines(proc.stderr)
    # The camera (obs_test) is recognised; it has no overrides: the task defaults apply.
    assert [loggedStats(m) for m in stats] == [shown(clippedReference(3, *DEFAULT))]
    assert list(tmp_path.iterdir()) == []  # exampleTask writes nothing


def test_isr_on_a_single_file_matches_the_repository_run(obsRepo, tmp_path):
    """isrTask on a bare raw writes the postISRCCD a repository run of it writes (the
    file's camera gives its detector and defects); a calibration it would need is one
    line naming the dataset type, exit 1."""
    from pipetask_image import Exposure

    onFile = pipetask("run", "isrTask", "--file", rawFile(2), cwd=tmp_path)
    assert onFile.returncode == 0, output(onFile)
    assert "Traceback" not in onFile.stderr
    out = tmp_path / "repoRun"
    fromRepo = pipetask("run", "isrTask", obsRepo, "--id", "visit=2", "--output", out)
    assert fromRepo.returncode == 0, output(fromRepo)
    (stored,) = (out / "postISRCCD").rglob("*.fits")
    fileResult, repoResult = Exposure(tmp_path / "postISRCCD.fits"), Exposure(stored)
    np.testing.assert_array_equal(np.asarray(fileResult.image), np.asarray(repoResult.image))
    np.testing.assert_array_equal(np.asarray(fileResult.mask), np.asarray(repoResult.mask))

    needsBias = pipetask("run", "isrTask", "--file", rawFile(2), "-c", "doBias=True", cwd=tmp_path)
    assert needsBias.returncode == 1, output(needsBias)
    assert "Traceback" not in needsBias.stderr
    assert "NoResults: no 'bias' for --file raw_v2_f" in needsBias.stderr


def test_help_lists_every_config_field_with_its_doc():
    from pipetask.config import walk
    from pipetask_example.example_task import ExampleConfig

    proc = pipetask("help", "exampleTask")
    assert proc.returncode == 0, output(proc)
    expected = [(node.path, node.doc) for node in walk(ExampleConfig())]
    assert "stats.numSigmaClip" in dict(expected)
    assert len(expected) >= 5
    for name, doc in expected:
        assert re.search(rf"^  {re.escape(name)}  \[", proc.stdout, re.M), name
        assert " ".join(doc.split()) in " ".join(proc.stdout.split()), name


def test_relative_paths_under_pipe_input_and_output_roots(obsRepo, tmp_path):
    outputs = tmp_path / "outputs"
    proc = pipetask(
        "run", "statsWriter", obsRepo.name, "--id", "visit=2", "--output", "rel",
        cwd=tmp_path,
        env={"PIPE_INPUT_ROOT": str(obsRepo.parent), "PIPE_OUTPUT_ROOT": str(outputs)},
    )  # fmt: skip
    assert proc.returncode == 0, output(proc)
    assertStatsFile(outputs / "rel", 2, clippedReference(2, *DEFAULT))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["outputs"]
    # Without the variables the same relative paths are not found.
    missing = pipetask("run", "statsWriter", obsRepo.name, "--id", "--output", "rel", cwd=tmp_path)
    assert missing.returncode == 2, output(missing)
    assert f"{tmp_path / obsRepo.name}" in missing.stderr and "not found" in missing.stderr


# -- one writing run per output repository ---------------------------------------------------------


@pytest.fixture(scope="module")
def synthRepo(tmp_path_factory) -> Path:
    """A synthetic repository of 104 small data IDs (26 visits x 4 CCDs)."""
    return makeSynthRepo(tmp_path_factory.mktemp("synth") / "repo", visits=26, ccds=4, size=16)


def test_a_held_output_lock_refuses_a_second_run(synthRepo, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    with open(out / ".pipetask-run.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        lock.write(str(os.getpid()))
        lock.flush()
        refused = pipetask("run", "statsWriter", synthRepo, "--id", "--output", out)
    assert refused.returncode == 2, output(refused)
    assert lines(refused.stderr) == [
        f"pipetask: error: another pipetask run (pid {os.getpid()}) is writing to {out}; "
        "wait for it to finish or use another --output"
    ]
    assert not (out / "imageStats").exists()
    if (out / "registry.sqlite3").exists():
        assertConsistentRegistry(out)
    # Once the lock is released, the same command runs.
    proc = pipetask("run", "statsWriter", synthRepo, "--id", "--output", out)
    assert proc.returncode == 0, output(proc)
    assert "104 succeeded, 0 failed, 0 skipped of 104 data IDs" in proc.stderr
    assert len(list((out / "imageStats").rglob("*.json"))) == 104
    assertConsistentRegistry(out)


def test_two_simultaneous_runs_into_one_output(synthRepo, tmp_path):
    out = tmp_path / "out"
    command = [PIPETASK, "run", "statsWriter", str(synthRepo), "--id", "--output", str(out)]
    procs = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    results = [(p.wait(timeout=120), p.stderr.read()) for p in procs]
    for p in procs:
        p.stdout.close()
        p.stderr.close()
    statuses = sorted(status for status, _ in results)
    # Whichever interleaving happened: at least one ran; a refused one says why.
    assert statuses in ([0, 0], [0, 2]), results
    for status, stderr in results:
        if status == 2:
            assert "another pipetask run (pid " in stderr and str(out) in stderr, stderr
    assert len(list((out / "imageStats").rglob("*.json"))) == 104
    assertConsistentRegistry(out)


def test_exit_status_is_the_failure_count_capped_at_100(synthRepo):
    proc = pipetask("run", "exampleTask", synthRepo, "--id", "-c", "doFail=true")
    assert proc.returncode == 100, output(proc)
    assert "0 succeeded, 104 failed, 0 skipped of 104 data IDs" in proc.stderr
    failed = [t for t in proc.stderr.splitlines() if t.startswith("pipetask: Failed on dataId=")]
    assert len(failed) == len(set(failed)) == 104
    some = pipetask("run", "exampleTask", synthRepo, "--id", "visit=1..2", "-c", "doFail=true")
    assert some.returncode == 8, output(some)


def test_interrupted_run_exits_130_and_resumes_with_skip_existing(synthRepo, tmp_path):
    out = tmp_path / "out"
    command = [PIPETASK, "run", "statsWriter", str(synthRepo), "--id", "--output", str(out)]
    proc = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, preexec_fn=sigintDefault)
    seen = []
    while len(seen) < 5:  # interrupt once some data IDs have started
        line = proc.stderr.readline()
        assert line, "the run ended before it could be interrupted"
        if "Processing data ID" in line:
            seen.append(line)
    proc.send_signal(signal.SIGINT)
    stderr = "".join(seen) + proc.stderr.read()
    proc.stderr.close()
    assert proc.wait(timeout=60) == 130, stderr
    summary = re.search(
        r"statsWriter: (\d+) succeeded, 0 failed, 0 skipped of 104 data IDs in [\d.]+ s; "
        r"(\d+) not run \(interrupted\)",
        stderr,
    )
    assert summary, stderr
    done, notRun = int(summary[1]), int(summary[2])
    assert done + notRun == 104 and notRun > 0
    assert "Traceback" not in stderr
    assertConsistentRegistry(out)
    written = len(list((out / "imageStats").rglob("*.json"))) if done else 0
    assert written >= done

    resumed = pipetask("run", "statsWriter", synthRepo, "--id", "--output", out, "--skip-existing")
    assert resumed.returncode == 0, output(resumed)
    again = re.search(r"(\d+) succeeded, 0 failed, (\d+) skipped of 104 data IDs", resumed.stderr)
    assert again and int(again[1]) + int(again[2]) == 104, output(resumed)
    assert int(again[2]) >= done
    assert len(list((out / "imageStats").rglob("*.json"))) == 104
    assertConsistentRegistry(out)


def test_stats_writer_on_a_single_file_writes_its_stats(tmp_path):
    out = tmp_path / "out"
    proc = pipetask("run", "statsWriter", "--file", rawFile(2), "--output", out, cwd=tmp_path)
    assert proc.returncode == 0, output(proc)
    values = readJson(out / "imageStats.json")
    got = [values[k] for k in ("mean", "meanErr", "stdDev", "stdDevErr")]
    np.testing.assert_allclose(got, clippedReference(2, *DEFAULT), rtol=1e-9)
    failing = pipetask("run", "exampleTask", "--file", rawFile(2), "-c", "doFail=true")
    assert failing.returncode == 1, output(failing)
    assert f"Failed on file {rawFile(2)}: TaskError: " in failing.stderr
