"""The core stays light: no numpy or astropy on import, no plugin task module for --help."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HEAVY = ("numpy", "astropy")


def python(code: str, *flags: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *flags, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )


def importedTopLevel(importtimeOutput: str) -> set[str]:
    names = set()
    for line in importtimeOutput.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        module = line.rsplit("|", 1)[1].strip()
        names.add(module.split(".")[0])
    return names


def test_import_pipetask_loads_no_numpy_or_astropy():
    result = python("import pipetask", "-X", "importtime")
    modules = importedTopLevel(result.stderr)
    assert "pipetask" in modules  # the parse works
    for heavy in HEAVY:
        assert heavy not in modules


def test_public_api_import_is_light():
    code = (
        "import sys, json\n"
        "from pipetask import Task, Struct, Config, Field, timeMethod, TaskError\n"
        "from pipetask.config import applyOverride\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    modules = set(json.loads(python(code).stdout))
    for heavy in HEAVY:
        assert heavy not in modules


def pluginTaskModules() -> list[str]:
    """Module names of every installed task target (their plugin module is fine to load)."""
    code = (
        "import json\n"
        "from pipetask.plugins import catalog\n"
        "cat = catalog()\n"
        "print(json.dumps([d.target.partition(':')[0] for d in cat.items['task'].values()]))\n"
    )
    return json.loads(python(code).stdout)


def test_help_imports_no_plugin_task_module():
    targets = pluginTaskModules()
    code = (
        "import sys, json, io, contextlib\n"
        "from pipetask.cli.main import build_parser\n"
        "parser = build_parser()\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        "        parser.parse_args(['--help'])\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    modules = set(json.loads(python(code).stdout))
    for heavy in HEAVY:
        assert heavy not in modules
    for target in targets:
        assert target not in modules, f"--help imported the task module {target}"


def heavyPluginModules() -> list[str]:
    """Entry-point plugin modules of group ``pipetask`` whose import loads numpy or astropy."""
    code = (
        "import sys, json, importlib\n"
        "from importlib.metadata import entry_points\n"
        "bad = []\n"
        "for ep in entry_points(group='pipetask'):\n"
        "    before = set(sys.modules)\n"
        "    importlib.import_module(ep.module)\n"
        "    heavy = sorted(m for m in set(sys.modules) - before if m in ('numpy', 'astropy'))\n"
        "    if heavy:\n"
        "        bad.append(f'{ep.module} ({ep.dist.name}) imports {\", \".join(heavy)}')\n"
        "print(json.dumps(bad))\n"
    )
    return json.loads(python(code).stdout)


def test_plugin_modules_are_light():
    """The module an entry point names is loaded by ``pipetask list``: it must stay small."""
    assert heavyPluginModules() == []


def test_pipetask_list_loads_no_numpy_or_astropy():
    code = (
        "import sys, json, io, contextlib\n"
        "from pipetask.cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    status = main(['list'])\n"
        "print(json.dumps({'status': status, 'modules': sorted(sys.modules)}))\n"
    )
    data = json.loads(python(code).stdout.splitlines()[-1])
    assert data["status"] == 0
    for heavy in HEAVY:
        assert heavy not in data["modules"]
    # Reading the catalog needs neither pluggy nor dataclasses (with typing and inspect,
    # their imports cost more CPU than the rest of the command).
    for module in ("pluggy", "dataclasses", "typing", "inspect"):
        assert module not in data["modules"], f"pipetask list imported {module}"


def test_catalog_is_the_same_through_pluggy():
    """The catalog read straight from the plugin modules equals the one pluggy gives."""
    code = (
        "import json\n"
        "from pipetask import plugins\n"
        "def dump():\n"
        "    cat = plugins.catalog()\n"
        "    return {k: [[n, d.target, d.summary, d.kind, d.distribution]\n"
        "                for n, d in v.items()] for k, v in cat.items.items()}\n"
        "direct = dump()\n"
        "plugins.get_plugin_manager()\n"
        "print(json.dumps([direct, dump()]))\n"
    )
    direct, throughPluggy = json.loads(python(code).stdout)
    assert direct == throughPluggy
    assert "sigmaClippedStats" in [row[0] for row in direct["task"]]


def test_real_pipetask_help_command_importtime():
    pipetask = Path(sys.executable).with_name("pipetask")
    result = subprocess.run(
        [sys.executable, "-X", "importtime", str(pipetask), "--help"],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    modules = importedTopLevel(result.stderr)
    assert "pipetask" in modules
    for heavy in HEAVY:
        assert heavy not in modules
