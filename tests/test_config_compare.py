"""compare(): differences listed by dotted name with both values, including targets."""

from __future__ import annotations

import pytest
from pipetask import (
    Config,
    ConfigChoiceField,
    ConfigField,
    ConfigurableField,
    DictField,
    Field,
    ListField,
    Task,
)


class StatsConfig(Config):
    numSigmaClip = Field("Clip", float, default=3.0)
    numIter = Field("Iterations", int, default=2)
    badMaskPlanes = ListField("Planes", str, default=["EDGE"])


class StatsTask(Task):
    ConfigClass = StatsConfig
    _DefaultName = "stats"


class SimpleConfig(Config):
    x = Field("x", int, default=0)


class SimpleTask(Task):
    ConfigClass = SimpleConfig
    _DefaultName = "simple"


class Inner(Config):
    value = Field("v", float, default=1.0)


class AConfig(Config):
    a = Field("a", int, default=1)


class BConfig(Config):
    b = Field("b", int, default=2)


class TopConfig(Config):
    doFail = Field("Fail", bool, default=False)
    label = Field("Label", str, default="x")
    gains = DictField("Gains", str, float, default={"A": 1.0})
    inner = ConfigField("Inner", Inner)
    stats = ConfigurableField("Stats", target=StatsTask)
    choice = ConfigChoiceField("Choice", {"A": AConfig, "B": BConfig}, default="A")


def test_equal_configs_have_no_differences():
    assert TopConfig().differences(TopConfig()) == []
    assert TopConfig() == TopConfig()


def test_differences_by_dotted_name_with_both_values():
    a, b = TopConfig(), TopConfig()
    b.stats.numSigmaClip = 10
    b.doFail = True
    b.label = "y"
    b.inner.value = 2.0
    b.stats.badMaskPlanes = ["EDGE", "SAT"]
    b.gains = {"A": 1.0, "B": 2.0}
    differences = a.differences(b)
    assert "stats.numSigmaClip: 3.0 != 10.0" in differences
    assert "doFail: False != True" in differences
    assert "label: 'x' != 'y'" in differences
    assert "inner.value: 1.0 != 2.0" in differences
    assert "stats.badMaskPlanes: ['EDGE'] != ['EDGE', 'SAT']" in differences
    assert "gains: {'A': 1.0} != {'A': 1.0, 'B': 2.0}" in differences
    assert len(differences) == 6
    assert a != b


def test_target_differences():
    a, b = TopConfig(), TopConfig()
    b.stats.retarget(SimpleTask)
    assert a.differences(b) == [
        f"stats: target {__name__}:StatsTask != {__name__}:SimpleTask",
    ]


def test_choice_differences_only_for_selected():
    a, b = TopConfig(), TopConfig()
    b.choice["B"].b = 5  # not selected: not a difference
    assert a.differences(b) == []
    b.choice = "B"
    assert a.differences(b) == ["choice: selection ['A'] != ['B']"]
    a.choice = "B"
    assert a.differences(b) == ["choice.B.b: 2 != 5"]


def test_float_tolerance_and_nan():
    a, b = TopConfig(), TopConfig()
    b.inner.value = 1.0 + 1e-12
    assert a.differences(b) == []
    assert a.differences(b, rtol=0.0, atol=0.0) != []
    assert a != b  # == is exact
    a.inner.value = float("nan")
    b.inner.value = float("nan")
    assert a.differences(b) == []
    assert a == b
    b.inner.value = 1.0
    assert a.differences(b) == ["inner.value: nan != 1.0"]


def test_none_against_value():
    a, b = TopConfig(), TopConfig()
    b.label = None
    assert a.differences(b) == ["label: 'x' != None"]


def test_different_config_types():
    differences = TopConfig().differences(Inner())
    assert len(differences) == 1
    assert "config types do not match" in differences[0]
    assert "TopConfig" in differences[0] and "Inner" in differences[0]
    with pytest.raises(AssertionError):
        assert TopConfig() == Inner()


def test_compare_after_toml_round_trip_of_changed_config():
    a = TopConfig()
    a.stats.numIter = 4
    b = TopConfig.fromToml(a.toToml())
    assert a.differences(b) == []
    c = TopConfig()
    assert c.differences(b) == ["stats.numIter: 2 != 4"]
