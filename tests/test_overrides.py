"""``-c NAME=VALUE`` overrides: TOML values, bare words, lists, retargets and bad forms."""

from __future__ import annotations

import math
import sys
import textwrap

import pytest
from pipetask import (
    ChoiceField,
    Config,
    ConfigChoiceField,
    ConfigError,
    ConfigField,
    ConfigurableField,
    DictField,
    Field,
    ListField,
    Task,
)
from pipetask.config import applyOverride


class StatsConfig(Config):
    numSigmaClip = Field("Clip", float, default=3.0)
    numIter = Field("Iterations", int, default=2)
    badMaskPlanes = ListField("Planes", str, default=["EDGE"])


class StatsTask(Task):
    ConfigClass = StatsConfig
    _DefaultName = "stats"


class SimpleConfig(Config):
    badMaskPlanes = ListField("Planes", str, default=[])


class SimpleTask(Task):
    ConfigClass = SimpleConfig
    _DefaultName = "simple"


class AConfig(Config):
    a = Field("a", int, default=1)


class BConfig(Config):
    b = Field("b", str, default="bee")


class Inner(Config):
    value = Field("v", float, default=1.0)


class TopConfig(Config):
    doFail = Field("Fail", bool, default=False)
    filterName = Field("Filter", str, default="g")
    count = Field("Count", int, default=0)
    mode = ChoiceField("Mode", str, allowed={"fast": "", "slow": ""}, default="fast")
    gains = DictField("Gains", str, float, default={})
    inner = ConfigField("Inner", Inner)
    stats = ConfigurableField("Stats", target=StatsTask)
    choice = ConfigChoiceField("Choice", {"A": AConfig, "B": BConfig}, default="A")


@pytest.fixture
def config():
    return TopConfig()


@pytest.mark.parametrize(
    ("text", "name", "expected"),
    [
        ("doFail=true", "doFail", True),
        ("count=42", "count", 42),
        ("count = 7", "count", 7),
        ("stats.numSigmaClip=10", "stats.numSigmaClip", 10.0),
        ("stats.numSigmaClip=2.5e1", "stats.numSigmaClip", 25.0),
        ("config.stats.numIter=4", "stats.numIter", 4),
        ("filterName=r", "filterName", "r"),
        ("filterName=HSC-I", "filterName", "HSC-I"),
        ('filterName="quoted value"', "filterName", "quoted value"),
        ("filterName=10", "filterName", "10"),
        ("filterName=true", "filterName", "true"),
        ("filterName=", "filterName", ""),
        ("mode=slow", "mode", "slow"),
        ('stats.badMaskPlanes=["EDGE","NO_DATA"]', "stats.badMaskPlanes", ["EDGE", "NO_DATA"]),
        ("stats.badMaskPlanes=[]", "stats.badMaskPlanes", []),
        ("gains={ A = 1.5, B = 2 }", "gains", {"A": 1.5, "B": 2.0}),
        ("inner.value=-3", "inner.value", -3.0),
        ("choice=B", "choice.name", "B"),
        ("choice.A.a=5", "choice.A.a", 5),
        ("choice.B.b=word", "choice.B.b", "word"),
    ],
)
def test_good_overrides(config, text, name, expected):
    applyOverride(config, text)
    value = config
    for part in name.split("."):
        value = value[part] if part in ("A", "B") else getattr(value, part)
    assert value == expected
    assert type(value if not hasattr(value, "_items") else value._items) in (
        type(expected),
        list,
        dict,
    )


def test_nan_and_inf(config):
    applyOverride(config, "stats.numSigmaClip=nan")
    assert math.isnan(config.stats.numSigmaClip)
    applyOverride(config, "inner.value=-inf")
    assert config.inner.value == float("-inf")


@pytest.fixture
def pluginModule(tmp_path, monkeypatch):
    (tmp_path / "override_plugin_mod.py").write_text(
        textwrap.dedent(
            """
            from pipetask import Config, Field, Task

            class MedianConfig(Config):
                window = Field("Window", int, default=5)

            class MedianTask(Task):
                ConfigClass = MedianConfig
                _DefaultName = "median"
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "override_plugin_mod"
    sys.modules.pop("override_plugin_mod", None)


def test_retarget_with_target_key(config, pluginModule):
    applyOverride(config, f"stats._target={pluginModule}:MedianTask")
    assert config.stats.target.__name__ == "MedianTask"
    applyOverride(config, "stats.window=9")
    assert config.stats.window == 9
    assert config.history["stats"][-1][1] == f"-c stats._target={pluginModule}:MedianTask"


def test_retarget_by_assigning_the_field(config):
    applyOverride(config, f"stats={__name__}:SimpleTask")
    assert config.stats.target is SimpleTask
    assert config.stats.badMaskPlanes == []


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("count", ["-c value 'count' must be in form name=value"]),
        ("=3", ["must be in form name=value"]),
        ("nosuch=1", ["no field 'nosuch'"]),
        ("cuont=1", ["did you mean 'count'"]),
        ("stats.nosuch=1", ["no field 'nosuch'", "'stats'"]),
        ("stats.numSigmaClp=1", ["did you mean 'numSigmaClip'"]),
        ("nosuch.x=1", ["no field 'nosuch'"]),
        ("count.x=1", ["'count' is a Field, not a nested config"]),
        ("count=abc", ["cannot parse 'abc' as a value for count"]),
        ("count=1.5", ["'count'", "incorrect type float"]),
        ("doFail=yes", ["cannot parse 'yes'", "true or false"]),
        ("stats.numSigmaClip=ten", ["cannot parse 'ten'", "float"]),
        ("stats.badMaskPlanes=EDGE", ["cannot parse 'EDGE'", 'e.g. ["A", "B"]']),
        ("stats.badMaskPlanes=[1]", ["position 0"]),
        ("mode=medium", ["'medium'", "not allowed"]),
        ("choice=C", ["Unknown key 'C'"]),
        ("choice.C.a=1", ["Unknown key 'C'"]),
        ("choice.A=1", ["name a field of an entry"]),
        ("inner=1", ["nested config", "inner.FIELD=VALUE"]),
        ("count._target=x:Y", ["only a subtask field can be retargeted"]),
        ("stats._target=no_such_mod_xyz:T", ["no_such_mod_xyz"]),
    ],
)
def test_bad_overrides_name_the_problem(config, text, fragments):
    before = config.toToml()
    with pytest.raises(ConfigError) as info:
        applyOverride(config, text)
    message = str(info.value)
    assert message.startswith("-c ") and text in message, message
    for fragment in fragments:
        assert fragment in message, message
    assert config.toToml() == before


def test_overrides_apply_in_order(config):
    applyOverride(config, "count=1")
    applyOverride(config, "count=2")
    assert config.count == 2
    assert [v for v, _ in config.history["count"]] == [0, 1, 2]


def test_override_of_frozen_config(config):
    config.freeze()
    with pytest.raises(ConfigError, match="frozen"):
        applyOverride(config, "count=1")
