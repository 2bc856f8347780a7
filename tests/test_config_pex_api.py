"""The pex_config API that ported code relies on, item by item, through the public API."""

from __future__ import annotations

import io
import pickle

import numpy as np
import pipetask.config as pexConfig
import pytest
from pipetask.config import (
    ChoiceField,
    Config,
    ConfigChoiceField,
    ConfigDictField,
    ConfigField,
    ConfigurableField,
    DictField,
    Field,
    FieldValidationError,
    ListField,
    RangeField,
    UnexpectedProxyUsageError,
    compareConfigs,
    makeRegistry,
    registerConfigurable,
)


class PointConfig(Config):
    x = Field[float](doc="x", default=1.0)
    y = Field[float](doc="y", default=2.0)


class OtherPointConfig(Config):
    z = Field[int](doc="z", default=3)


registry = makeRegistry("shapes")


@registerConfigurable("point", registry)
class PointTask:
    ConfigClass = PointConfig

    def __init__(self, config, scale=1.0):
        self.config, self.scale = config, scale


@registerConfigurable("other", registry)
class OtherTask:
    ConfigClass = OtherPointConfig

    def __init__(self, config):
        self.config = config


class SubtaskTask:
    ConfigClass = PointConfig

    def __init__(self, config):
        self.config = config


class EverythingConfig(Config):
    count = Field[int](doc="a count", default=3)
    gains = DictField[str, float](doc="gains", default={"a": 1.0})
    names = ListField[str](doc="names", default=["EDGE"])
    level = RangeField[float](doc="level", default=0.5, min=0.0, max=1.0)
    mode = ChoiceField[str](
        doc="mode", allowed={"fast": "quick", "slow": "careful"}, default="fast"
    )
    point = ConfigField(doc="a point", dtype=PointConfig)
    choice = ConfigChoiceField("a choice", {"P": PointConfig, "O": OtherPointConfig}, default="P")
    multi = ConfigChoiceField("several", {"P": PointConfig, "O": OtherPointConfig}, multi=True)
    shape = registry.makeField("a shape", default="point")
    shapes = registry.makeField("shapes", default=["point"], multi=True)
    points = ConfigDictField("points by name", str, PointConfig, {}, False, None, None, None)
    subtask = ConfigurableField("a subtask", target=SubtaskTask)


def test_generic_subscriptions_fill_in_the_types():
    assert EverythingConfig.count.dtype is int
    assert (EverythingConfig.gains.keytype, EverythingConfig.gains.itemtype) == (str, float)
    assert EverythingConfig.names.dtype is str and EverythingConfig.level.dtype is float
    with pytest.raises(ValueError, match="Conflicting definition for dtype"):
        Field[int](doc="x", dtype=float)
    with pytest.raises(ValueError, match="takes 2 type"):
        DictField[str](doc="x")
    with pytest.raises(ValueError, match="dtype must be given"):
        Field(doc="x")


def test_dict_field_key_item_and_dict_checks():
    class Checked(Config):
        d = DictField(
            doc="d",
            keytype=str,
            itemtype=int,
            default={},
            keyCheck=lambda k: k.islower(),
            itemCheck=lambda v: v >= 0,
            dictCheck=lambda d: len(d) < 3,
        )

    config = Checked()
    config.d["ok"] = 1
    with pytest.raises(FieldValidationError, match="Key 'BAD' is not a valid key"):
        config.d["BAD"] = 1
    with pytest.raises(FieldValidationError, match="Item at key 'neg' is not a valid value"):
        config.d["neg"] = -1
    config.d["b"] = 2
    with pytest.raises(FieldValidationError, match="is not a valid value"):
        config.d["c"] = 3
    assert dict(config.d) == {"ok": 1, "b": 2}


def test_config_dict_field_positional_signature_and_checks():
    class Holder(Config):
        points = ConfigDictField(
            "points", str, PointConfig, None, True, lambda d: len(d) <= 2, None, str.isalpha
        )

    config = Holder()
    assert config.points is None
    config.validate()  # optional
    config.points = {"a": PointConfig(x=5.0)}
    config.points["b"] = PointConfig()
    assert config.points["a"].x == 5.0 and config.points["a"].fieldFullName("x") == "points.a.x"
    with pytest.raises(FieldValidationError, match="not a valid key"):
        config.points["c3"] = PointConfig()
    config.points["c"] = PointConfig()
    with pytest.raises(FieldValidationError, match="is not a valid value"):
        config.validate()


def test_registry_lookup_gives_the_target_and_refuses_duplicates():
    assert registry["point"] is PointTask and registry["other"] is OtherTask
    config = EverythingConfig()
    assert config.shape.registry is registry and EverythingConfig.shape.registry is registry
    assert config.shape.target is PointTask
    task = config.shape.apply(scale=2.0)
    assert isinstance(task, PointTask) and task.scale == 2.0 and task.config is config.shape.active
    with pytest.raises(RuntimeError, match="An item with name 'point' already exists"):
        registry.register("point", OtherTask)
    wrapped = makeRegistry("wrapped")
    wrapped.register("w", SubtaskTask, ConfigClass=OtherPointConfig)
    assert wrapped["w"].ConfigClass is OtherPointConfig and wrapped["w"].target is SubtaskTask


def test_choice_values_are_mappings_and_multi_names_a_mutable_set():
    config = EverythingConfig()
    assert set(config.choice) == {"P", "O"} and len(config.choice) == 2
    assert config.choice["P"].x == 1.0 and dict(config.choice.items())["O"].z == 3
    config.choice["P"] = PointConfig(x=9.0)  # a config: its values are copied
    assert config.choice["P"].x == 9.0
    config.choice["P"] = PointConfig  # the class: back to its defaults
    assert config.choice["P"].x == 1.0
    names = config.multi.names
    names.add("O")
    names.add("P")
    names.add("O")
    assert names == {"O", "P"} and list(names) == ["O", "P"] and len(names) == 2
    names.discard("O")
    assert config.multi.names == ["P"]
    assert [c.x for c in config.multi.active] == [1.0]
    config.shapes.names.add("other")
    assert [type(t).__name__ for t in config.shapes.targets] == ["type", "type"]
    assert config.shapes.targets == [PointTask, OtherTask]
    config.freeze()
    with pytest.raises(FieldValidationError, match="frozen"):
        config.multi.names.add("O")


def test_copy_is_deep_unfrozen_and_never_goes_through_toml(monkeypatch):
    config = EverythingConfig()
    config.point.x = 4.0
    config.points["a"] = PointConfig(y=7.0)
    config.subtask.x = 6.0
    config.multi.names.add("O")
    config.freeze()

    def refuse(*args, **kwargs):
        raise AssertionError("copy() serialised the config")

    monkeypatch.setattr(pexConfig.toml_io, "dumpConfig", refuse)
    monkeypatch.setattr(pexConfig.toml_io, "loadText", refuse)
    copy = config.copy()
    assert not copy.frozen and copy == config
    copy.point.x = 5.0
    copy.points["a"].y = 8.0
    copy.subtask.x = 1.0
    copy.multi.names.add("P")
    copy.names.append("SAT")
    assert (config.point.x, config.points["a"].y, config.subtask.x) == (4.0, 7.0, 6.0)
    assert config.multi.names == ["O"] and config.names == ["EDGE"]
    assert copy.point.fieldFullName("x") == "point.x"
    assert copy.history["count"] == config.history["count"]


def test_assigning_a_config_class_resets_to_its_defaults():
    config = EverythingConfig()
    config.point.x = 10.0
    config.point = PointConfig
    assert config.point.x == 1.0
    config.subtask.x = 10.0
    config.subtask = PointConfig
    assert config.subtask.x == 1.0
    assert EverythingConfig.point.default is None and isinstance(config.point, PointConfig)


def test_compare_returns_a_bool_and_reports_through_output():
    a, b = EverythingConfig(), EverythingConfig()
    assert a.compare(b) is True
    b.count, b.point.y = 4, 2.5
    lines: list[str] = []
    assert a.compare(b, output=lines.append) is False
    assert lines == ["Inequality in count: 3 != 4"]  # shortcut: the first only
    lines.clear()
    assert a.compare(b, shortcut=False, output=lines.append) is False
    assert lines == ["Inequality in count: 3 != 4", "Inequality in point.y: 2.0 != 2.5"]
    b.count, b.point.y = 3, 2.0 + 1e-12
    assert a.compare(b) is True and a.compare(b, rtol=0.0, atol=0.0) is False
    assert a.differences(b, rtol=0.0, atol=0.0) == [f"point.y: 2.0 != {2.0 + 1e-12!r}"]
    assert compareConfigs("config", None, None) is True
    out: list[str] = []
    assert compareConfigs("config", a, None, output=out.append) is False
    assert out == ["RHS is None for config"]
    assert compareConfigs("config", a, PointConfig(), output=out.append) is False


def test_save_load_streams_and_format_history(tmp_path):
    config = EverythingConfig()
    config.count = 9
    config.points["k"] = PointConfig(x=3.0)
    path = tmp_path / "saved.toml"
    config.save(str(path))
    assert path.read_text().startswith("# pipetask config test_config_pex_api:EverythingConfig")
    loaded = EverythingConfig()
    loaded.load(str(path))
    assert loaded == config
    stream = io.StringIO()
    config.saveToStream(stream)
    again = EverythingConfig()
    again.loadFromStream(io.StringIO(stream.getvalue()))
    assert again == config and again.count == 9
    history = loaded.formatHistory("count")
    assert history.splitlines()[0] == "count"
    assert "default" in history and f"{path}:" in history
    assert "3" in history.splitlines()[1] and "9" in history.splitlines()[2]


def test_field_validation_error_with_pex_signature_from_validate():
    class Limits(Config):
        low = Field(doc="low", dtype=float, default=0.0)
        high = Field(doc="high", dtype=float, default=1.0)

        def validate(self):
            super().validate()
            if self.low >= self.high:
                raise FieldValidationError(Limits.high, self, "high must exceed low")

    class Outer(Config):
        limits = ConfigField(doc="limits", dtype=Limits)

    config = Outer()
    config.limits.low = 2.0
    with pytest.raises(FieldValidationError) as info:
        config.validate()
    assert str(info.value) == "Field 'limits.high' failed validation: high must exceed low"
    assert info.value.field == "limits.high" and info.value.detail == "high must exceed low"
    assert isinstance(info.value, ValueError)
    assert str(FieldValidationError("only a message")) == "only a message"


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("count", np.int64(5), 5),
        ("count", np.int32(-2), -2),
        ("level", np.float32(0.25), 0.25),
        ("level", np.int16(1) - 1, 0.0),
        ("level", np.float64(0.75), 0.75),
    ],
)
def test_numpy_scalars_are_accepted_and_stored_as_python_numbers(name, value, expected):
    config = EverythingConfig()
    setattr(config, name, value)
    stored = getattr(config, name)
    assert stored == expected and type(stored) is type(expected)
    assert EverythingConfig.fromToml(config.toToml()) == config


def test_numpy_bool_and_list_items():
    class Flags(Config):
        flag = Field(doc="flag", dtype=bool, default=False)
        values = ListField(doc="values", dtype=float, default=[])

    config = Flags(flag=np.bool_(True), values=[np.float32(1.5), np.int64(2)])
    assert config.flag is True and config.values == [1.5, 2.0]


def test_huge_integers_are_refused_for_float_and_int_fields():
    config = EverythingConfig()
    with pytest.raises(FieldValidationError, match="too large for a float"):
        config.level = 10**400
    with pytest.raises(FieldValidationError, match="64-bit integer range"):
        config.count = 2**63
    config.count = 2**63 - 1
    assert EverythingConfig.fromToml(config.toToml()).count == 2**63 - 1


def test_deprecated_fields_say_so_in_their_doc_and_warn():
    class Old(Config):
        gone = Field(doc="An old knob.", dtype=int, default=1, deprecated="Removed after v2.")

    assert Old.gone.doc == "An old knob. Deprecated: Removed after v2."
    config = Old()
    with pytest.warns(FutureWarning, match="gone is deprecated: Removed after v2."):
        config.gone = 2


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: ListField("l", int, minLength=3, maxLength=2), "must be at least 'minLength'"),
        (lambda: ListField("l", int, minLength=-1), "'minLength' \\(-1\\) must be non-negative"),
        (lambda: ListField("l", int, maxLength=-2), "'maxLength' \\(-2\\) must be non-negative"),
        (lambda: ListField("l", int, length=0), "'length' \\(0\\) must be positive"),
        (lambda: ListField("l", int, itemCheck=3), "'itemCheck' must be callable"),
        (lambda: ListField("l", int, listCheck="x"), "'listCheck' must be callable"),
        (lambda: Field("f", int, check=True), "'check' must be callable"),
        (lambda: DictField("d", str, int, keyCheck=1), "'keyCheck' must be callable"),
        (lambda: Field("", int), "Docstring is empty"),
        (lambda: ListField(None, int), "Docstring is empty"),
        (lambda: ConfigField("", PointConfig), "Docstring is empty"),
    ],
)
def test_bad_definitions_are_refused(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("name", ["names", "gains", "choice", "points"])
def test_proxies_refuse_unknown_attributes_and_pickling(name):
    config = EverythingConfig()
    value = getattr(config, name)
    with pytest.raises(UnexpectedProxyUsageError, match="has no attribute 'bogus'"):
        value.bogus = 1
    with pytest.raises(UnexpectedProxyUsageError, match="cannot be pickled"):
        pickle.dumps(value)
    assert isinstance(UnexpectedProxyUsageError("x"), TypeError)


def test_a_subclass_init_without_super_still_gets_a_complete_config():
    class Lazy(PointConfig):
        def __init__(self, label="x"):
            self._label = label  # forgets super().__init__()

    config = Lazy()
    assert config.x == 1.0 and config._label == "x"
    config.y = 4.0
    assert Lazy.fromToml(config.toToml()).y == 4.0
    with pytest.raises(AttributeError, match="has no field 'nosuch'"):
        config.nosuch  # noqa: B018 - an error, never a RecursionError


def test_subclass_changing_an_inherited_field_leaves_its_parent_alone():
    class Child(PointConfig):
        pass

    Child.x.default = 42.0
    assert Child().x == 42.0 and PointConfig().x == 1.0
    assert Child.x is not PointConfig.x and Child.x.name == "x"
    assert list(Child._fields) == ["x", "y"]
