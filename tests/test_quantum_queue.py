"""The queue of ready quanta: release as inputs complete, block descendants of a failure,
start from a resumed state."""

from __future__ import annotations

import textwrap

import pytest
from _pipetest import makeRegistryRepo, registerInProcess
from pipetask import Butler
from pipetask.pipeline import Pipeline, buildGraph
from pipetask.pipeline.scheduler import QuantumQueue

PIPELINE = """
[tasks.copy]
task = "ptCopy"
[tasks.copy2]
task = "ptCopy"
connections = { inputs = "ptStep1", outputs = "ptStep2" }
[tasks.gather]
task = "ptGather"
connections = { inputs = "ptStep2" }
"""


@pytest.fixture
def graph(tmp_path):
    registerInProcess()
    repo, _ = makeRegistryRepo(tmp_path / "repo", visits=2, ccds=3)
    path = tmp_path / "p.toml"
    path.write_text(textwrap.dedent(PIPELINE))
    with Butler(repo) as butler:
        return buildGraph(Pipeline.fromFile(str(path), butler.camera), butler)


def drain(queue):
    """Pop everything ready now."""
    items = []
    while (item := queue.pop()) is not None:
        items.append(item)
    return items


def test_quanta_are_released_as_their_inputs_complete(graph):
    queue = QuantumQueue(graph)
    assert len(queue) == 6 + 6 + 2
    first = drain(queue)
    assert {item.label for item in first} == {"copy"} and len(first) == 6
    assert queue.pop() is None and not queue.exhausted
    for item in first[:3]:  # visit 1's copies
        queue.finish(item.label, item.index, ok=True)
    second = drain(queue)
    assert [(i.label, i["visit"]) for i in second] == [("copy2", 1)] * 3
    for item in second:
        queue.finish(item.label, item.index, ok=True)
    (gather,) = drain(queue)
    assert gather.label == "gather" and dict(gather) == {"visit": 1}


def test_a_failure_blocks_only_its_descendants(graph):
    queue = QuantumQueue(graph)
    first = drain(queue)
    failed = next(i for i in first if dict(i) == {"visit": 2, "ccd": 1})
    blocked = queue.finish(failed.label, failed.index, ok=False)
    assert sorted((label, graph.dataId(label, i)["visit"]) for label, i in blocked) == [
        ("copy2", 2),
        ("gather", 2),
    ]
    for item in first:
        if item is not failed:
            queue.finish(item.label, item.index, ok=True)
    released = drain(queue)
    assert len(released) == 5 and ("copy2", 2, 1) not in {
        (i.label, i["visit"], i["ccd"]) for i in released
    }
    for item in released:
        queue.finish(item.label, item.index, ok=True)
    (gather,) = drain(queue)
    assert dict(gather) == {"visit": 1}
    queue.finish(gather.label, gather.index, ok=True)
    assert queue.exhausted and len(queue) == 0 and queue.notRun() == []


def test_done_quanta_are_not_handed_out(graph):
    done = [("copy", i) for i in range(6)] + [("copy2", i) for i in range(6)]
    queue = QuantumQueue(graph, done)
    ready = drain(queue)
    assert sorted(dict(i)["visit"] for i in ready) == [1, 2]
    assert {i.label for i in ready} == {"gather"}
