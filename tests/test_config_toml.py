"""TOML save and load: round trips of every field kind, docs as comments, validation of
loaded values with file and line, invalid syntax, and files that are never executed."""

from __future__ import annotations

import math
import tomllib

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
    FieldValidationError,
    ListField,
    RangeField,
    Task,
    makeRegistry,
    registerConfigurable,
)


class InnerConfig(Config):
    sigma = Field("Clipping threshold\nin standard deviations", float, default=3.0)
    planes = ListField("Bad mask planes", str, default=["EDGE"])


class StatsConfig(Config):
    numSigmaClip = Field("Number of sigma to clip at", float, default=3.0)
    numIter = Field("Number of clipping iterations", int, default=2)


class StatsTask(Task):
    ConfigClass = StatsConfig
    _DefaultName = "stats"


class SimpleConfig(Config):
    useNan = Field("Keep NaN pixels", bool, default=False)


class SimpleTask(Task):
    ConfigClass = SimpleConfig
    _DefaultName = "simple"


class AConfig(Config):
    a = Field("Choice A's value", int, default=1)


class BConfig(Config):
    b = Field("Choice B's value", str, default="bee")


registry = makeRegistry("algorithms")
registerConfigurable("stats", registry)(StatsTask)
registerConfigurable("simple", registry)(SimpleTask)


class EveryKind(Config):
    flag = Field("A flag", bool, default=True)
    count = Field("A count", int, default=-4)
    scale = Field("A scale", float, default=0.1)
    big = Field("A big number", float, default=1e300)
    label = Field("A label", str, default="plain")
    nothing = Field("Unset by default", float, default=None, optional=True)
    bounded = RangeField("In [0, 1)", float, default=0.5, min=0.0, max=1.0)
    mode = ChoiceField(
        "Mode", str, allowed={"fast": "Quick pass", "slow": "Careful"}, default="fast"
    )
    ints = ListField("Integers", int, default=[1, 2, 3])
    floats = ListField("Floats", float, default=[])
    names = ListField("Names", str, default=None, optional=True)
    gains = DictField("Gains per amplifier", str, float, default={"A": 1.5, "with space": 2.0})
    byNumber = DictField("By number", int, str, default={1: "one", 20: "twenty"})
    byFlag = DictField("By flag", bool, int, default={True: 1, False: 0})
    mixed = DictField("Mixed values", str, None, default={"i": 1, "s": "x", "b": False})
    inner = ConfigField("A nested config", InnerConfig)
    stats = ConfigurableField("Statistics subtask", target=StatsTask)
    choice = ConfigChoiceField("Choose A or B", {"A": AConfig, "B": BConfig}, default="A")
    multi = ConfigChoiceField("Several", {"A": AConfig, "B": BConfig}, multi=True, optional=True)
    algorithm = registry.makeField("Algorithm", default="stats")


def roundTrip(config: Config) -> Config:
    text = config.toToml()
    tomllib.loads(text)  # valid TOML
    return type(config).fromToml(text)


def assertSame(a: Config, b: Config) -> None:
    assert a.differences(b) == []
    assert a == b


def test_defaults_round_trip():
    config = EveryKind()
    assertSame(config, roundTrip(config))


def test_changed_values_round_trip():
    config = EveryKind()
    config.flag = False
    config.count = 2**40
    config.scale = 1 / 3
    config.big = -1.5e-300
    config.label = 'quote " backslash \\ newline \n tab \t nul \x00 del \x7f unicode é ☃'
    config.nothing = 2.0
    config.bounded = 0.0
    config.mode = "slow"
    config.ints = []
    config.floats = [0.5, -2, 1e-20]
    config.names = ["a", "b c", "[x]"]
    config.gains = {"key.with.dots": 3.0, "": 1.0, 'quote"key': 2.0}
    config.byNumber = {-3: "minus three"}
    config.byFlag = {False: 9}
    config.mixed = {}
    config.inner.sigma = 4.5
    config.inner.planes = ["EDGE", "SAT", "NO_DATA"]
    config.stats.numIter = 7
    config.choice = "B"
    config.choice["B"].b = "changed"
    config.choice["A"].a = 42  # an unselected choice keeps its values too
    config.multi = ["B", "A"]
    config.algorithm = "simple"
    config.algorithm["simple"].useNan = True
    clone = roundTrip(config)
    assertSame(config, clone)
    assert clone.label == config.label
    assert clone.choice["A"].a == 42
    assert clone.multi.names == ["B", "A"]
    assert clone.byFlag == {False: 9}
    assert clone.byNumber == {-3: "minus three"}
    assert clone.gains == {"key.with.dots": 3.0, "": 1.0, 'quote"key': 2.0}
    assert clone.algorithm.target is SimpleTask


def test_non_finite_floats_round_trip():
    config = EveryKind(scale=float("nan"), big=float("-inf"), nothing=float("inf"))
    config.floats = [float("nan"), float("inf")]
    config.gains = {"n": float("nan")}
    clone = roundTrip(config)
    assert math.isnan(clone.scale)
    assert clone.big == float("-inf")
    assert clone.nothing == float("inf")
    assert math.isnan(clone.floats[0]) and clone.floats[1] == float("inf")
    assert math.isnan(clone.gains["n"])
    assertSame(config, clone)


def test_none_round_trips_through_unset():
    config = EveryKind(nothing=None, names=None, mode=None, label=None)
    config.inner.sigma = None
    config.choice = None
    text = config.toToml()
    data = tomllib.loads(text)
    assert set(data["_unset"]) >= {"nothing", "names", "mode", "label"}
    assert data["inner"]["_unset"] == ["sigma"]
    clone = EveryKind.fromToml(text)
    assert clone.nothing is None and clone.names is None and clone.mode is None
    assert clone.label is None
    assert clone.inner.sigma is None
    assert clone.choice.name is None
    assertSame(config, clone)


def test_dict_field_rejects_none_items():
    # TOML has no null, so a None item could not be saved: it is refused on assignment.
    config = EveryKind()
    with pytest.raises(FieldValidationError, match="at key 'missing'"):
        config.mixed = {"missing": None}


def test_text_carries_docs_targets_and_choices():
    config = EveryKind()
    config.choice["B"]  # instantiate a second choice
    text = config.toToml()
    # The selected choice is written even if it was never touched.
    assert "[choice.A]\n# Choice A's value\na = 1" in text
    assert "[algorithm.stats]" in text
    assert text.startswith(f"# pipetask config {__name__}:EveryKind")
    for field in ("A flag", "A count", "Gains per amplifier", "Statistics subtask"):
        assert f"# {field}\n" in text
    # A multi-line doc becomes several comment lines.
    assert "# Clipping threshold\n# in standard deviations\nsigma = 3.0" in text
    # Allowed values of a ChoiceField are documented.
    assert '"fast": Quick pass' in text
    data = tomllib.loads(text)
    assert data["stats"]["_target"] == f"{__name__}:StatsTask"
    assert data["choice"]["_name"] == "A"
    assert set(data["choice"]) == {"_name", "A", "B"}
    assert data["algorithm"]["_name"] == "stats"
    assert data["flag"] is True
    assert data["inner"]["planes"] == ["EDGE"]


def test_save_and_load_file(tmp_path):
    config = EveryKind(count=17)
    config.stats.numSigmaClip = 10
    path = tmp_path / "sub" / "config.toml"
    config.saveToml(str(path))
    assert path.exists()
    assert not [p for p in path.parent.iterdir() if p.name != "config.toml"]
    clone = EveryKind()
    clone.loadToml(str(path))
    assertSame(config, clone)


def test_partial_file_applies_on_top(tmp_path):
    path = tmp_path / "override.toml"
    path.write_text("count = 5\n[stats]\nnumIter = 9\n")
    config = EveryKind(label="kept")
    config.loadToml(str(path))
    assert config.count == 5
    assert config.stats.numIter == 9
    assert config.label == "kept"
    assert config.stats.numSigmaClip == 3.0


@pytest.mark.parametrize(
    ("text", "line", "fragments"),
    [
        ('count = 1\n\nscale = "ten"\n', 3, ["'scale'", "'ten'", "float"]),
        ("count = 1.5\n", 1, ["'count'", "1.5", "int"]),
        ("count = true\n", 1, ["'count'", "bool"]),
        ("bounded = 2.0\n", 1, ["'bounded'", "outside of valid range"]),
        ('mode = "medium"\n', 1, ["'mode'", "'medium'"]),
        ('names = "abc"\n', 1, ["'names'", "Sequence type expected"]),
        ('ints = [1, "2"]\n', 1, ["'ints'", "position 1"]),
        ('byNumber = { x = "y" }\n', 1, ["'byNumber'", "'x'"]),
        ('# comment\n[inner]\nsigma = "x"\n', 3, ["'inner.sigma'"]),
        ("[stats]\nnumIter = 1.5\n", 2, ["'stats.numIter'"]),
        ('[choice.A]\na = "x"\n', 2, ["'choice.A.a'"]),
        # (the line of the table: the selection is applied as the table's value)
        ('[choice]\n_name = "C"\n', 1, ["Unknown key 'C'"]),
        ("count = 1\ncuont = 2\n", 2, ["no field 'cuont'", "did you mean 'count'"]),
        ("[inner]\nsigmaa = 1.0\n", 2, ["did you mean 'sigma'"]),
        ("[nosuch]\nx = 1\n", 1, ["no field 'nosuch'"]),
        ("inner = 3\n", 1, ["'inner'", "table"]),
        ('_unset = "count"\n', 1, ["list of field names"]),
    ],
)
def test_loaded_values_are_validated_with_file_and_line(tmp_path, text, line, fragments):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    config = EveryKind()
    with pytest.raises(ConfigError) as info:
        config.loadToml(str(path))
    message = str(info.value)
    assert message.startswith(f"{path}:{line}: "), message
    for fragment in fragments:
        assert fragment in message


def test_invalid_syntax_names_file_and_line(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("count = 1\nscale = \n")
    with pytest.raises(ConfigError) as info:
        EveryKind().loadToml(str(path))
    message = str(info.value)
    assert message.startswith(f"{path}:2: invalid TOML")


def test_missing_and_non_utf8_files(tmp_path):
    with pytest.raises(ConfigError, match="cannot read config file .*nosuch.toml"):
        EveryKind().loadToml(str(tmp_path / "nosuch.toml"))
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'label = "\xe9"\n')
    with pytest.raises(ConfigError, match="not UTF-8"):
        EveryKind().loadToml(str(path))


def test_config_files_are_never_executed(tmp_path):
    marker = tmp_path / "executed"
    path = tmp_path / "override.py"
    path.write_text(
        f"import pathlib\npathlib.Path({str(marker)!r}).write_text('ran')\nconfig.count = 99\n"
    )
    config = EveryKind()
    with pytest.raises(ConfigError, match="invalid TOML"):
        config.loadToml(str(path))
    assert not marker.exists()
    assert config.count == -4


def test_string_values_are_data_not_code(tmp_path):
    path = tmp_path / "sneaky.toml"
    path.write_text("label = \"__import__('os').system('false')\"\n")
    config = EveryKind()
    config.loadToml(str(path))
    assert config.label == "__import__('os').system('false')"


def test_a_rejected_file_may_leave_earlier_values_but_config_stays_valid(tmp_path):
    path = tmp_path / "half.toml"
    path.write_text('count = 8\nscale = "x"\n')
    config = EveryKind()
    with pytest.raises(ConfigError):
        config.loadToml(str(path))
    assert config.scale == 0.1  # the bad value never lands
    config.validate()
