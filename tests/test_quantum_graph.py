"""The quantum graph built from the registry: quanta, gathers, ``--id``, prerequisites,
errors that name what is missing, and the one file it is stored in."""

from __future__ import annotations

import textwrap

import pytest
from _pipetest import makeRegistryRepo, registerInProcess
from pipetask import Butler
from pipetask.dataid import parseId
from pipetask.pipeline import GraphError, Pipeline, buildGraph, loadGraph, saveGraph
from pipetask.pipeline.graph_io import graphPath


@pytest.fixture(autouse=True)
def _pipetestPlugin():
    registerInProcess()


PIPELINE = """
[tasks.copy]
task = "ptCopy"
[tasks.copy2]
task = "ptCopy"
connections = { inputs = "ptStep1", outputs = "ptStep2" }
[tasks.gather]
task = "ptGather"
connections = { inputs = "ptStep2" }
[tasks.cal]
task = "ptCalib"
[tasks.pair]
task = "ptPair"
"""


@pytest.fixture
def setup(tmp_path):
    repo, calib = makeRegistryRepo(tmp_path / "repo", visits=3, ccds=4, biasCcds=[0, 1, 2, 3])
    path = tmp_path / "p.toml"
    path.write_text(textwrap.dedent(PIPELINE))
    butler = Butler(repo, calib=calib)
    yield butler, str(path), tmp_path
    butler.close()


def ids(butler, *tokenLists):
    return [parseId(tokens, butler.camera.keys) for tokens in tokenLists]


def test_quanta_follow_the_connections(setup):
    butler, path, _ = setup
    graph = buildGraph(Pipeline.fromFile(path, butler.camera), butler, ids(butler, []))
    counts = {label: graph.count(label) for label in graph.tasks}
    assert counts == {"copy": 12, "copy2": 12, "gather": 3, "cal": 12, "pair": 12}
    assert len(graph) == 51
    visit2 = [i for i in range(3) if graph.dataId("gather", i) == {"visit": 2}]
    (g,) = visit2
    assert graph.inputs("gather", g)["inputs"] == [{"visit": 2, "ccd": c} for c in range(4)]
    upstream = graph.upstream("gather", g)
    assert sorted(graph.dataId(label, i)["ccd"] for label, i in upstream) == [0, 1, 2, 3]
    assert {label for label, _ in upstream} == {"copy2"}
    i = next(i for i in range(12) if graph.dataId("cal", i) == {"visit": 3, "ccd": 1})
    assert graph.inputs("cal", i)["bias"] == [{"ccd": 1}]
    assert graph.upstream("cal", i) == []
    j = next(j for j in range(12) if graph.dataId("pair", j) == {"visit": 1, "ccd": 3})
    ((label, k),) = graph.upstream("pair", j)
    assert label == "copy" and graph.dataId("copy", k) == {"visit": 1, "ccd": 3}


def test_id_constrains_the_overall_inputs(setup):
    butler, path, _ = setup
    pipeline = Pipeline.fromFile(path, butler.camera)
    graph = buildGraph(pipeline, butler, ids(butler, ["visit=2"], ["visit=3", "ccd=0^1"]))
    assert graph.count("copy") == 6 and graph.count("gather") == 2
    dataIds = [graph.dataId("copy", i) for i in range(6)]
    assert {(d["visit"], d["ccd"]) for d in dataIds} == {(2, c) for c in range(4)} | {
        (3, 0),
        (3, 1),
    }
    g = next(i for i in range(2) if graph.dataId("gather", i) == {"visit": 3})
    assert [d["ccd"] for d in graph.inputs("gather", g)["inputs"]] == [0, 1]


def test_a_missing_prerequisite_names_label_connection_type_and_data_id(tmp_path):
    repo, calib = makeRegistryRepo(tmp_path / "repo", visits=1, ccds=3, biasCcds=[0, 2])
    path = tmp_path / "p.toml"
    path.write_text('[tasks.cal]\ntask = "ptCalib"\n')
    with Butler(repo, calib=calib) as butler:
        pipeline = Pipeline.fromFile(str(path), butler.camera)
        with pytest.raises(GraphError) as info:
            buildGraph(pipeline, butler, ids(butler, []))
    message = str(info.value)
    assert "label 'cal'" in message and "prerequisite 'bias'" in message
    assert "dataset type 'bias'" in message and "data ID {ccd: 1}" in message


def test_an_empty_graph_is_an_error_naming_the_input(setup):
    butler, path, _ = setup
    pipeline = Pipeline.fromFile(path, butler.camera)
    with pytest.raises(GraphError) as info:
        buildGraph(pipeline, butler, ids(butler, ["visit=99"]))
    message = str(info.value)
    assert message.startswith("empty graph: label 'copy', input 'inputs'")
    assert "dataset type 'raw'" in message and "--id visit=99" in message


def test_a_missing_second_input_is_an_error(tmp_path):
    repo, _ = makeRegistryRepo(tmp_path / "repo", visits=2, ccds=2)
    with Butler(repo) as butler:
        # ptStep1 exists in the repository for visit 1 only; ptPair reads raw and ptStep1.
        butler.put({"x": 1}, "ptStep1", visit=1, ccd=0)
        butler.put({"x": 1}, "ptStep1", visit=1, ccd=1)
    path = tmp_path / "p.toml"
    path.write_text('[tasks.pair]\ntask = "ptPair"\n')
    with Butler(repo) as butler:
        pipeline = Pipeline.fromFile(str(path), butler.camera)
        assert buildGraph(pipeline, butler, ids(butler, ["visit=1"])).count("pair") == 2
        with pytest.raises(GraphError) as info:
            buildGraph(pipeline, butler, ids(butler, []))
    message = str(info.value)
    assert "label 'pair', quantum {visit: 2, ccd: 0}: input 'second'" in message
    assert "(dataset type 'ptStep1') is missing for data ID {visit: 2, ccd: 0}" in message


def test_the_graph_is_one_file_that_loads_back_equal(setup):
    butler, path, tmp = setup
    graph = buildGraph(Pipeline.fromFile(path, butler.camera), butler, ids(butler, []))
    out = tmp / "out"
    out.mkdir()
    saved = saveGraph(graph, out)
    assert saved == graphPath(out) and [p.name for p in out.iterdir()] == [saved.name]
    loaded = loadGraph(out)
    assert list(loaded.tasks) == list(graph.tasks)
    for label, i in graph.quanta():
        assert loaded.dataId(label, i) == graph.dataId(label, i)
        assert loaded.inputs(label, i) == graph.inputs(label, i)
        assert loaded.upstream(label, i) == graph.upstream(label, i)
    assert loaded.tasks["copy"].configText == graph.tasks["copy"].configText
    saved.write_bytes(saved.read_bytes()[:-10])
    with pytest.raises(Exception, match="damaged"):
        loadGraph(out)


def test_string_keys_and_a_task_without_declared_connections(tmp_path):
    from pipetask.butler.repository import Repository

    Repository.create(tmp_path / "repo", "test")
    with Butler(tmp_path / "repo") as butler:
        rows = [(1, "g"), (2, "g"), (3, "r")]
        butler.output.registry.insertMany("raw", rows, lambda r: f"raw/{r[0]}{r[1]}.fits")
        pipeline = Pipeline.fromTask("statsWriter", butler.camera)
        graph = buildGraph(pipeline, butler, ids(butler, ["filter=g"]))
    assert [graph.dataId("statsWriter", i) for i in range(2)] == [
        {"visit": 1, "filter": "g"},
        {"visit": 2, "filter": "g"},
    ]
    out = tmp_path / "out"
    out.mkdir()
    saveGraph(graph, out)
    assert loadGraph(out).dataId("statsWriter", 1) == {"visit": 2, "filter": "g"}
