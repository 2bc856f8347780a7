"""Tasks: names, subtask trees, task dicts, loggers, metadata and timeMethod, pickling."""

from __future__ import annotations

import logging
import pickle

import pytest
from pipetask import (
    Config,
    ConfigError,
    ConfigurableField,
    Field,
    FieldValidationError,
    Struct,
    Task,
    TaskError,
    timeMethod,
)


class LeafConfig(Config):
    scale = Field("Multiply by this", float, default=2.0)


class LeafTask(Task):
    """Multiplies a number."""

    ConfigClass = LeafConfig
    _DefaultName = "leaf"

    @timeMethod
    def run(self, x: float) -> Struct:
        self.log.info("scaling %s", x)
        return Struct(value=x * self.config.scale)

    @timeMethod
    def fail(self) -> None:
        raise TaskError("nothing to do")


class MiddleConfig(Config):
    leaf = ConfigurableField("The leaf", target=LeafTask)
    offset = Field("Add this", float, default=1.0)


class MiddleTask(Task):
    ConfigClass = MiddleConfig
    _DefaultName = "middle"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.makeSubtask("leaf")

    @timeMethod
    def run(self, x: float) -> Struct:
        return Struct(value=self.leaf.run(x).value + self.config.offset)


class TopConfig(Config):
    mid = ConfigurableField("The middle", target=MiddleTask)
    other = ConfigurableField("Another leaf", target=LeafTask)
    required = Field("Must be set", int, default=0)

    def validate(self):
        super().validate()
        if self.required < 0:
            raise FieldValidationError("required", "must not be negative")


class TopTask(Task):
    ConfigClass = TopConfig
    _DefaultName = "top"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.makeSubtask("mid")
        self.makeSubtask("other")

    @timeMethod
    def run(self, x: float) -> Struct:
        return Struct(a=self.mid.run(x).value, b=self.other.run(x).value)


def test_default_config_and_name():
    task = LeafTask()
    assert isinstance(task.config, LeafConfig)
    assert task.getName() == "leaf"
    assert task.getFullName() == "leaf"
    assert task.config.frozen
    assert task.run(3).value == 6.0


def test_given_config_and_name():
    config = LeafConfig(scale=10)
    task = LeafTask(config=config, name="custom")
    assert task.config is config
    assert task.getName() == "custom"
    assert task.run(1.5).value == 15.0


def test_config_is_validated_and_frozen_at_construction():
    with pytest.raises(FieldValidationError, match="must not be negative"):
        TopTask(config=TopConfig(required=-1))
    task = TopTask()
    with pytest.raises(FieldValidationError, match="frozen"):
        task.config.required = 1
    with pytest.raises(FieldValidationError, match="frozen"):
        task.mid.config.leaf.scale = 3.0
    with pytest.raises(FieldValidationError, match="frozen"):
        task.config.other.retarget(MiddleTask)


def test_wrong_config_type_is_rejected():
    with pytest.raises(ConfigError, match="LeafConfig"):
        LeafTask(config=MiddleConfig())


def test_name_required_without_default_name():
    class Nameless(Task):
        ConfigClass = LeafConfig

    with pytest.raises(RuntimeError, match="name is required for a task"):
        Nameless()
    assert Nameless(name="given").getFullName() == "given"


def test_subtask_requires_name():
    parent = LeafTask()
    with pytest.raises(RuntimeError, match="name is required for a subtask"):
        LeafTask(parentTask=parent)


def test_subtask_tree_names_and_task_dict():
    task = TopTask()
    assert task.mid.getName() == "mid"
    assert task.mid.getFullName() == "top.mid"
    assert task.mid.leaf.getFullName() == "top.mid.leaf"
    assert task.mid.leaf.getName() == "leaf"
    assert set(task.getTaskDict()) == {"top", "top.mid", "top.mid.leaf", "top.other"}
    assert task.getTaskDict()["top.mid.leaf"] is task.mid.leaf
    # Every task in the tree shares the same dict.
    assert task.mid.leaf.getTaskDict() == task.getTaskDict()
    # The subtask's config is the parent's config field of the same name.
    assert task.mid.config is task.config.mid.value
    assert task.run(2.0) == Struct(a=5.0, b=4.0)


def test_makeSubtask_missing_field():
    task = TopTask()
    with pytest.raises(KeyError, match="top's config does not have field 'nosuch'"):
        task.makeSubtask("nosuch")
    with pytest.raises(KeyError, match="'required'"):
        task.makeSubtask("required")


def test_subtask_honours_retarget():
    config = TopConfig()
    config.other.retarget(MiddleTask)
    config.other.offset = 100.0
    task = TopTask(config=config)
    assert isinstance(task.other, MiddleTask)
    assert task.other.leaf.getFullName() == "top.other.leaf"
    assert task.run(1.0).b == 102.0


def test_loggers_named_by_full_name(caplog):
    task = TopTask()
    assert task.log.name == "top"
    assert task.mid.log.name == "top.mid"
    assert task.mid.leaf.log.name == "top.mid.leaf"
    with caplog.at_level(logging.INFO):
        task.mid.leaf.run(4.0)
    records = [r for r in caplog.records if r.name == "top.mid.leaf"]
    assert [r.getMessage() for r in records] == ["scaling 4.0"]


def test_log_argument_is_parent_logger():
    task = LeafTask(log=logging.getLogger("outer"))
    assert task.log.name == "outer.leaf"


ITEM_SUFFIXES = ("Utc", "WallTime", "CpuTime", "UserTime", "SystemTime", "MaxResidentSetSize")


def test_timeMethod_records_metadata():
    task = LeafTask()
    task.run(1.0)
    md = task.metadata
    for when in ("Start", "End"):
        for suffix in ITEM_SUFFIXES:
            assert f"run{when}{suffix}" in md
    assert md["runDuration"] == pytest.approx(md["runEndWallTime"] - md["runStartWallTime"])
    assert md["runDuration"] >= 0
    assert md["runEndCpuTime"] >= md["runStartCpuTime"]
    assert isinstance(md["runEndMaxResidentSetSize"], int)
    # Peak RSS is in bytes: any Python process uses more than a megabyte.
    assert md["runEndMaxResidentSetSize"] > 1_000_000
    assert md["runEndMaxResidentSetSize"] >= md["runStartMaxResidentSetSize"]
    assert md["runStartUtc"] <= md["runEndUtc"]


def test_timeMethod_records_even_when_method_raises():
    task = LeafTask()
    with pytest.raises(TaskError, match="nothing to do"):
        task.fail()
    assert "failDuration" in task.metadata
    assert "failEndMaxResidentSetSize" in task.metadata


def test_timeMethod_keeps_name_and_doc():
    assert LeafTask.run.__name__ == "run"
    assert LeafTask.run.__wrapped__ is not None


def test_full_metadata_and_empty():
    task = TopTask()
    task.run(1.0)
    full = task.getFullMetadata()
    assert set(full) == {"top", "top.mid", "top.mid.leaf", "top.other"}
    assert "runDuration" in full["top"]
    assert "runDuration" in full["top.mid.leaf"]
    assert "runDuration" in full["top.other"]
    # A copy: changing it does not change the task.
    full["top"].clear()
    assert "runDuration" in task.metadata
    task.emptyMetadata()
    assert all(not md for md in task.getFullMetadata().values())


def test_makeField():
    field = LeafTask.makeField("a leaf")
    assert isinstance(field, ConfigurableField)
    assert field.target is LeafTask
    assert field.doc == "a leaf"


def test_pickle_round_trip_of_top_task():
    config = TopConfig()
    config.mid.leaf.scale = 5.0
    task = TopTask(config=config)
    clone = pickle.loads(pickle.dumps(task))
    assert clone.config == task.config
    assert clone.mid.leaf.config.scale == 5.0
    assert sorted(clone.getTaskDict()) == sorted(task.getTaskDict())
    assert clone.run(1.0) == task.run(1.0)


def test_pickle_of_task_whose_init_takes_only_keywords():
    task = MiddleTask()
    clone = pickle.loads(pickle.dumps(task))
    assert clone.getFullName() == "middle"
    assert clone.leaf.getFullName() == "middle.leaf"


def test_subtask_cannot_be_pickled_alone():
    task = TopTask()
    with pytest.raises(TypeError, match="top-level"):
        pickle.dumps(task.mid)
