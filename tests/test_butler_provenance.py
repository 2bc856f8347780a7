"""Run provenance in the output repository: config refusal and clobbering, versions, metadata."""

from __future__ import annotations

import contextlib
import sys

import pytest
from _shared_data import makeEmptyRepo
from pipetask import Butler, Config, ConfigurableField, Field, Task
from pipetask.butler import provenance
from pipetask.butler.provenance import ConfigMismatchError


class StatsConfig(Config):
    numSigmaClip = Field("clip threshold", float, default=3.0)
    numIter = Field("iterations", int, default=2)


class StatsTask(Task):
    ConfigClass = StatsConfig
    _DefaultName = "stats"


class TopConfig(Config):
    doFail = Field("raise on purpose", bool, default=False)
    stats = ConfigurableField("statistics", target=StatsTask)


@pytest.fixture
def butler(tmp_path):
    return Butler(makeEmptyRepo(tmp_path / "r"), output=tmp_path / "out")


def test_first_run_stores_then_same_config_passes(butler):
    config = TopConfig()
    assert provenance.checkConfig(butler, "topTask", config) == "stored"
    path = butler.getUri("topTask_config", write=True)
    assert path.name == "topTask.toml" and path.parent.name == "config"
    assert provenance.checkConfig(butler, "topTask", TopConfig()) == "same"
    stored = provenance.readStoredConfig(butler, "topTask", TopConfig)
    assert stored.differences(config) == []


def test_changed_config_is_refused_listing_every_difference(butler):
    provenance.checkConfig(butler, "topTask", TopConfig())
    changed = TopConfig()
    changed.stats.numSigmaClip = 10.0
    changed.doFail = True
    with pytest.raises(ConfigMismatchError) as info:
        provenance.checkConfig(butler, "topTask", changed)
    message = str(info.value)
    assert "stats.numSigmaClip: 3.0 != 10.0" in message
    assert "doFail: False != True" in message
    assert "--clobber-config" in message
    assert len(info.value.differences) == 2
    # the stored config is untouched
    assert provenance.readStoredConfig(butler, "topTask", TopConfig).differences(TopConfig()) == []


def test_clobber_replaces_and_keeps_backups_newest_first(butler):
    provenance.checkConfig(butler, "topTask", TopConfig())
    for value in (5.0, 7.0):
        changed = TopConfig()
        changed.stats.numSigmaClip = value
        assert provenance.checkConfig(butler, "topTask", changed, clobber=True) == "replaced"
    path = butler.getUri("topTask_config", write=True)
    backups = provenance.backups(path)
    assert [p.name for p in backups] == ["topTask.toml~1", "topTask.toml~2"]
    newest = TopConfig.fromToml(backups[0].read_text())
    oldest = TopConfig.fromToml(backups[1].read_text())
    assert newest.stats.numSigmaClip == 5.0 and oldest.stats.numSigmaClip == 3.0
    assert provenance.readStoredConfig(butler, "topTask", TopConfig).stats.numSigmaClip == 7.0


def test_clobber_without_backup(butler):
    provenance.checkConfig(butler, "topTask", TopConfig())
    changed = TopConfig(doFail=True)
    provenance.checkConfig(butler, "topTask", changed, clobber=True, backup=False)
    assert provenance.backups(butler.getUri("topTask_config", write=True)) == []


def test_configs_in_the_parent_do_not_make_a_new_output_refuse(tmp_path):
    root = makeEmptyRepo(tmp_path / "r")
    provenance.checkConfig(Butler(root), "topTask", TopConfig())
    other = Butler(root, output=tmp_path / "out")
    assert provenance.checkConfig(other, "topTask", TopConfig(doFail=True)) == "stored"


def test_check_config_text_with_a_plain_compare(butler):
    def compare(stored: str, source: str) -> list[str]:
        return [] if stored.strip() == new.strip() else [f"text: {stored!r} != {new!r}"]

    new = "a = 1\n"
    assert provenance.checkConfigText(butler, "plain", new, compare) == "stored"
    new = "a = 2\n"
    with pytest.raises(ConfigMismatchError, match="text: 'a = 1\\\\n' != 'a = 2\\\\n'"):
        provenance.checkConfigText(butler, "plain", new, compare)


def test_unreadable_stored_config_is_refused(butler):
    provenance.checkConfig(butler, "topTask", TopConfig())
    butler.getUri("topTask_config", write=True).write_text("nosuchField = 1\n")
    with pytest.raises(ConfigMismatchError, match="stored config cannot be read"):
        provenance.checkConfig(butler, "topTask", TopConfig())


def test_package_versions_stored_compared_and_merged(butler):
    versions = provenance.packageVersions()
    assert versions["pipetask"] and versions["python"]
    assert provenance.checkPackages(butler, {"pipetask": "1.0", "python": "3.11"}) == "stored"
    assert provenance.checkPackages(butler, {"pipetask": "1.0"}) == "same"
    assert provenance.checkPackages(butler, {"pipetask": "1.0", "numpy": "2.0"}) == "merged"
    assert butler.get("packages") == {"pipetask": "1.0", "python": "3.11", "numpy": "2.0"}
    with pytest.raises(ConfigMismatchError, match="numpy: 2.0 != 2.1"):
        provenance.checkPackages(butler, {"numpy": "2.1"})
    assert provenance.checkPackages(butler, {"numpy": "2.1"}, clobber=True) == "replaced"
    assert butler.get("packages") == {"numpy": "2.1"}


def _versionsByImportlib(modules) -> dict[str, str]:
    """What packageVersions stands for, by importlib.metadata's own (slow) functions."""
    from importlib import metadata

    names = {"pipetask"}
    for entry in metadata.entry_points(group="pipetask"):
        names.add(entry.dist.name)
        names.update(provenance._requirementNames(entry.dist.requires or []))
    owners = metadata.packages_distributions()
    for module in {name.partition(".")[0] for name in modules}:
        names.update(owners.get(module, ()))
    versions = {"python": sys.version.split()[0]}
    for name in names:
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[name.lower().replace("_", "-")] = metadata.version(name)
    return versions


@pytest.mark.parametrize(
    "modules",
    [None, {"numpy": 1}, {"yaml": 1, "_pytest.main": 1}, {"pipetask_image.fits": 1, "json": 1}],
)
def test_package_versions_are_importlibs(modules):
    """The one-pass reading of the distributions' files finds what importlib finds."""
    expected = _versionsByImportlib(sys.modules if modules is None else modules)
    assert provenance.packageVersions(modules) == expected
    assert "pipetask-image" in expected and "numpy" in expected  # a plugin, a requirement


def _fakeDistribution(root, name: str, entryPoints: str, requires: str = "") -> None:
    info = root / f"{name.replace('-', '_')}-1.0.dist-info"
    info.mkdir(parents=True)
    metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n{requires}\nA description.\n"
    (info / "METADATA").write_text(metadata)
    (info / "entry_points.txt").write_text(entryPoints)
    (info / "RECORD").write_text(f"{name.replace('-', '_')}/__init__.py,,\n")


def test_package_versions_of_plugins_declared_in_any_layout(tmp_path, monkeypatch):
    """A distribution with an entry in the pipetask group counts, with its requirements
    (not those of an extra), as importlib reads entry_points.txt: a group of another name,
    or an empty pipetask group, does not."""
    _fakeDistribution(
        tmp_path,
        "fake-plugin",
        "[console_scripts]\nx = y:z\n\n  [pipetask]  \n# a comment\n fake = fake_plugin\n",
        "Requires-Dist: fake-requirement>=1\nRequires-Dist: fake-extra; extra == 'docs'",
    )
    _fakeDistribution(tmp_path, "fake-requirement", "")
    _fakeDistribution(tmp_path, "fake-extra", "")
    _fakeDistribution(tmp_path, "fake-empty", "[pipetask]\n# nothing\n\n[other]\nf = fake_empty\n")
    _fakeDistribution(tmp_path, "fake-spaced", "[ pipetask ]\nfake = fake_spaced\n")
    crlf = tmp_path / "fake_crlf-1.0.dist-info"  # Windows line ends, lower-case headers
    crlf.mkdir()
    (crlf / "METADATA").write_bytes(b"name: fake-crlf\r\nversion: 1.0\r\n\r\nVersion: 9.9\r\n")
    (crlf / "entry_points.txt").write_text("[pipetask]\nfake = fake_crlf\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    versions = provenance.packageVersions({"json": 1})
    assert versions["fake-plugin"] == versions["fake-requirement"] == "1.0"
    assert versions["fake-crlf"] == "1.0"
    assert not {"fake-extra", "fake-empty", "fake-spaced"} & set(versions)
    assert versions == _versionsByImportlib({"json": 1})


def test_metadata_per_data_id(butler):
    meta = {"runStartCpuTime": 0.5, "runEndMaxResidentSetSize": 123456, "stats": {"n": 3}}
    path = provenance.putMetadata(butler, "topTask", {"visit": 3, "ccd": 1}, meta)
    assert "metadata/topTask" in str(path)
    assert provenance.getMetadata(butler, "topTask", {"visit": 3, "ccd": 1}) == meta
    provenance.putMetadata(butler, "topTask", {"visit": 3, "ccd": 2}, {"x": float("nan")})
    assert provenance.getMetadata(butler, "topTask", {"visit": 3, "ccd": 2}) == {"x": "nan"}
