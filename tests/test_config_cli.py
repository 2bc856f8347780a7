"""Config values and files through the real CLI: what is accepted, and one clear line for
what is not (exit 2, no traceback, nothing written).

- ``-C`` and ``--debug-file`` read only regular files of bounded size (``/dev/zero``, a
  FIFO, a directory, a 17 MB file are refused at once);
- TOML nested a thousand deep, integers beyond what a float or a 64-bit int holds, a
  retarget to ``:x``: refused naming the option;
- ``-c doFail=True`` (Python's spelling) works like ``true``; refused values say what
  form is expected;
- ``--show config=PATTERN`` ignores case;
- a ``-C`` file saved by ``--show config`` of one task is refused by another, naming both;
- a ``ValueError`` raised by a task's own ``Config.validate()`` is a config error of that
  task.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from _shared_data import makeSynthRepo

PIPETASK = str(Path(sys.executable).parent / "pipetask")

PICKY_SOURCE = '''
"""A test-only task whose config's validate() raises a plain ValueError."""
from pipetask import Config, Field, Struct, Task
from pipetask.plugins import Description, hookimpl


class PickyConfig(Config):
    low = Field(doc="lower limit", dtype=float, default=0.0)
    high = Field(doc="upper limit", dtype=float, default=1.0)

    def validate(self):
        super().validate()
        if self.low >= self.high:
            raise ValueError(f"low ({self.low}) must be below high ({self.high})")


class PickyTask(Task):
    ConfigClass = PickyConfig
    _DefaultName = "pickyTask"
    storeConfig = False
    storeMetadata = False

    def runDataRef(self, dataRef):
        return Struct()


@hookimpl
def pipetask_tasks():
    return [Description("pickyTask", "pipetask_picky:PickyTask", "picky test task", kind="cmdline")]
'''


def pipetask(*args, env=None, timeout=60) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("PIPE_")}
    environ.update(env or {})
    return subprocess.run(
        [PIPETASK, *map(str, args)], capture_output=True, text=True, env=environ, timeout=timeout
    )


def assertOneLineError(proc: subprocess.CompletedProcess, *fragments: str) -> None:
    text = proc.stdout + proc.stderr
    assert proc.returncode == 2, text
    assert "Traceback" not in text, text
    errors = [line for line in proc.stderr.splitlines() if line.startswith("pipetask: error")]
    assert len(errors) == 1, text
    for fragment in fragments:
        assert fragment in errors[0], text


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    return makeSynthRepo(tmp_path_factory.mktemp("cfg") / "repo", visits=1, ccds=2, size=32)


@pytest.fixture(scope="module")
def pickyEnv(tmp_path_factory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("picky-plugin")
    (root / "pipetask_picky.py").write_text(textwrap.dedent(PICKY_SOURCE))
    info = root / "pipetask_picky-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: pipetask-picky\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[pipetask]\npicky = pipetask_picky\n")
    return {"PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")]))}


def test_config_file_from_dev_zero_is_refused_at_once(repo):
    proc = pipetask("run", "exampleTask", repo, "--id", "-C", "/dev/zero", timeout=30)
    assertOneLineError(proc, "/dev/zero", "is not a regular file")


def test_config_and_debug_files_that_are_fifos_are_refused_without_blocking(repo, tmp_path):
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)
    proc = pipetask("run", "exampleTask", repo, "--id", "-C", fifo, timeout=30)
    assertOneLineError(proc, str(fifo), "is not a regular file")
    proc = pipetask("run", "exampleTask", repo, "--id", "--debug-file", fifo, timeout=30)
    assertOneLineError(proc, "debug file", "is not a regular file")


def test_directories_and_oversized_config_files_are_refused(repo, tmp_path):
    proc = pipetask("run", "exampleTask", repo, "--id", "-C", tmp_path)
    assertOneLineError(proc, "is not a regular file")
    big = tmp_path / "big.toml"
    with open(big, "wb") as stream:
        stream.truncate(17 * 1024 * 1024)  # sparse: no disk used
    proc = pipetask("run", "exampleTask", repo, "--id", "-C", big)
    assertOneLineError(proc, str(big), "too large")


def test_toml_nested_a_thousand_deep(repo, tmp_path):
    deep = "[" * 1000 + "]" * 1000
    proc = pipetask("run", "exampleTask", repo, "--id", "-c", f"stats.badMaskPlanes={deep}")
    assertOneLineError(proc, "-c stats.badMaskPlanes=", "cannot parse")
    path = tmp_path / "deep.toml"
    path.write_text(f"[stats]\nbadMaskPlanes = {deep}\n")
    proc = pipetask("run", "exampleTask", repo, "--id", "-C", path)
    assertOneLineError(proc, str(path), "nested too deeply")
    path.write_text("x = " + "{a = " * 1000 + "1" + "}" * 1000 + "\n")
    proc = pipetask("run", "exampleTask", repo, "--id", "-C", path)
    assertOneLineError(proc, str(path), "invalid TOML")


@pytest.mark.parametrize(
    ("value", "fragment"),
    [
        ("1" + "0" * 400, "too large for a float"),
        ("1" + "0" * 5000, "cannot parse"),
    ],
)
def test_huge_numbers_for_a_float_field(repo, value, fragment):
    proc = pipetask("run", "exampleTask", repo, "--id", "-c", f"stats.numSigmaClip={value}")
    assertOneLineError(proc, "stats.numSigmaClip", fragment)


def test_huge_integer_in_a_config_file(repo, tmp_path):
    path = tmp_path / "huge.toml"
    path.write_text("[stats]\nnumIter = " + "9" * 30 + "\n")
    proc = pipetask("run", "exampleTask", repo, "--id", "-C", path)
    assertOneLineError(proc, f"{path}:2", "64-bit integer range")


def test_retarget_to_an_empty_module_name(repo):
    proc = pipetask("run", "exampleTask", repo, "--id", "-c", "stats=:x")
    assertOneLineError(proc, "-c stats=:x", "give a task name or module:Class")
    proc = pipetask("run", "exampleTask", repo, "--id", "-c", "stats._target=:x")
    assertOneLineError(proc, "-c stats._target=:x", "give a task name or module:Class")


def test_python_booleans_for_bool_fields(repo):
    shown = pipetask("run", "exampleTask", repo, "-c", "doFail=True", "--show", "config=doFail")
    assert shown.returncode == 0, shown.stderr
    assert "doFail = true" in shown.stdout
    shown = pipetask("run", "exampleTask", repo, "-c", "doFail=False", "--show", "config=doFail")
    assert "doFail = false" in shown.stdout
    proc = pipetask("run", "exampleTask", repo, "--id", "-c", "doFail=True")
    assert proc.returncode == 2, proc.stderr  # two data IDs, both failed by request
    assert "Raising TaskError by request" in proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("override", "form"),
    [
        ("doFail=yes", "a bool: true or false"),
        ("stats.numIter=three", "an int, e.g. 3"),
        ("stats.numSigmaClip=ten", "a float"),
        ("stats.badMaskPlanes=EDGE", 'a list of str, e.g. ["A", "B"]'),
        ("stats=", "task name or module:Class"),
    ],
)
def test_refused_values_say_what_form_is_expected(repo, override, form):
    proc = pipetask("run", "exampleTask", repo, "--id", "-c", override)
    assertOneLineError(proc, f"-c {override}", form)


def test_show_config_pattern_ignores_case(repo):
    proc = pipetask("run", "exampleTask", repo, "--show", "config=NUMSIGMACLIP")
    assert proc.returncode == 0, proc.stderr
    assert "stats.numSigmaClip = 3.0" in proc.stdout
    proc = pipetask("run", "exampleTask", repo, "--show", "history=Stats.NumIter")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("stats.numIter")


def test_config_file_of_another_task_is_refused_naming_both(repo, tmp_path):
    shown = pipetask("run", "statsWriter", repo, "--show", "config")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith("# pipetask config ") and "(task statsWriter)" in shown.stdout
    saved = tmp_path / "writer.toml"
    saved.write_text(shown.stdout)
    proc = pipetask("run", "exampleTask", repo, "--id", "-C", saved)
    assertOneLineError(proc, str(saved), "'statsWriter'", "'exampleTask'")
    again = pipetask("run", "statsWriter", repo, "-C", saved, "--show", "config")
    assert again.returncode == 0 and again.stdout == shown.stdout


def test_value_error_from_a_task_config_validate_is_a_config_error(repo, pickyEnv):
    proc = pipetask("run", "pickyTask", repo, "--id", "-c", "low=2", env=pickyEnv)
    assertOneLineError(proc, "pickyTask", "low (2.0) must be below high (1.0)")
    ok = pipetask("run", "pickyTask", repo, "--id", env=pickyEnv)
    assert ok.returncode == 0, ok.stderr
