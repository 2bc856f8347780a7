"""A third party installs examples/third_party_plugin into its own environment and the task
appears in ``pipetask list``, is described by ``pipetask help`` and runs: no core change.

The temporary venv is made from the test interpreter with ``--system-site-packages``.
When the test interpreter is itself a venv (the usual case), its site-packages are not the
"system" ones, so a ``.pth`` file adds them (with their own ``.pth`` files, for editable
installs): the core and its dependencies are visible without network. The venv is made
without its own pip, so the test interpreter's pip and setuptools build the example, and the
``pipetask`` launcher the core's entry point would get is written into the venv's bin.
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import sysconfig
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "third_party_plugin"
DIST = "pipetask-hello"
TASK = "helloTask"


def sh(*args: str, **kwargs) -> subprocess.CompletedProcess:
    env = dict(os.environ, PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    env.pop("PYTHONPATH", None)
    return subprocess.run(
        args, capture_output=True, text=True, timeout=300, env=env, check=False, **kwargs
    )


@pytest.fixture(scope="module")
def venv(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("third_party")
    env = base / "venv"
    made = sh(sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(env))
    assert made.returncode == 0, made.stderr
    python = env / "bin" / "python"
    purelib = sh(
        str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    ).stdout.strip()
    ours = [p for p in site.getsitepackages() if os.path.isdir(p)]
    ours.append(sysconfig.get_paths()["purelib"])
    lines = [f"import site; site.addsitedir({p!r})" for p in dict.fromkeys(ours)]
    Path(purelib, "zz_test_interpreter_site.pth").write_text("\n".join(lines) + "\n")
    launcher = env / "bin" / "pipetask"
    launcher.write_text(
        textwrap.dedent(
            f"""\
            #!{python}
            import sys
            from pipetask.cli.main import main
            sys.exit(main())
            """
        )
    )
    launcher.chmod(0o755)
    # Install from a copy, so the build leaves nothing in the repository.
    source = base / "source"
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    installed = sh(
        str(python),
        "-m",
        "pip",
        "install",
        "-q",
        "--no-build-isolation",
        "--no-deps",
        "--no-index",
        str(source),
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return env


def test_example_is_not_installed_in_the_test_environment():
    from pipetask.plugins import catalog

    # Otherwise the checks below would prove nothing about the fresh install.
    assert TASK not in catalog().items["task"]


def test_list_shows_the_task_with_its_distribution(venv):
    result = sh(str(venv / "bin" / "pipetask"), "list")
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.strip().startswith(TASK)]
    assert len(lines) == 1, result.stdout
    assert "greets someone" in lines[0]
    assert lines[0].endswith(f"[{DIST}]")
    assert "serial" in result.stdout  # the core's built-ins are still there


def test_help_describes_the_task(venv):
    result = sh(str(venv / "bin" / "pipetask"), "help", TASK)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith(f"{TASK} (pipetask_hello.task:HelloTask, from {DIST})")
    assert "Greet someone by name" in out
    assert 'greeting  [str] = "Hello"' in out
    assert "repeat  [int in [1,10)] = 1" in out


def test_task_loads_through_the_plugin_manager_and_runs(venv):
    code = textwrap.dedent(
        f"""
        import sys
        from pipetask.plugins import catalog, load_item
        desc = catalog().get("task", {TASK!r})
        assert "pipetask_hello.task" not in sys.modules  # described, not imported
        HelloTask = load_item("task", {TASK!r})
        config = HelloTask.ConfigClass(greeting="Hi", repeat=2)
        task = HelloTask(config=config)
        result = task.run("Vera")
        print(desc.distribution)
        print(result.count)
        print(result.lines[0])
        print("runDuration" in task.metadata)
        """
    )
    result = sh(str(venv / "bin" / "python"), "-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [DIST, "2", "Hi, Vera!", "True"]


def test_bad_config_value_for_plugin_task(venv):
    code = textwrap.dedent(
        f"""
        from pipetask import FieldValidationError
        from pipetask.plugins import load_item
        HelloTask = load_item("task", {TASK!r})
        try:
            HelloTask.ConfigClass(repeat=10)
        except FieldValidationError as exc:
            print(exc)
        """
    )
    result = sh(str(venv / "bin" / "python"), "-c", code)
    assert result.returncode == 0, result.stderr
    assert "RangeField 'repeat' failed validation: 10 is outside of valid range [1,10)" in (
        result.stdout
    )
