"""The Butler: put/get, data references, chaining, calib repos, errors and path safety."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from _shared_data import makeEmptyRepo, makeSynthRepo
from pipetask import Butler
from pipetask.butler.repository import Repository
from pipetask.dataid import selectDataIds
from pipetask.errors import ButlerError, DataIdError, NoResults


def _snapshot(root: Path) -> dict[str, str]:
    """Every file under ``root`` with a hash of its content."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def repo(tmp_path):
    return makeSynthRepo(tmp_path / "in", visits=2, ccds=3)


def test_put_and_get_json_round_trip(tmp_path):
    butler = Butler(makeEmptyRepo(tmp_path / "r"))
    value = {"mean": 1.25, "n": 7, "names": ["a", "b"]}
    path = butler.put(value, "imageStats", visit=4, ccd=1)
    assert path.is_file() and path.is_relative_to(tmp_path / "r")
    assert butler.get("imageStats", {"visit": 4}, ccd=1) == value
    assert butler.datasetExists("imageStats", visit=4, ccd=1)
    assert not butler.datasetExists("imageStats", visit=4, ccd=2)


def test_new_output_dataset_types_need_no_obs_package_edit(tmp_path):
    root = makeEmptyRepo(tmp_path / "r")
    Butler(root).put({"x": 1}, "myProduct", visit=1, ccd=0)
    # a fresh Butler (another process, say) finds the type in the registry
    assert Butler(root).get("myProduct", visit=1, ccd=0) == {"x": 1}


def test_generic_dataset_types_exist_for_any_task(tmp_path):
    butler = Butler(makeEmptyRepo(tmp_path / "r"))
    assert butler.getDatasetType("anyTask_config").format == "toml"
    assert butler.getDatasetType("anyTask_metadata").keys == ("visit", "ccd")
    assert butler.getDatasetType("packages").keys == ()


def test_unknown_dataset_type_is_named_with_a_suggestion(tmp_path):
    butler = Butler(makeEmptyRepo(tmp_path / "r"))
    with pytest.raises(ButlerError, match="unknown dataset type 'rawx'.*did you mean 'raw'"):
        butler.get("rawx", visit=1, ccd=0)


def test_get_missing_dataset_raises_noresults_naming_it(repo):
    butler = Butler(repo)
    with pytest.raises(NoResults, match=r"no 'raw' dataset for data ID \{visit: 9, ccd: 0\}"):
        butler.get("raw", visit=9, ccd=0)


def test_subset_and_data_references(repo):
    butler = Butler(repo)
    refs = list(butler.subset("raw", ccd=1))
    assert [r.dataId for r in refs] == [{"visit": 1, "ccd": 1}, {"visit": 2, "ccd": 1}]
    ref = refs[0]
    assert ref.datasetExists() and ref.datasetExists("raw")
    assert not ref.datasetExists("imageStats")
    ref.put({"mean": 3.0}, "imageStats")
    assert ref.get("imageStats") == {"mean": 3.0}
    assert ref.datasetExists("imageStats")
    assert len(butler.subset("raw")) == 6


def test_partial_data_id_is_completed_or_ambiguous(repo):
    butler = Butler(repo)
    ref = butler.dataRef("raw", visit=2, ccd=2)
    assert ref.dataId == {"visit": 2, "ccd": 2}
    with pytest.raises(NoResults, match="no unique 'raw' dataset.*3 matches"):
        butler.get("raw", visit=1)


def test_data_id_values_are_typed_and_checked(repo):
    butler = Butler(repo)
    with pytest.raises(DataIdError, match="bad value 'x' for data ID key visit"):
        butler.get("raw", visit="x", ccd=0)
    with pytest.raises(DataIdError, match="unknown data ID key 'filter'"):
        butler.get("raw", visit=1, filter="g")
    assert butler.datasetExists("raw", visit="1", ccd="0")  # strings of ints are accepted


def test_path_escaping_values_are_rejected_on_put_and_get(tmp_path):
    root = makeEmptyRepo(tmp_path / "r", camera="test")
    butler = Butler(root)
    before = _snapshot(tmp_path)
    for bad in ("../../evil", "/abs", "..", ".x", "a\x00b"):
        with pytest.raises(DataIdError, match="not allowed"):
            butler.put({"x": 1}, "calexpStats", visit=1, filter=bad)
        with pytest.raises(DataIdError, match="not allowed"):
            butler.get("raw", visit=1, filter=bad)
    assert _snapshot(tmp_path) == before
    assert not (tmp_path / "evil").exists()


def test_output_chains_to_input_and_input_is_never_modified(repo, tmp_path):
    before = _snapshot(repo)
    out = tmp_path / "out"
    butler = Butler(repo, output=out)
    assert not out.exists()  # created on the first write only
    ref = butler.dataRef("raw", visit=1, ccd=0)
    assert ref.datasetExists()  # read falls through to the input
    ref.put({"v": 1}, "imageStats")
    butler.put({"v": "out"}, "note", visit=1, ccd=0)
    assert (out / "repo.toml").is_file()
    assert Repository(out, butler.camera.keys, writable=False).parentPaths == [repo.resolve()]
    assert butler.datasetExists("imageStats", visit=1, ccd=0, write=True)
    assert not butler.datasetExists("raw", visit=1, ccd=0, write=True)
    assert _snapshot(repo) == before
    assert not Butler(repo).datasetExists("imageStats", visit=1, ccd=0)
    # a later Butler on the output alone sees both its own datasets and its parent's
    alone = Butler(out)
    assert alone.get("note", visit=1, ccd=0) == {"v": "out"}
    assert alone.datasetExists("raw", visit=2, ccd=2)
    assert len(alone.subset("raw")) == 6
    assert selectDataIds(alone, [["visit=2"]]) == [{"visit": 2, "ccd": c} for c in range(3)]


def test_reads_prefer_the_output(repo, tmp_path):
    Butler(repo).put({"where": "input"}, "summary", visit=1, ccd=0)
    butler = Butler(repo, output=tmp_path / "out")
    assert butler.get("summary", visit=1, ccd=0) == {"where": "input"}
    butler.put({"where": "output"}, "summary", visit=1, ccd=0)
    assert butler.get("summary", visit=1, ccd=0) == {"where": "output"}
    assert Butler(repo).get("summary", visit=1, ccd=0) == {"where": "input"}


def test_output_chained_elsewhere_is_refused(repo, tmp_path):
    other = makeEmptyRepo(tmp_path / "other")
    Butler(other, output=tmp_path / "out").put({"a": 1}, "x", visit=1, ccd=0)
    with pytest.raises(ButlerError, match="chains to .*other.*not to"):
        Butler(repo, output=tmp_path / "out")


def test_chain_of_three(repo, tmp_path):
    Butler(repo, output=tmp_path / "b").put({"level": "b"}, "level", visit=1, ccd=0)
    butler = Butler(tmp_path / "b", output=tmp_path / "c")
    assert butler.get("level", visit=1, ccd=0) == {"level": "b"}
    assert butler.datasetExists("raw", visit=2, ccd=0)


def test_camera_mismatch_in_chain_is_refused(tmp_path):
    testRepo = makeEmptyRepo(tmp_path / "t", camera="test")
    makeEmptyRepo(tmp_path / "s", camera="synth", parents=[str(testRepo)])
    with pytest.raises(ButlerError, match="is for camera 'test', not 'synth'"):
        Butler(tmp_path / "s")


def test_calib_repository_is_searched_for_calib_types(repo, tmp_path):
    calib = makeEmptyRepo(tmp_path / "calib")
    calibButler = Butler(calib)
    calibButler.registerDatasetType("darkLevel", keys=["ccd"], calib=True)
    calibButler.put({"level": 2.5}, "darkLevel", ccd=1)
    butler = Butler(repo, calib=calib)
    assert butler.getDatasetType("darkLevel").calib
    assert butler.get("darkLevel", ccd=1) == {"level": 2.5}
    assert butler.dataRef("raw", visit=1, ccd=1).get("darkLevel") == {"level": 2.5}
    assert not Butler(repo).datasetExists("darkLevel", ccd=1)
    with pytest.raises(NoResults):
        butler.get("darkLevel", ccd=2)


def test_missing_repository_and_bad_repo_toml(tmp_path):
    with pytest.raises(ButlerError, match="does not exist"):
        Butler(tmp_path / "nope")
    (tmp_path / "plain").mkdir()
    with pytest.raises(ButlerError, match="not a pipetask repository"):
        Butler(tmp_path / "plain")
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "repo.toml").write_text("camera = [1,\n")
    with pytest.raises(ButlerError, match="repo.toml: not valid TOML"):
        Butler(bad)
    (bad / "repo.toml").write_text('camera = "nosuchcamera"\n')
    with pytest.raises(Exception, match="unknown camera 'nosuchcamera'"):
        Butler(bad)


def test_butler_pickles_for_worker_processes(repo, tmp_path):
    import pickle

    butler = Butler(repo, output=tmp_path / "out")
    copy = pickle.loads(pickle.dumps(butler))
    assert copy.datasetExists("raw", visit=1, ccd=1)
    assert copy.outputRoot == butler.outputRoot


def test_put_replaces_atomically_with_backup(tmp_path):
    butler = Butler(makeEmptyRepo(tmp_path / "r"))
    path = butler.put({"n": 1}, "thing", visit=1, ccd=1)
    butler.put({"n": 2}, "thing", visit=1, ccd=1, doBackup=True)
    butler.put({"n": 3}, "thing", visit=1, ccd=1, doBackup=True)
    assert butler.get("thing", visit=1, ccd=1) == {"n": 3}
    import json

    assert json.loads(Path(f"{path}~1").read_text()) == {"n": 2}
    assert json.loads(Path(f"{path}~2").read_text()) == {"n": 1}
    assert not list(path.parent.glob(".tmp-*"))
    assert butler.output.registry.count("thing") == 1
