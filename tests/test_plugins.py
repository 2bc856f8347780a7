"""Plugin discovery: built-ins, entry-point plugins with their distributions, unknown
names with suggestions, clashes naming both distributions, and lazy loading."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
from pipetask import Description, PluginError, plugins


def makeDistribution(root: Path, dist: str, module: str, body: str) -> None:
    """A fake installed distribution: a module and a dist-info with a ``pipetask`` entry point."""
    (root / f"{module}.py").write_text(textwrap.dedent(body))
    info = root / f"{dist.replace('-', '_')}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[pipetask]\n{module} = {module}\n")


@pytest.fixture
def fresh(monkeypatch):
    """Empty the plugin caches before and after, so each test sees its own sys.path."""
    plugins.get_plugin_manager.cache_clear()
    plugins.catalog.cache_clear()
    yield monkeypatch
    plugins.get_plugin_manager.cache_clear()
    plugins.catalog.cache_clear()


TASK_PLUGIN = """
    from pipetask import Description, hookimpl

    @hookimpl
    def pipetask_tasks():
        return [
            Description("{name}", "{target}", "{summary}", kind="{kind}"),
        ]
"""


def test_core_builtins_are_registered_through_hooks(fresh):
    cat = plugins.catalog()
    assert {"serial", "process"} <= set(cat.names("executor"))
    assert {"toml", "json"} <= set(cat.names("format"))
    for kind, name in (("executor", "serial"), ("executor", "process"), ("format", "toml")):
        desc = cat.get(kind, name)
        assert desc.distribution == "pipetask"
        assert ":" in desc.target
        assert desc.summary
    assert cat.clashes == {}


def test_entry_point_plugin_is_found_with_its_distribution(fresh, tmp_path):
    makeDistribution(
        tmp_path,
        "pipetask-fake-one",
        "fake_plugin_one",
        TASK_PLUGIN.format(
            name="fakeTask", target="fake_plugin_one:FakeTask", summary="a fake", kind="cmdline"
        ),
    )
    fresh.syspath_prepend(str(tmp_path))
    cat = plugins.catalog()
    desc = cat.get("task", "fakeTask")
    assert desc == Description("fakeTask", "fake_plugin_one:FakeTask", "a fake", "cmdline")
    assert desc.distribution == "pipetask-fake-one"
    assert "fakeTask" in cat.names("task", "cmdline")
    assert "fakeTask" not in cat.names("task", "stats")


def test_unknown_name_suggests(fresh):
    cat = plugins.catalog()
    with pytest.raises(PluginError) as info:
        cat.get("executor", "serail")
    message = str(info.value)
    assert "unknown executor 'serail'" in message
    assert "did you mean 'serial'" in message
    assert "process" in message and "serial" in message
    with pytest.raises(PluginError, match="unknown camera 'nosuchcam'"):
        cat.get("camera", "nosuchcam")
    with pytest.raises(PluginError, match="unknown task"):
        plugins.load_item("task", "zzzNoSuchTaskzzz")


def test_clash_names_both_distributions(fresh, tmp_path):
    for dist, module in (("pipetask-alpha", "clash_alpha"), ("pipetask-beta", "clash_beta")):
        makeDistribution(
            tmp_path,
            dist,
            module,
            TASK_PLUGIN.format(name="dupTask", target=f"{module}:Dup", summary=dist, kind=""),
        )
    fresh.syspath_prepend(str(tmp_path))
    cat = plugins.catalog()
    assert ("task", "dupTask") in cat.clashes
    message = cat.clashes["task", "dupTask"]
    assert "pipetask-alpha" in message and "pipetask-beta" in message
    assert "clash_alpha:Dup" in message and "clash_beta:Dup" in message
    with pytest.raises(PluginError) as info:
        cat.get("task", "dupTask")
    assert "pipetask-alpha" in str(info.value) and "pipetask-beta" in str(info.value)


def test_clash_with_a_builtin(fresh, tmp_path):
    makeDistribution(
        tmp_path,
        "pipetask-rogue",
        "rogue_plugin",
        """
        from pipetask import Description, hookimpl

        @hookimpl
        def pipetask_executors():
            return [Description("serial", "rogue_plugin:Serial", "another serial")]
        """,
    )
    fresh.syspath_prepend(str(tmp_path))
    message = plugins.catalog().clashes["executor", "serial"]
    assert "pipetask (" in message and "pipetask-rogue" in message


def test_catalog_imports_no_target(fresh, tmp_path):
    makeDistribution(
        tmp_path,
        "pipetask-lazy",
        "lazy_plugin",
        TASK_PLUGIN.format(name="lazyTask", target="lazy_heavy:Heavy", summary="s", kind=""),
    )
    (tmp_path / "lazy_heavy.py").write_text(
        "from pipetask import Config, Task\n"
        "class Heavy(Task):\n    ConfigClass = Config\n    _DefaultName = 'lazyTask'\n"
    )
    fresh.syspath_prepend(str(tmp_path))
    plugins.catalog()
    assert "lazy_plugin" in sys.modules
    assert "lazy_heavy" not in sys.modules
    heavy = plugins.load_item("task", "lazyTask")
    assert heavy.__name__ == "Heavy"
    assert "lazy_heavy" in sys.modules
    sys.modules.pop("lazy_heavy", None)
    sys.modules.pop("lazy_plugin", None)


def test_load_errors():
    with pytest.raises(PluginError, match="cannot import 'no_such_module_xyz'"):
        plugins.load("no_such_module_xyz:Thing")
    with pytest.raises(PluginError, match="has no attribute 'Nope'"):
        plugins.load("pipetask.struct:Nope")
    assert plugins.load("pipetask.struct:Struct").__name__ == "Struct"
    assert plugins.load("pipetask.struct").__name__ == "pipetask.struct"


def test_hookspecs_document_every_hook():
    from pipetask import hookspecs

    for hook in plugins.KINDS.values():
        spec = getattr(hookspecs, hook)
        assert spec.__doc__ and "Returns" in spec.__doc__


def test_description_equality_ignores_distribution():
    a = Description("n", "m:C", "s", distribution="x")
    b = Description("n", "m:C", "s", distribution="y")
    assert a == b
