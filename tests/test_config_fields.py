"""Every field kind's validation, with good and bad values, plus the Config object itself:
unknown names, setDefaults, validate, freeze and pickling."""

from __future__ import annotations

import math
import pickle

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
    RegistryField,
    Task,
    makeRegistry,
    registerConfigurable,
)


# -- Field ---------------------------------------------------------------------------------
class ScalarConfig(Config):
    flag = Field("A flag", bool, default=False)
    count = Field("A count", int, default=3)
    scale = Field("A scale", float, default=1.5)
    label = Field("A label", str, default="g")
    even = Field("An even number", int, default=2, check=lambda v: v % 2 == 0)
    maybe = Field("Optional", float, default=None, optional=True)
    needed = Field("Required", str, default="x")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("flag", True),
        ("count", -7),
        ("scale", 2.25),
        ("scale", float("nan")),
        ("scale", float("inf")),
        ("label", ""),
        ("label", "with space"),
        ("even", 4),
        ("maybe", None),
    ],
)
def test_field_accepts_good_values(name, value):
    config = ScalarConfig()
    setattr(config, name, value)
    got = getattr(config, name)
    if isinstance(value, float) and math.isnan(value):
        assert math.isnan(got)
    else:
        assert got == value
        assert type(got) is type(value)


def test_int_is_accepted_for_float_and_converted():
    config = ScalarConfig(scale=1)
    assert config.scale == 1.0
    assert type(config.scale) is float
    config.scale = 7
    assert type(config.scale) is float


@pytest.mark.parametrize(
    ("name", "value", "typename", "expected"),
    [
        ("scale", "ten", "str", "float"),
        ("scale", True, "bool", "float"),
        ("count", True, "bool", "int"),
        ("count", 1.5, "float", "int"),
        ("count", "3", "str", "int"),
        ("flag", 1, "int", "bool"),
        ("flag", "true", "str", "bool"),
        ("label", 3, "int", "str"),
        ("label", ["g"], "list", "str"),
    ],
)
def test_field_rejects_wrong_type(name, value, typename, expected):
    config = ScalarConfig()
    before = getattr(config, name)
    with pytest.raises(FieldValidationError) as info:
        setattr(config, name, value)
    message = str(info.value)
    assert f"'{name}'" in message
    assert repr(value) in message
    assert f"incorrect type {typename}" in message
    assert f"Expected type {expected}" in message
    assert info.value.field == name
    # The value is unchanged after a rejected assignment.
    assert getattr(config, name) == before


def test_ten_for_float_at_construction_names_field_type_and_value():
    with pytest.raises(FieldValidationError) as info:
        ScalarConfig(scale="ten")
    message = str(info.value)
    assert message.startswith("Field 'scale' failed validation")
    assert "'ten'" in message
    assert "float" in message
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, ConfigError)


def test_field_check():
    config = ScalarConfig()
    with pytest.raises(FieldValidationError, match="Value 3 is not a valid value"):
        config.even = 3
    assert config.even == 2


def test_unsupported_dtype():
    with pytest.raises(ValueError, match="Unsupported Field dtype"):
        Field("bad", list)
    with pytest.raises(ValueError, match="Unsupported Field dtype"):
        Field("bad", complex)


def test_none_passes_assignment_but_not_validate():
    config = ScalarConfig()
    config.needed = None
    config.maybe = None
    with pytest.raises(FieldValidationError, match="'needed'.*Required value cannot be None"):
        config.validate()
    config.needed = "y"
    config.validate()


def test_default_is_validated():
    with pytest.raises(FieldValidationError, match="'bad'"):

        class BadDefault(Config):
            bad = Field("bad default", int, default="x")

        BadDefault()


def test_positional_signature_like_pex_config():
    class Positional(Config):
        value = Field("doc", float, 2.0)

    assert Positional().value == 2.0


# -- RangeField ----------------------------------------------------------------------------
class RangeConfig(Config):
    default = RangeField("[0, 10)", int, default=0, min=0, max=10)
    closed = RangeField("[0, 1]", float, default=0.5, min=0.0, max=1.0, inclusiveMax=True)
    opened = RangeField("(0, 1)", float, default=0.5, min=0.0, max=1.0, inclusiveMin=False)
    lower = RangeField("[-1, inf)", float, default=0.0, min=-1.0)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("default", 0),
        ("default", 9),
        ("closed", 0.0),
        ("closed", 1.0),
        ("closed", 1),
        ("opened", 1e-9),
        ("lower", -1.0),
        ("lower", 1e300),
    ],
)
def test_range_accepts(name, value):
    config = RangeConfig()
    setattr(config, name, value)
    assert getattr(config, name) == value


@pytest.mark.parametrize(
    ("name", "value", "shown"),
    [
        ("default", 10, "[0,10)"),
        ("default", -1, "[0,10)"),
        ("closed", 1.0000001, "[0.0,1.0]"),
        ("opened", 0.0, "(0.0,1.0)"),
        ("opened", 1.0, "(0.0,1.0)"),
        ("lower", -1.5, "[-1.0,inf)"),
    ],
)
def test_range_rejects(name, value, shown):
    config = RangeConfig()
    with pytest.raises(FieldValidationError) as info:
        setattr(config, name, value)
    assert str(info.value).startswith(f"RangeField '{name}' failed validation")
    assert f"outside of valid range {shown}" in str(info.value)


def test_range_type_is_checked_before_range():
    with pytest.raises(FieldValidationError, match="incorrect type float"):
        RangeConfig(default=1.5)


def test_range_field_construction_errors():
    with pytest.raises(ValueError, match="int and float"):
        RangeField("x", str, min=0)
    with pytest.raises(ValueError, match="both be None"):
        RangeField("x", int)
    with pytest.raises(ValueError, match="no valid value"):
        RangeField("x", int, min=5, max=1)


# -- ChoiceField ---------------------------------------------------------------------------
class ChoiceConfig(Config):
    mode = ChoiceField("How", str, allowed={"fast": "quick", "slow": "careful"}, default="fast")
    level = ChoiceField("Level", int, allowed={1: "one", 2: "two"}, default=1)
    strict = ChoiceField("Strict", str, allowed={"a": "", "b": ""}, default="a", optional=False)


def test_choice_accepts_allowed_values_and_none_by_default():
    config = ChoiceConfig()
    config.mode = "slow"
    config.level = 2
    config.mode = None  # ChoiceField is optional by default, as in pex_config
    config.validate()
    assert config.mode is None


def test_choice_rejects_others():
    config = ChoiceConfig()
    with pytest.raises(FieldValidationError) as info:
        config.mode = "medium"
    assert "'medium'" in str(info.value)
    assert "'fast'" in str(info.value) and "'slow'" in str(info.value)
    with pytest.raises(FieldValidationError, match="incorrect type str"):
        config.level = "1"
    config.strict = None
    with pytest.raises(FieldValidationError, match="Required value cannot be None"):
        config.validate()


def test_choice_field_construction_errors():
    with pytest.raises(ValueError, match="at least one"):
        ChoiceField("x", str, allowed={})
    with pytest.raises(ValueError, match="not of type int"):
        ChoiceField("x", int, allowed={"a": ""})


# -- ListField -----------------------------------------------------------------------------
class ListConfig(Config):
    planes = ListField("Mask planes", str, default=["EDGE"])
    weights = ListField("Weights", float, default=[1.0, 2.0])
    exact = ListField("Three items", int, default=[1, 2, 3], length=3)
    bounded = ListField("1 to 2 items", int, default=[1], minLength=1, maxLength=2)
    positive = ListField("Positive", int, default=[], itemCheck=lambda v: v > 0)
    sorted_ = ListField(
        "Sorted", int, default=[1, 2], listCheck=lambda items: items == sorted(items)
    )
    empty = ListField("Must be filled in", int, default=[], minLength=1)


def test_list_accepts_and_converts():
    config = ListConfig(empty=[5])
    config.weights = [1, 2.5, 3]
    assert config.weights == [1.0, 2.5, 3.0]
    assert all(type(w) is float for w in config.weights)
    config.planes = ("EDGE", "NO_DATA")
    assert list(config.planes) == ["EDGE", "NO_DATA"]
    config.validate()


def test_list_rejects_string_as_list():
    config = ListConfig()
    with pytest.raises(FieldValidationError) as info:
        config.planes = "EDGE"
    assert "Sequence type expected" in str(info.value)
    assert "'EDGE'" in str(info.value)
    assert config.planes == ["EDGE"]


@pytest.mark.parametrize(
    ("name", "value", "position"),
    [("planes", ["EDGE", 3], 1), ("weights", [1.0, "x"], 1), ("exact", [True, 2, 3], 0)],
)
def test_list_rejects_bad_item_type(name, value, position):
    config = ListConfig()
    with pytest.raises(FieldValidationError, match=f"Item at position {position}"):
        setattr(config, name, value)


def test_list_item_check_applies_on_assignment_and_append():
    config = ListConfig()
    config.positive = [1, 2]
    with pytest.raises(FieldValidationError, match="position 1"):
        config.positive = [1, -2]
    with pytest.raises(FieldValidationError, match="position 2"):
        config.positive.append(0)
    assert config.positive == [1, 2]
    with pytest.raises(FieldValidationError, match="incorrect type"):
        config.planes.append(7)


def test_list_length_rules_wait_for_validate():
    config = ListConfig()
    # A default that does not satisfy minLength is fine until validate (as in pex_config).
    with pytest.raises(FieldValidationError, match="'empty'.*Minimum allowed list length=1"):
        config.validate()
    config.empty.append(4)
    config.validate()
    config.exact.append(4)
    with pytest.raises(FieldValidationError, match="Required list length=3, got length=4"):
        config.validate()
    del config.exact[0]
    config.validate()
    config.bounded = [1, 2, 3]
    with pytest.raises(FieldValidationError, match="Maximum allowed list length=2"):
        config.validate()
    config.bounded = []
    with pytest.raises(FieldValidationError, match="Minimum allowed list length=1"):
        config.validate()
    config.bounded = [7]
    config.sorted_ = [2, 1]
    with pytest.raises(FieldValidationError, match="'sorted_'.*not a valid value"):
        config.validate()
    config.sorted_ = [1, 2]
    config.validate()


def test_list_proxy_edits_are_recorded_and_frozen():
    config = ListConfig(empty=[1])
    config.planes.append("SAT")
    config.planes[0] = "CR"
    config.planes.insert(0, "BAD")
    assert config.planes == ["BAD", "CR", "SAT"]
    assert len(config.planes) == 3
    assert config.history["planes"][-1][0] == ["BAD", "CR", "SAT"]
    config.freeze()
    with pytest.raises(FieldValidationError, match="frozen"):
        config.planes.append("X")
    with pytest.raises(FieldValidationError, match="frozen"):
        config.planes[0] = "X"
    with pytest.raises(FieldValidationError, match="frozen"):
        del config.planes[0]
    assert config.planes == ["BAD", "CR", "SAT"]


def test_list_field_construction_errors():
    with pytest.raises(ValueError, match="Unsupported ListField dtype"):
        ListField("x", dict)


# -- DictField -----------------------------------------------------------------------------
class DictConfig(Config):
    gains = DictField("Gain per amp", str, float, default={"A": 1.0})
    byId = DictField("By id", int, str, default={})
    anything = DictField("Any simple value", str, None, default={})
    checked = DictField("Checked", str, int, default={}, itemCheck=lambda v: v >= 0)
    whole = DictField("Two keys at most", str, int, default={}, dictCheck=lambda d: len(d) <= 2)


def test_dict_accepts_and_converts():
    config = DictConfig()
    config.gains = {"A": 1, "B": 2.5}
    assert config.gains == {"A": 1.0, "B": 2.5}
    assert type(config.gains["A"]) is float
    config.gains["C"] = 3
    assert config.gains["C"] == 3.0
    del config.gains["A"]
    assert set(config.gains) == {"B", "C"}
    config.byId = {1: "one"}
    config.anything = {"a": 1, "b": "two", "c": True, "d": 1.5}
    assert config.anything["b"] == "two"


@pytest.mark.parametrize(
    ("name", "value", "match"),
    [
        ("gains", {1: 1.0}, "Key 1 is of type int, expected type str"),
        ("gains", {"A": "x"}, "Value 'x' at key 'A' is of incorrect type str"),
        ("byId", {"1": "one"}, "Key '1' is of type str, expected type int"),
        ("anything", {"a": [1]}, "at key 'a' is of incorrect type list"),
        ("gains", [("A", 1.0)], "Mapping type expected"),
        ("checked", {"a": -1}, "Item at key 'a' is not a valid value"),
        ("whole", {"a": 1, "b": 2, "c": 3}, "not a valid value"),
    ],
)
def test_dict_rejects(name, value, match):
    config = DictConfig()
    with pytest.raises(FieldValidationError, match=match) as info:
        setattr(config, name, value)
    assert f"'{name}'" in str(info.value)


def test_dict_item_set_is_checked_and_frozen():
    config = DictConfig()
    with pytest.raises(FieldValidationError, match="incorrect type"):
        config.gains["B"] = "high"
    assert "B" not in config.gains
    config.freeze()
    with pytest.raises(FieldValidationError, match="frozen"):
        config.gains["B"] = 2.0


def test_dict_field_construction_errors():
    with pytest.raises(ValueError, match="keytype"):
        DictField("x", list, int)
    with pytest.raises(ValueError, match="itemtype"):
        DictField("x", str, dict)


# -- ConfigField ---------------------------------------------------------------------------
class InnerConfig(Config):
    sigma = Field("Sigma", float, default=3.0)
    iterations = Field("Iterations", int, default=2)


class OuterConfig(Config):
    inner = ConfigField("Nested", InnerConfig)
    preset = ConfigField("Nested with a default", InnerConfig, default=InnerConfig(sigma=5.0))
    name = Field("A name", str, default="x")


def test_config_field_nested_access_and_defaults():
    config = OuterConfig()
    assert config.inner.sigma == 3.0
    assert config.preset.sigma == 5.0
    config.inner.sigma = 4
    assert config.inner.sigma == 4.0
    with pytest.raises(FieldValidationError, match="'inner.sigma'"):
        config.inner.sigma = "ten"
    # The class default is not shared between instances.
    other = OuterConfig()
    other.preset.sigma = 6.0
    assert OuterConfig().preset.sigma == 5.0


def test_config_field_assignment_copies_values():
    config = OuterConfig()
    source = InnerConfig(sigma=9.0)
    config.inner = source
    assert config.inner.sigma == 9.0
    assert config.inner is not source
    source.sigma = 1.0
    assert config.inner.sigma == 9.0
    config.inner = {"iterations": 7}
    assert config.inner.iterations == 7
    with pytest.raises(FieldValidationError, match="'inner'.*incorrect type int"):
        config.inner = 3
    with pytest.raises(FieldValidationError, match="'inner'"):
        config.inner = OuterConfig()


def test_config_field_needs_config_class():
    with pytest.raises(ValueError, match="Config subclass"):
        ConfigField("x", dict)


def test_config_field_check():
    class Checked(Config):
        inner = ConfigField("x", InnerConfig, check=lambda c: c.iterations < 10)

    config = Checked()
    config.validate()
    config.inner.iterations = 11
    with pytest.raises(FieldValidationError, match="'inner'"):
        config.validate()


# -- ConfigurableField ---------------------------------------------------------------------
class StatsConfig(Config):
    numSigmaClip = Field("Clip", float, default=3.0)
    numIter = Field("Iterations", int, default=2)


class StatsTask(Task):
    ConfigClass = StatsConfig
    _DefaultName = "stats"


class HolderConfig(Config):
    stats = ConfigurableField("Statistics", target=StatsTask)
    preset = ConfigurableField(
        "Preset statistics", target=StatsTask, default=StatsConfig(numIter=5)
    )


def test_configurable_field_value_target_and_apply():
    config = HolderConfig()
    assert config.stats.target is StatsTask
    assert config.stats.ConfigClass is StatsConfig
    assert isinstance(config.stats.value, StatsConfig)
    assert config.stats.numSigmaClip == 3.0
    assert config.preset.numIter == 5
    config.stats.numSigmaClip = 10
    assert config.stats.value.numSigmaClip == 10.0
    with pytest.raises(FieldValidationError, match="'stats.numIter'"):
        config.stats.numIter = 1.5
    task = config.stats.apply(name="stats")
    assert isinstance(task, StatsTask)
    assert task.config.numSigmaClip == 10.0


def test_configurable_field_assignment_of_config_copies():
    config = HolderConfig()
    config.stats = StatsConfig(numIter=9)
    assert config.stats.numIter == 9
    assert config.stats.target is StatsTask
    with pytest.raises(FieldValidationError, match="'stats'.*incorrect type int"):
        config.stats = 3


def test_configurable_field_target_needs_config_class():
    def plain():
        return None

    with pytest.raises(FieldValidationError, match="must define attribute 'ConfigClass'"):
        ConfigurableField("x", target=plain)
    with pytest.raises(FieldValidationError, match="not callable"):
        ConfigurableField("x", target=3)


# -- ConfigChoiceField and registries ------------------------------------------------------
class AConfig(Config):
    a = Field("a", int, default=1)


class BConfig(Config):
    b = Field("b", str, default="bee")


class ChoiceHolder(Config):
    one = ConfigChoiceField("Pick one", {"A": AConfig, "B": BConfig}, default="A")
    many = ConfigChoiceField("Pick several", {"A": AConfig, "B": BConfig}, multi=True)
    needed = ConfigChoiceField("Must pick", {"A": AConfig, "B": BConfig})


def test_config_choice_field_selection_and_access():
    config = ChoiceHolder(needed="B")
    assert config.one.name == "A"
    assert config.one.active.a == 1
    config.one["A"].a = 5
    config.one["B"].b = "x"
    config.one = "B"
    assert config.one.name == "B"
    assert config.one.active.b == "x"
    assert config.one["A"].a == 5  # other choices keep their values
    config.one.name = "A"
    assert config.one.active.a == 5
    config.many = ["A", "B"]
    assert config.many.names == ["A", "B"]
    assert [type(c) for c in config.many.active] == [AConfig, BConfig]
    config.validate()


def test_config_choice_field_errors():
    config = ChoiceHolder()
    with pytest.raises(FieldValidationError, match="Required field cannot be None"):
        config.validate()
    with pytest.raises(FieldValidationError, match="Unknown key 'C'"):
        config.one = "C"
    with pytest.raises(FieldValidationError, match="Unknown key 'a'; choices: A, B"):
        config.one["a"]
    with pytest.raises(ConfigError, match="Single-selection field has no attribute 'names'"):
        config.one.names  # noqa: B018
    with pytest.raises(ConfigError, match="Multi-selection field has no attribute 'name'"):
        config.many.name  # noqa: B018
    with pytest.raises(FieldValidationError, match="'one.A.a'"):
        config.one["A"].a = "x"


def test_config_choice_only_selected_choices_are_validated():
    class Checked(Config):
        c = ConfigChoiceField("x", {"A": AConfig, "B": BConfig}, default="B")

    config = Checked()
    config.c["A"].a = None
    config.validate()
    config.c = "A"
    with pytest.raises(FieldValidationError, match="'c.A.a'"):
        config.validate()


statsRegistry = makeRegistry("Statistics implementations")


class ClippedConfig(Config):
    numSigmaClip = Field("Clip", float, default=3.0)


@registerConfigurable("clipped", statsRegistry)
class ClippedTask(Task):
    ConfigClass = ClippedConfig
    _DefaultName = "clipped"


class SimpleConfig(Config):
    useWeights = Field("Weights", bool, default=False)


@registerConfigurable("simple", statsRegistry)
class SimpleTask(Task):
    ConfigClass = SimpleConfig
    _DefaultName = "simple"


class RegistryHolder(Config):
    algorithm = statsRegistry.makeField("Statistics to use", default="clipped")
    several = statsRegistry.makeField("Several", multi=True, optional=True)


def test_registry_field_selects_and_applies():
    config = RegistryHolder()
    assert isinstance(RegistryHolder.algorithm, RegistryField)
    assert config.algorithm.name == "clipped"
    assert config.algorithm.target is ClippedTask
    config.algorithm["clipped"].numSigmaClip = 5
    task = config.algorithm.apply(name="stats")
    assert isinstance(task, ClippedTask)
    assert task.config.numSigmaClip == 5.0
    config.algorithm = "simple"
    assert config.algorithm.target is SimpleTask
    assert isinstance(config.algorithm.apply(name="stats"), SimpleTask)
    config.several = ["simple", "clipped"]
    assert config.several.targets == [SimpleTask, ClippedTask]
    tasks = config.several.apply(name="s")
    assert [type(t) for t in tasks] == [SimpleTask, ClippedTask]
    with pytest.raises(FieldValidationError, match="Unknown key 'median'"):
        config.algorithm = "median"


def test_registry_rules():
    registry = makeRegistry("local", configBaseType=ClippedConfig)
    registry.register("clipped", ClippedTask)
    with pytest.raises(ConfigError, match="An item with name 'clipped' already exists"):
        registry.register("clipped", ClippedTask)
    with pytest.raises(ConfigError, match="not a subclass of ClippedConfig"):
        registry.register("simple", SimpleTask)
    with pytest.raises(ConfigError, match="must define attribute 'ConfigClass'"):
        registry.register("fn", lambda: None)
    assert list(registry) == ["clipped"]
    assert len(registry) == 1


def test_registry_apply_without_selection():
    config = RegistryHolder()
    config.algorithm = None
    with pytest.raises(ConfigError, match="No selection has been made. Options: clipped simple"):
        config.algorithm.apply()


# -- The Config object ---------------------------------------------------------------------
def test_unknown_field_names_suggest():
    with pytest.raises(ConfigError, match=r"no field 'scal' \(did you mean 'scale'\?\)"):
        ScalarConfig(scal=1.0)
    config = ScalarConfig()
    with pytest.raises(AttributeError, match=r"did you mean 'count'\?"):
        config.cuont = 1
    with pytest.raises(AttributeError, match=r"did you mean 'count'\?"):
        config.cuont  # noqa: B018
    with pytest.raises(ConfigError, match="no field 'zzzzzz'") as info:
        config.update(zzzzzz=1)
    assert "did you mean" not in str(info.value)
    assert not hasattr(config, "nosuch")


def test_field_names_may_not_start_with_underscore():
    with pytest.raises(ValueError, match="may not start with '_'"):

        class Bad(Config):
            _hidden = Field("x", int, default=1)


def test_inheritance_and_setDefaults():
    class Base(Config):
        x = Field("x", int, default=1)
        y = Field("y", int, default=2)

        def setDefaults(self):
            super().setDefaults()
            self.y = 20

    class Derived(Base):
        z = Field("z", int, default=3)

        def setDefaults(self):
            super().setDefaults()
            self.x = self.y + 1

    config = Derived()
    assert (config.x, config.y, config.z) == (21, 20, 3)
    assert config.keys() == ["x", "y", "z"]
    # Keyword arguments apply after setDefaults.
    assert Derived(y=5).y == 5
    assert Base().x == 1


def test_validate_cross_field_rule():
    class Window(Config):
        low = Field("low", float, default=0.0)
        high = Field("high", float, default=1.0)

        def validate(self):
            super().validate()
            if self.low >= self.high:
                raise FieldValidationError("high", f"must exceed low={self.low}")

    Window().validate()
    with pytest.raises(FieldValidationError, match="must exceed low=2.0"):
        Window(low=2.0).validate()


def test_freeze_blocks_every_change():
    config = OuterConfig()
    holder = HolderConfig()
    choices = ChoiceHolder()
    dicts = DictConfig()
    for c in (config, holder, choices, dicts):
        c.freeze()
        assert c.frozen
    with pytest.raises(FieldValidationError, match="Cannot modify a frozen Config"):
        config.name = "y"
    with pytest.raises(FieldValidationError, match="frozen"):
        config.inner.sigma = 1.0
    with pytest.raises(FieldValidationError, match="frozen"):
        del config.name
    with pytest.raises(FieldValidationError, match="frozen"):
        holder.stats.numIter = 1
    with pytest.raises(FieldValidationError, match="frozen"):
        holder.stats.retarget(StatsTask)
    with pytest.raises(FieldValidationError, match="frozen"):
        holder.stats = StatsConfig()
    with pytest.raises(FieldValidationError, match="frozen"):
        choices.one = "B"
    with pytest.raises(FieldValidationError, match="frozen"):
        choices.one["A"].a = 3
    with pytest.raises(FieldValidationError, match="frozen"):
        choices.one["B"].b = "z"  # a choice first reached after freezing is frozen too
    with pytest.raises(FieldValidationError, match="frozen"):
        dicts.gains["A"] = 2.0
    assert config.name == "x"


def test_inspection():
    config = OuterConfig()
    assert "inner" in config
    assert "nosuch" not in config
    assert list(config) == ["inner", "preset", "name"]
    assert config.names() == [
        "inner.sigma",
        "inner.iterations",
        "preset.sigma",
        "preset.iterations",
        "name",
    ]
    assert config.toDict() == {
        "inner": {"sigma": 3.0, "iterations": 2},
        "preset": {"sigma": 5.0, "iterations": 2},
        "name": "x",
    }
    assert dict(config.items())["name"] == "x"


def test_pickle_round_trip_of_every_kind():
    configs = [
        ScalarConfig(count=9, maybe=None, scale=float("nan")),
        RangeConfig(closed=1.0),
        ChoiceConfig(mode="slow", level=None),
        ListConfig(planes=["A", "B"], empty=[1]),
        DictConfig(gains={"X": 2.0}, byId={3: "three"}),
        OuterConfig(name="n"),
        ChoiceHolder(needed="B", many=["B"]),
        RegistryHolder(algorithm="simple"),
    ]
    configs[5].inner.sigma = 7.0
    holder = HolderConfig()
    holder.stats.numIter = 11
    configs.append(holder)
    for config in configs:
        clone = pickle.loads(pickle.dumps(config))
        assert type(clone) is type(config)
        assert clone == config, config.compare(clone)
        assert not clone.frozen
    frozen = OuterConfig()
    frozen.freeze()
    clone = pickle.loads(pickle.dumps(frozen))
    assert clone.frozen
    with pytest.raises(FieldValidationError):
        clone.name = "z"
