"""The ``pipetask`` command line, run as a user runs it: exit statuses and error lines."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pipetask.cli import main as cli_main

PIPETASK = str(Path(sys.executable).with_name("pipetask"))


def run(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONWARNINGS="ignore")
    return subprocess.run(
        [PIPETASK, *args], capture_output=True, text=True, timeout=60, env=env, check=False
    )


def assertNoTraceback(result: subprocess.CompletedProcess) -> None:
    assert "Traceback" not in result.stderr
    assert "Traceback" not in result.stdout


def test_help():
    result = run("--help")
    assert result.returncode == 0
    assert result.stdout.startswith("usage: pipetask")
    for command in ("list", "help"):
        assert command in result.stdout
    assertNoTraceback(result)


def test_no_arguments_prints_help_and_fails():
    result = run()
    assert result.returncode == 2
    assert "usage: pipetask" in result.stdout
    assertNoTraceback(result)


def test_bad_option():
    result = run("--no-such-option")
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if "error" in line]
    assert errors == ["pipetask: error: unrecognized arguments: --no-such-option"]
    assert result.stderr.startswith("usage: pipetask")
    assertNoTraceback(result)


def test_abbreviated_option_is_not_accepted():
    result = run("--hel")
    assert result.returncode == 2
    assertNoTraceback(result)


def test_unknown_subcommand():
    result = run("frobnicate")
    assert result.returncode == 2
    assert "pipetask: error: argument COMMAND: invalid choice: 'frobnicate'" in result.stderr
    assert "usage:" in result.stderr
    assertNoTraceback(result)


def test_an_unknown_task_to_run_lists_the_command_line_tasks_only():
    """Subtasks cannot be run: the tasks listed are those ``pipetask run`` takes."""
    from pipetask.plugins import catalog

    subtasks = [n for n, d in catalog().items["task"].items() if d.kind != "cmdline"]
    result = run("run", "nosuchTask", "repo", "--id")
    assert result.returncode == 2
    assertNoTraceback(result)
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("pipetask: error: unknown task 'nosuchTask'; command-line tasks: ")
    listed = line.partition("command-line tasks: ")[2].split(", ")
    assert listed == catalog().names("task", "cmdline") and "exampleTask" in listed
    assert subtasks and not set(subtasks) & set(listed)


def test_an_unknown_option_of_a_command_shows_that_command_s_usage():
    result = run("run", "exampleTask", "repo", "--id", "--no-such-option")
    assert result.returncode == 2
    assertNoTraceback(result)
    assert result.stderr.startswith("usage: pipetask run ")
    assert result.stderr.strip().splitlines()[-1] == (
        "pipetask run: error: unrecognized arguments: --no-such-option"
    )


def test_help_of_unknown_task_suggests():
    result = run("help", "serail")  # close to the executor name, not a task
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("pipetask: error: unknown task 'serail'")
    assertNoTraceback(result)


def test_help_of_unknown_task_with_close_match(tmp_path):
    # Find any installed task and misspell it; skip the suggestion check if none exist.
    from pipetask.plugins import catalog

    names = catalog().names("task")
    if not names:
        pytest.skip("no task plugins installed in this environment")
    name = names[0]
    result = run("help", name[:-1] + "Q")
    assert result.returncode == 2
    assert f"did you mean {name!r}" in result.stderr
    assertNoTraceback(result)


def test_help_subcommand_needs_a_task():
    result = run("help")
    assert result.returncode == 2
    assert "pipetask help: error: the following arguments are required: TASK" in result.stderr
    assertNoTraceback(result)


def test_list():
    result = run("list")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Executors (--executor):" in out
    assert "Storage formats:" in out
    serial = [line for line in out.splitlines() if line.strip().startswith("serial ")]
    assert len(serial) == 1 and serial[0].endswith("[pipetask]")
    assertNoTraceback(result)


def test_list_rejects_arguments():
    result = run("list", "extra")
    assert result.returncode == 2
    assertNoTraceback(result)


def test_broken_subcommand_module_is_not_hidden(monkeypatch):
    """A subcommand module that exists but fails to import must not vanish silently."""
    real = cli_main.importlib.import_module

    def fake(name, *args):
        if name == "pipetask.cli.list_cmd":
            raise ModuleNotFoundError("No module named 'missingdep'", name="missingdep")
        return real(name, *args)

    monkeypatch.setattr(cli_main.importlib, "import_module", fake)
    with pytest.raises(ModuleNotFoundError, match="missingdep"):
        cli_main.build_parser()


def test_main_in_process_returns_status(capsys):
    assert cli_main.main(["list"]) == 0
    assert "Executors" in capsys.readouterr().out
    assert cli_main.main(["help", "zzzNoSuchTaskzzz"]) == 2
    assert "unknown task 'zzzNoSuchTaskzzz'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        cli_main.main(["--bogus"])
    assert info.value.code == 2
