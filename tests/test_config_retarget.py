"""Retargeting subtasks: by class, by import path string, from TOML and through tasks."""

from __future__ import annotations

import sys
import textwrap

import pytest
from pipetask import (
    Config,
    ConfigError,
    ConfigurableField,
    Field,
    FieldValidationError,
    ListField,
    PluginError,
    Task,
)


class ClippedConfig(Config):
    numSigmaClip = Field("Clip", float, default=3.0)
    numIter = Field("Iterations", int, default=2)
    badMaskPlanes = ListField("Bad planes", str, default=["EDGE"])


class ClippedStatsTask(Task):
    ConfigClass = ClippedConfig
    _DefaultName = "clipped"


class OtherClippedTask(Task):
    """Same config class, different implementation."""

    ConfigClass = ClippedConfig
    _DefaultName = "otherClipped"


class SimpleConfig(Config):
    badMaskPlanes = ListField("Bad planes", str, default=[])


class SimpleStatsTask(Task):
    ConfigClass = SimpleConfig
    _DefaultName = "simple"


class ExampleConfig(Config):
    stats = ConfigurableField("Statistics", target=ClippedStatsTask)


class ExampleTask(Task):
    ConfigClass = ExampleConfig
    _DefaultName = "exampleTask"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.makeSubtask("stats")


@pytest.fixture
def pluginModule(tmp_path, monkeypatch):
    """A module on sys.path with a stats task, for ``"module:Class"`` targets."""
    (tmp_path / "retarget_plugin_mod.py").write_text(
        textwrap.dedent(
            """
            from pipetask import Config, Field, Task

            class MedianConfig(Config):
                window = Field("Window size", int, default=5)

            class MedianStatsTask(Task):
                ConfigClass = MedianConfig
                _DefaultName = "median"
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "retarget_plugin_mod"
    sys.modules.pop("retarget_plugin_mod", None)


def test_retarget_swaps_config_class_and_drops_missing_fields():
    config = ExampleConfig()
    config.stats.numIter = 5
    config.stats.retarget(SimpleStatsTask)
    assert config.stats.target is SimpleStatsTask
    assert config.stats.ConfigClass is SimpleConfig
    assert isinstance(config.stats.value, SimpleConfig)
    assert config.stats.badMaskPlanes == []  # the new class's defaults
    with pytest.raises(AttributeError, match="no field 'numIter'"):
        config.stats.numIter  # noqa: B018
    with pytest.raises(AttributeError, match="no field 'numIter'"):
        config.stats.numIter = 3
    assert config.names() == ["stats.badMaskPlanes"]


def test_retarget_with_same_config_class_keeps_values():
    config = ExampleConfig()
    config.stats.numSigmaClip = 10
    config.stats.retarget(OtherClippedTask)
    assert config.stats.target is OtherClippedTask
    assert config.stats.numSigmaClip == 10.0


def test_retarget_with_explicit_config_class():
    config = ExampleConfig()
    config.stats.retarget(SimpleStatsTask, ConfigClass=ClippedConfig)
    assert config.stats.target is SimpleStatsTask
    assert config.stats.ConfigClass is ClippedConfig
    clone = ExampleConfig.fromToml(config.toToml())
    assert clone.stats.ConfigClass is ClippedConfig
    assert clone == config


def test_retarget_by_import_path(pluginModule):
    config = ExampleConfig()
    config.stats.retarget(f"{pluginModule}:MedianStatsTask")
    assert config.stats.target.__name__ == "MedianStatsTask"
    assert config.stats.window == 5
    config.stats.window = 7
    clone = ExampleConfig.fromToml(config.toToml())
    assert clone.stats.target is config.stats.target
    assert clone.stats.window == 7


def test_retarget_by_assigning_a_class_or_path(pluginModule):
    config = ExampleConfig()
    config.stats = SimpleStatsTask
    assert config.stats.target is SimpleStatsTask
    config.stats = f"{pluginModule}:MedianStatsTask"
    assert config.stats.target.__name__ == "MedianStatsTask"


def test_retarget_in_toml(pluginModule, tmp_path):
    path = tmp_path / "retarget.toml"
    path.write_text(f'[stats]\n_target = "{pluginModule}:MedianStatsTask"\nwindow = 9\n')
    config = ExampleConfig()
    config.loadToml(str(path))
    assert config.stats.target.__name__ == "MedianStatsTask"
    assert config.stats.window == 9
    # Fields of the new target are checked against it.
    path.write_text(f'[stats]\n_target = "{pluginModule}:MedianStatsTask"\nnumIter = 9\n')
    with pytest.raises(ConfigError, match=r"retarget.toml:3: .*no field 'numIter'"):
        ExampleConfig().loadToml(str(path))


def test_bad_retarget_targets(pluginModule):
    config = ExampleConfig()
    with pytest.raises(PluginError, match="cannot import 'no_such_module_xyz'"):
        config.stats.retarget("no_such_module_xyz:Task")
    with pytest.raises(PluginError, match="has no attribute 'Nope'"):
        config.stats.retarget(f"{pluginModule}:Nope")
    with pytest.raises(FieldValidationError, match="must define attribute 'ConfigClass'"):
        config.stats.retarget(dict)
    assert config.stats.target is ClippedStatsTask


def test_bad_retarget_in_toml_names_file(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text('[stats]\n_target = "no_such_module_xyz:Task"\n')
    with pytest.raises(ConfigError, match=r"bad.toml:\d+: .*no_such_module_xyz"):
        ExampleConfig().loadToml(str(path))


def test_task_uses_retargeted_subtask(pluginModule):
    config = ExampleConfig()
    config.stats.retarget(f"{pluginModule}:MedianStatsTask")
    task = ExampleTask(config=config)
    assert type(task.stats).__name__ == "MedianStatsTask"
    assert task.stats.getFullName() == "exampleTask.stats"
    assert task.stats.config.window == 5


def test_retarget_round_trip_and_history():
    config = ExampleConfig()
    config.stats.retarget(SimpleStatsTask)
    config.stats.badMaskPlanes = ["SAT"]
    clone = ExampleConfig.fromToml(config.toToml())
    assert clone.stats.target is SimpleStatsTask
    assert clone.stats.badMaskPlanes == ["SAT"]
    assert clone == config
    labels = [value for value, _ in config.history["stats"]]
    assert labels == [f"{__name__}:ClippedStatsTask", f"retarget {__name__}:SimpleStatsTask"]


def test_retarget_of_frozen_config_raises():
    config = ExampleConfig()
    config.freeze()
    with pytest.raises(FieldValidationError, match="frozen"):
        config.stats.retarget(SimpleStatsTask)
    assert config.stats.target is ClippedStatsTask
