"""Property-based tests of the ``-c`` parser and of TOML config load and save.

Whatever text a user gives, ``applyOverride`` and a TOML load either succeed or raise the
project's own error (a ``PipetaskError``): any other exception fails. Any config that can
be built saves to TOML and loads back exactly (strict equality, no tolerance). The number
of examples is bounded so the suite stays fast.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pipetask.config import (
    ChoiceField,
    Config,
    ConfigChoiceField,
    ConfigDictField,
    ConfigField,
    DictField,
    Field,
    ListField,
    RangeField,
    applyOverride,
    walk,
)
from pipetask.errors import PipetaskError

BOUNDED = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


class Leaf(Config):
    number = Field(doc="a float", dtype=float, default=1.0)
    count = Field(doc="an int", dtype=int, default=0)
    label = Field(doc="text", dtype=str, default="x", optional=True)


class Other(Config):
    flag = Field(doc="a flag", dtype=bool, default=False)


class Tree(Config):
    flag = Field(doc="a flag", dtype=bool, default=True)
    count = Field(doc="an int", dtype=int, default=3)
    scale = Field(doc="a float", dtype=float, default=0.5, optional=True)
    label = Field(doc="text", dtype=str, default="plain", optional=True)
    level = RangeField(doc="a bounded float", dtype=float, default=0.5, min=0.0, max=1.0)
    mode = ChoiceField(doc="a mode", dtype=str, allowed={"a": "A", "b": "B"}, default="a")
    names = ListField(doc="names", dtype=str, default=["EDGE"])
    values = ListField(doc="numbers", dtype=float, default=[], optional=True)
    gains = DictField(doc="gains", keytype=str, itemtype=float, default={}, optional=True)
    byId = DictField(doc="by id", keytype=int, itemtype=str, default={})
    leaf = ConfigField(doc="a nested config", dtype=Leaf)
    choice = ConfigChoiceField("a choice", {"L": Leaf, "O": Other}, default="L", optional=True)
    leaves = ConfigDictField("leaves by name", str, Leaf, default={})


FIELD_NAMES = [node.path for node in walk(Tree())] + ["choice.L.number", "leaves.x.count"]

ints = st.integers(min_value=-(2**63), max_value=2**63 - 1)
floats = st.floats(allow_nan=True, allow_infinity=True)
texts = st.text(max_size=30)


@BOUNDED
@given(name=st.sampled_from(FIELD_NAMES) | texts, value=texts)
def test_any_override_text_succeeds_or_fails_with_a_pipetask_error(name, value):
    config = Tree()
    try:
        applyOverride(config, f"{name}={value}")
    except PipetaskError:
        return


@BOUNDED
@given(
    name=st.sampled_from(FIELD_NAMES),
    value=st.one_of(
        ints.map(str),
        floats.map(repr),
        st.booleans().map(lambda b: str(b).lower()),
        st.lists(texts, max_size=4).map(lambda items: "[" + ", ".join(map(repr, items)) + "]"),
        st.integers(min_value=1, max_value=2000).map(lambda n: "[" * n + "]" * n),
        st.integers(min_value=300, max_value=6000).map(lambda n: "9" * n),
    ),
)
def test_structured_override_values_succeed_or_fail_with_a_pipetask_error(name, value):
    config = Tree()
    try:
        applyOverride(config, f"{name}={value}")
    except PipetaskError:
        return


@BOUNDED
@given(text=st.text(max_size=200))
def test_any_toml_text_loads_or_fails_with_a_pipetask_error(text):
    config = Tree()
    try:
        config.loadTomlString(text, "<test>")
    except PipetaskError:
        return


@BOUNDED
@given(
    table=st.dictionaries(
        st.sampled_from(["flag", "count", "scale", "names", "gains", "byId", "leaf", "choice"])
        | texts,
        st.recursive(
            st.none() | st.booleans() | ints | floats | texts,
            lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
            max_leaves=8,
        ),
        max_size=5,
    )
)
def test_any_toml_data_loads_or_fails_with_a_pipetask_error(table):
    from pipetask.config.tomltext import tomlKey, tomlValue

    lines = []
    for key, value in table.items():
        try:
            lines.append(f"{tomlKey(key)} = {tomlValue(value)}")
        except PipetaskError:  # None has no TOML form
            continue
    config = Tree()
    try:
        config.loadTomlString("\n".join(lines), "<test>")
    except PipetaskError:
        return


keys = st.text(min_size=1, max_size=12)


@st.composite
def trees(draw) -> Tree:
    config = Tree()
    config.flag = draw(st.booleans())
    config.count = draw(ints)
    config.scale = draw(st.none() | floats)
    config.label = draw(st.none() | texts)
    config.level = draw(st.floats(min_value=0.0, max_value=1.0, exclude_max=True))
    config.mode = draw(st.sampled_from(["a", "b", None]))
    config.names = draw(st.lists(texts, max_size=4))
    config.values = draw(st.none() | st.lists(floats, max_size=4))
    config.gains = draw(st.none() | st.dictionaries(keys, floats, max_size=3))
    config.byId = draw(st.dictionaries(ints, texts, max_size=3))
    config.leaf.number = draw(floats)
    config.leaf.label = draw(st.none() | texts)
    config.choice = draw(st.sampled_from(["L", "O", None]))
    if draw(st.booleans()):
        config.choice["O"].flag = draw(st.booleans())
    for name in draw(st.lists(keys, max_size=3)):
        config.leaves[name] = Leaf(count=draw(ints), number=draw(floats))
    return config


@BOUNDED
@given(config=trees())
def test_save_then_load_is_exact(config, tmp_path_factory):
    path = tmp_path_factory.mktemp("save") / "config.toml"
    config.save(str(path))
    loaded = Tree()
    loaded.load(str(path))
    assert loaded == config
    assert loaded.differences(config, rtol=0.0, atol=0.0) == []
    for mine, theirs in zip(
        walk(loaded, everything=True), walk(config, everything=True), strict=True
    ):
        assert mine.path == theirs.path
        if not mine.isNested:  # repr: exact for floats, NaN equal to NaN, order kept
            assert repr(mine.plain) == repr(theirs.plain), mine.path
    assert loaded.toToml() == config.toToml()
