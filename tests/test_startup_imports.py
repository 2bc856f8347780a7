"""What the command loads: entry points read cheaply, ``--help`` without the config
machinery, and a run that imports only what it uses (no astropy when the fast FITS path
reads, no structlog or asyncio for console logging)."""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from pathlib import Path

from _shared_data import obsTestData
from pipetask import plugins

PIPETASK = str(Path(sys.executable).with_name("pipetask"))


def topLevelImports(stderr: str) -> set[str]:
    """Top-level package names in ``-X importtime`` output."""
    names = set()
    for line in stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    return names


def importsOf(*args: str, cwd: Path | None = None) -> tuple[set[str], str]:
    done = subprocess.run(
        [sys.executable, "-X", "importtime", PIPETASK, *args],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=cwd,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return topLevelImports(done.stderr), done.stderr


def test_entry_points_read_cheaply_match_importlib_metadata():
    ours = {(name, value) for name, value, _ in plugins.entryPoints("pipetask")}
    reference = {(ep.name, ep.value) for ep in importlib.metadata.entry_points(group="pipetask")}
    assert ours == reference and ours
    distributions = {value: dist for _, value, dist in plugins.entryPoints("pipetask")}
    for ep in importlib.metadata.entry_points(group="pipetask"):
        assert distributions[ep.value] == ep.dist.metadata["Name"]


def startupImports() -> set[str]:
    """What a bare ``python -c pass`` imports here (site, an editable install's finders)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "pass"], capture_output=True, text=True
    )
    return topLevelImports(done.stderr)


def test_help_loads_neither_config_nor_plugin_manager():
    bare = startupImports()
    for args in (["--help"], ["run", "--help"], ["list"]):
        modules, stderr = importsOf(*args)
        assert "pipetask" in modules
        loaded = {line.rsplit("|", 1)[1].strip() for line in stderr.splitlines() if "|" in line}
        if args != ["list"]:
            assert "pipetask.config" not in loaded and "pipetask.plugins" not in loaded
            assert "pluggy" not in modules, args
        # argparse sizes its help with shutil (which loads zlib, bz2 and lzma) unless told
        # the width; typing is for type checkers only.
        assert not {"shutil", "typing", "bz2", "lzma"} & (modules - bare), args


def test_list_reads_no_distribution_metadata_wholesale():
    modules, stderr = importsOf("list")
    loaded = {line.rsplit("|", 1)[1].strip() for line in stderr.splitlines() if "|" in line}
    assert "pipetask.plugins" in loaded
    assert "pluggy" not in modules  # the hooks are read without pluggy's manager
    assert "importlib.metadata" not in loaded and "email" not in modules


def test_a_console_run_imports_only_what_it_uses(tmp_path):
    data = obsTestData()
    repo = tmp_path / "repo"
    subprocess.run(
        [PIPETASK, "ingest", str(repo), str(data / "raw"), "--camera", "test"],
        check=True,
        capture_output=True,
    )
    # The first run may build the compiled statistics kernel (once per installation).
    subprocess.run(
        [PIPETASK, "run", "exampleTask", str(repo), "--id", "visit=1"],
        check=True,
        capture_output=True,
    )
    modules, stderr = importsOf("run", "exampleTask", str(repo), "--id", "visit=1")
    assert "clipped mean=" in stderr
    assert "numpy" in modules  # the parse works: the run did use numpy
    assert "pipetask_stats_numba" in modules  # the compiled kernel ran, loaded without numba
    for unused in ("astropy", "fitsio", "structlog", "asyncio", "numba", "llvmlite"):
        assert unused not in modules, unused
    # Long log lines use structlog: it loads then, and only then.
    modules, _ = importsOf("run", "exampleTask", str(repo), "--id", "visit=1", "--longlog")
    assert "structlog" in modules and "astropy" not in modules
