"""Connections and TOML pipeline files: labels, config, renames, parameters, subsets,
imports and contracts, and one clear line for every bad file."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from _pipetest import registerInProcess
from pipetask.butler.camera import loadCamera
from pipetask.pipeline import Pipeline, PipelineError
from pipetask.pipeline.connections import resolveConnections
from pipetask.pipeline.pipeline import Override


@pytest.fixture(autouse=True)
def _pipetestPlugin():
    registerInProcess()


SYNTH = loadCamera("synth")
TEST = loadCamera("test")


def write(path: Path, text: str) -> str:
    path.write_text(textwrap.dedent(text))
    return str(path)


def error(location: str, camera=SYNTH, overrides=()) -> str:
    with pytest.raises(PipelineError) as info:
        Pipeline.fromFile(location, camera, overrides)
    message = str(info.value)
    assert "\n" not in message, message
    return message


CHAIN = """
    description = "copy then gather"
    [parameters]
    level = 7.5
    [tasks.copy]
    task = "ptCopy"
    config = { threshold = "parameters.level" }
    [tasks.gather]
    task = "ptGather"
    [subsets.first]
    labels = ["copy"]
    description = "only the copy"
"""


def test_example_tasks_declare_connections_that_follow_the_camera():
    from pipetask_example.example_task import ExampleTask
    from pipetask_example.stats_writer import StatsWriterTask

    example = resolveConnections(ExampleTask, ExampleTask.ConfigClass(), TEST)
    assert example.dimensions == ("visit", "filter")
    assert [(c.name, c.datasetType) for c in example.inputs] == [("raw", "raw")]
    assert example.outputs == ()
    config = StatsWriterTask.ConfigClass()
    config.connections.imageStats = "myStats"
    writer = resolveConnections(StatsWriterTask, config, SYNTH)
    assert writer.dimensions == ("visit", "ccd")
    assert [(c.datasetType, c.dimensions) for c in writer.outputs] == [
        ("myStats", ("visit", "ccd"))
    ]


def test_a_pipeline_file_orders_labels_and_applies_config_and_parameters(tmp_path):
    path = write(tmp_path / "p.toml", CHAIN)
    pipeline = Pipeline.fromFile(path, SYNTH)
    assert pipeline.labels == ["copy", "gather"]
    assert pipeline.nodes["copy"].config.threshold == 7.5
    gather = pipeline.nodes["gather"].connections
    assert gather.dimensions == ("visit",)
    assert gather.inputs[0].dimensions == ("visit", "ccd") and gather.inputs[0].multiple
    assert pipeline.overallInputs() == {"raw": ("visit", "ccd")}
    assert Pipeline.fromFile(path + "#first", SYNTH).labels == ["copy"]
    assert Pipeline.fromFile(path + "#gather,copy", SYNTH).labels == ["copy", "gather"]
    shown = pipeline.describe()
    assert "config threshold = 7.5" in shown and "from copy" in shown


def test_command_line_overrides_come_last(tmp_path):
    path = write(tmp_path / "p.toml", CHAIN)
    override = write(tmp_path / "o.toml", "threshold = 9.0\n")
    pipeline = Pipeline.fromFile(
        path,
        SYNTH,
        [Override("copy", "file", override), Override("gather", "value", "threshold=2")],
    )
    assert pipeline.nodes["copy"].config.threshold == 9.0
    assert pipeline.nodes["gather"].config.threshold == 2.0
    assert pipeline.nodes["copy"].config.frozen


def test_renames_connect_tasks_and_imports_merge(tmp_path):
    write(tmp_path / "base.toml", CHAIN)
    path = write(
        tmp_path / "top.toml",
        """
        imports = [{ location = "base.toml", exclude = ["gather"] }]
        [tasks.copy]
        config = { threshold = 4.0 }
        [tasks.copy2]
        task = "ptCopy"
        connections = { inputs = "ptStep1", outputs = "ptStep2" }
        [tasks.gather]
        task = "ptGather"
        connections = { inputs = "ptStep2" }
        """,
    )
    pipeline = Pipeline.fromFile(path, SYNTH)
    assert pipeline.labels == ["copy", "copy2", "gather"]
    assert pipeline.nodes["copy"].config.threshold == 4.0
    assert pipeline.producers["ptStep2"] == ("copy2", "outputs")
    assert pipeline.nodes["gather"].connections.inputs[0].datasetType == "ptStep2"


def test_contracts_pass_or_fail_with_the_values(tmp_path):
    good = CHAIN + '[[contracts]]\ncheck = "copy.threshold == gather.threshold"\n'
    good = good.replace('config = { threshold = "parameters.level" }', "")
    Pipeline.fromFile(write(tmp_path / "good.toml", good), SYNTH)
    bad = CHAIN + (
        '[[contracts]]\ncheck = "copy.threshold <= 3"\nmessage = "too high a threshold"\n'
    )
    message = error(write(tmp_path / "bad.toml", bad))
    assert "contract 'copy.threshold <= 3' fails (copy.threshold = 7.5)" in message
    assert "too high a threshold" in message
    # A contract on a label a subset leaves out does not apply.
    Pipeline.fromFile(str(tmp_path / "bad.toml") + "#gather", SYNTH)


BAD_FILES = {
    "unknown task": (
        '[tasks.copy]\ntask = "ptCopyy"\n',
        ["bad.toml:1", "label 'copy'", "unknown task 'ptCopyy'", "did you mean 'ptCopy'"],
    ),
    "cycle": (
        """
        [tasks.a]
        task = "ptCopy"
        connections = { inputs = "x", outputs = "y" }
        [tasks.b]
        task = "ptCopy"
        connections = { inputs = "y", outputs = "x" }
        """,
        ["cycle", "a --y--> b --x--> a"],
    ),
    "two producers": (
        '[tasks.a]\ntask = "ptCopy"\n[tasks.b]\ntask = "ptCopy"\n',
        ["'ptStep1' is written by both 'a' (connection 'outputs') and 'b'"],
    ),
    "rename to an empty name": (
        '[tasks.a]\ntask = "ptCopy"\nconnections = { outputs = "" }\n',
        ["bad.toml:3", "connection 'outputs' is renamed to nothing"],
    ),
    "rename of no connection": (
        '[tasks.a]\ntask = "ptCopy"\nconnections = { output = "z" }\n',
        ["'output' is not a connection of task 'ptCopy'", "inputs, outputs"],
    ),
    "bad TOML": ('[tasks.a\ntask = "ptCopy"\n', ["bad.toml:1: invalid TOML"]),
    "unknown top-level key": ("[task.a]\n", ["unknown key 'task'", "did you mean 'tasks'"]),
    "unknown parameter": (
        '[tasks.a]\ntask = "ptCopy"\nconfig = { threshold = "parameters.nope" }\n',
        ["unknown parameter 'nope'"],
    ),
    "bad config value": (
        '[tasks.a]\ntask = "ptCopy"\nconfig = { threshold = "high" }\n',
        ["label 'a'", "threshold"],
    ),
    "gather not declared multiple": (
        '[tasks.a]\ntask = "ptCopy"\n[tasks.g]\ntask = "ptCopy"\n'
        'connections = { inputs = "ptStep1", outputs = "z" }\n'
        '[tasks.s]\ntask = "ptPair"\n',
        [],  # a valid pipeline: checked below not to raise
    ),
    "subset of an unknown label": (
        '[tasks.a]\ntask = "ptCopy"\n[subsets.s]\nlabels = ["b"]\n',
        ["subset 's' names unknown label 'b'"],
    ),
    "contract on an unknown field": (
        '[tasks.a]\ntask = "ptCopy"\n[[contracts]]\ncheck = "a.nope == 1"\n',
        ["contract 'a.nope == 1'", "nope"],
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_every_bad_pipeline_file_is_one_clear_line(tmp_path, case):
    text, expected = BAD_FILES[case]
    path = write(tmp_path / "bad.toml", text)
    if not expected:
        Pipeline.fromFile(path, SYNTH)
        return
    message = error(path)
    for part in expected:
        assert part in message, message


def test_import_problems_name_the_files(tmp_path):
    write(tmp_path / "a.toml", 'imports = ["b.toml"]\n')
    write(tmp_path / "b.toml", 'imports = ["a.toml"]\n')
    assert "import cycle a.toml -> b.toml -> a.toml" in error(str(tmp_path / "a.toml"))
    write(tmp_path / "c.toml", 'imports = ["missing.toml"]\n')
    assert "'" + str(tmp_path / "missing.toml") + "' not found" in error(str(tmp_path / "c.toml"))
    assert "pipeline file 'nowhere.toml' not found" in error("nowhere.toml")


def test_bad_selection_and_overrides(tmp_path):
    path = write(tmp_path / "p.toml", CHAIN)
    assert "'nope' is neither a subset (subsets: first) nor a label" in error(path + "#nope")
    message = error(path, overrides=[Override("other", "value", "threshold=1")])
    assert "no label 'other'" in message
    message = error(path, overrides=[Override("copy", "value", "threshold=abc")])
    assert message.startswith("-c copy:threshold=abc")


def test_a_task_is_a_one_task_pipeline():
    pipeline = Pipeline.fromTask(
        "statsWriter", TEST, [Override("statsWriter", "value", "stats.numIter=4")]
    )
    assert pipeline.labels == ["statsWriter"]
    node = pipeline.nodes["statsWriter"]
    assert node.config.stats.numIter == 4
    assert [c.datasetType for c in node.connections.outputs] == ["imageStats"]
