"""Ingest of the real obs_test files and of synthetic raws, in Python and via the CLI."""

from __future__ import annotations

import gzip
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from _shared_data import REPO_ROOT, obsTestExposures, obsTestRaws
from pipetask import Butler
from pipetask.butler.ingest import ingest
from pipetask.dataid import selectDataIds
from pipetask.errors import ButlerError

PIPETASK = str(REPO_ROOT / ".venv" / "bin" / "pipetask")
if not os.path.exists(PIPETASK):
    PIPETASK = shutil.which("pipetask") or PIPETASK


def cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([PIPETASK, *args], capture_output=True, text=True, timeout=120, cwd=cwd)


def _lines(text: str, status: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith(status + " ")]


def test_ingest_obs_test_raws_via_cli(tmp_path):
    raws = obsTestRaws()
    repo = tmp_path / "repo"
    result = cli("ingest", str(repo), *map(str, raws), "--camera", "test")
    assert result.returncode == 0, result.stderr
    ingested = _lines(result.stdout, "ingested")
    assert len(ingested) == len(raws) == 3
    assert "3 ingested, 0 duplicate, 0 bad, 0 unidentified" in result.stdout
    butler = Butler(repo)
    expected = []
    for raw in raws:  # data IDs from the names: raw_v<visit>_f<filter>.fits.gz
        stem = raw.name.split(".")[0]
        _, v, f = stem.split("_")
        expected.append({"visit": int(v[1:]), "filter": f[1:]})
    assert selectDataIds(butler, [[]]) == sorted(expected, key=lambda d: d["visit"])
    for raw, dataId in zip(raws, expected, strict=True):
        stored = butler.getUri("raw", dataId)
        assert stored.read_bytes() == raw.read_bytes()
        assert stored.relative_to(repo.resolve()).as_posix() == (
            f"raw/raw_v{dataId['visit']}_f{dataId['filter']}.fits.gz"
        )


def test_filter_comes_from_the_header_not_the_name(tmp_path):
    raw = obsTestRaws()[0]
    renamed = tmp_path / "raw_v7_fzz.fits.gz"
    shutil.copy(raw, renamed)
    from astropy.io import fits

    expected = fits.getheader(raw)["FILTER"].strip()
    results = ingest(tmp_path / "repo", [renamed], camera="test")
    assert results[0].status == "ingested"
    assert results[0].dataId == {"visit": 7, "filter": expected}


def test_both_forms_of_one_data_id_give_a_duplicate(tmp_path):
    repo = tmp_path / "repo"
    first = cli("ingest", str(repo), *map(str, obsTestExposures()), "--camera", "test")
    assert first.returncode == 0, first.stdout + first.stderr
    again = cli("ingest", str(repo), *map(str, obsTestRaws()))
    assert again.returncode == 1
    duplicates = _lines(again.stdout, "duplicate")
    assert len(duplicates) == 3
    assert "is already in the repository (raw/raw_v1_fg.fits.gz, with other content)" in (
        again.stdout
    )
    assert "3 file(s) skipped" in again.stderr
    assert Butler(repo).output.registry.count("raw") == 3


def test_bad_truncated_and_unidentified_files_are_reported_and_skipped(tmp_path):
    raw = obsTestRaws()[0]
    files = tmp_path / "files"
    files.mkdir()
    truncated = files / "raw_v11_fg.fits.gz"
    truncated.write_bytes(raw.read_bytes()[: raw.stat().st_size // 2])
    notFits = files / "raw_v12_fg.fits"
    notFits.write_text("this is not a FITS file\n")
    unnamed = files / "mystery.fits.gz"
    shutil.copy(raw, unnamed)
    uncompressedTruncated = files / "raw_v13_fg.fits"
    uncompressedTruncated.write_bytes(gzip.decompress(raw.read_bytes())[:500_000])
    good = files / "raw_v14_fg.fits.gz"
    shutil.copy(raw, good)
    repo = tmp_path / "repo"
    result = cli(
        "ingest", str(repo), str(files), str(tmp_path / "missing.fits"), "--camera", "test"
    )
    assert result.returncode == 1
    out = result.stdout
    assert len(_lines(out, "bad")) == 4, out
    assert f"bad           {tmp_path / 'missing.fits'}: no such file" in out
    assert f"bad           {truncated}:" in out
    assert f"bad           {notFits}: not a readable FITS file" in out
    assert f"bad           {uncompressedTruncated}: truncated or corrupt FITS file" in out
    assert f"unidentified  {unnamed}: name 'mystery.fits.gz' matches no ingest rule" in out
    assert len(_lines(out, "ingested")) == 1
    assert "1 ingested, 0 duplicate, 4 bad, 1 unidentified (of 6 files)" in out
    butler = Butler(repo)
    assert selectDataIds(butler, [[]]) == [{"visit": 14, "filter": "g"}]
    assert sorted(p.name for p in (repo / "raw").iterdir()) == ["raw_v14_fg.fits.gz"]


def test_missing_header_keyword_is_unidentified(tmp_path):
    from astropy.io import fits

    path = tmp_path / "raw_v5_fg.fits"
    fits.PrimaryHDU(data=[[1, 2], [3, 4]]).writeto(path)
    (result,) = ingest(tmp_path / "repo", [path], camera="test")
    assert result.status == "unidentified"
    assert "no FILTER in header 0" in result.detail


def test_uncompressed_file_is_compressed_on_copy(tmp_path):
    raw = obsTestRaws()[0]
    plain = tmp_path / "raw_v21_fg.fits"
    plain.write_bytes(gzip.decompress(raw.read_bytes()))
    (result,) = ingest(tmp_path / "repo", [plain], camera="test")
    assert result.status == "ingested"
    stored = Butler(tmp_path / "repo").getUri("raw", visit=21, filter="g")
    assert gzip.decompress(stored.read_bytes()) == plain.read_bytes()
    (linked,) = ingest(tmp_path / "repo2", [plain], camera="test", mode="link")
    assert linked.status == "bad" and "use --mode copy" in linked.detail


def test_link_and_move_modes(tmp_path):
    raws = obsTestRaws()
    linked = tmp_path / "linked"
    results = ingest(linked, raws[:1], camera="test", mode="link")
    assert results[0].status == "ingested"
    path = Butler(linked).getUri("raw", visit=1, filter="g")
    assert path.is_symlink() and path.resolve() == raws[0].resolve()
    source = tmp_path / raws[1].name
    shutil.copy(raws[1], source)
    content = source.read_bytes()
    moved = tmp_path / "moved"
    assert ingest(moved, [source], camera="test", mode="move")[0].status == "ingested"
    assert not source.exists()
    assert Butler(moved).getUri("raw", visit=2, filter="g").read_bytes() == content


def test_cli_errors(tmp_path):
    raws = [str(p) for p in obsTestRaws()]
    noCamera = cli("ingest", str(tmp_path / "new"), *raws)
    assert noCamera.returncode == 2
    assert "is not a repository yet: name its camera" in noCamera.stderr
    assert not (tmp_path / "new").exists()
    unknown = cli("ingest", str(tmp_path / "new"), *raws, "--camera", "tset")
    assert unknown.returncode == 2
    assert "unknown camera 'tset' (did you mean 'test'?)" in unknown.stderr
    assert not (tmp_path / "new").exists()
    assert cli("ingest", str(tmp_path / "r"), *raws, "--camera", "test").returncode == 0
    mismatch = cli("ingest", str(tmp_path / "r"), *raws, "--camera", "synth")
    assert mismatch.returncode == 2
    assert "is for camera 'test', not 'synth'" in mismatch.stderr
    badMode = cli("ingest", str(tmp_path / "r"), *raws, "--mode", "teleport")
    assert badMode.returncode == 2 and "invalid choice: 'teleport'" in badMode.stderr
    helpText = cli("ingest", "--help")
    assert helpText.returncode == 0
    for word in ("ingested", "duplicate", "bad", "unidentified", "exit status"):
        assert word in helpText.stdout


def test_ingest_into_a_non_repository_directory_is_refused(tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(ButlerError, match="is not an empty directory or a repository"):
        ingest(tmp_path / "full", obsTestRaws(), camera="test")


KILLED_INGEST = r"""
import sys
from pipetask.butler.ingest import ingest
print("go", flush=True)
ingest(sys.argv[1], sys.argv[2:], camera="synth", report=lambda r: print(r.status, flush=True))
"""


def test_ingest_killed_at_random_moments_stays_consistent(tmp_path):
    from obs_synth.simulate import simulate

    raws = [str(p) for p in simulate(tmp_path / "raws", visits=30, ccds=4, size=128)]
    repo = tmp_path / "repo"
    for delay in (0.3, 0.45, 0.6, 0.75):
        proc = subprocess.Popen(
            [sys.executable, "-c", KILLED_INGEST, str(repo), *raws],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout.readline().strip() == "go"
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        if not (repo / "repo.toml").exists():
            continue
        butler = Butler(repo)  # recovery on open
        registered = {butler.output.root / p for p in butler.output.registry.paths()}
        onDisk = {p for p in (repo / "raw").rglob("*") if p.is_file() or p.is_symlink()}
        assert registered == onDisk
        assert list(repo.rglob(".tmp-*")) == []
        assert butler.output.registry.pendingRows() == []
        butler.close()
    final = ingest(repo, raws, camera="synth")
    assert {r.status for r in final} <= {"ingested", "duplicate"}
    assert Butler(repo).output.registry.count("raw") == len(raws)


def test_ingesting_dot_skips_the_repository_inside_it(tmp_path):
    from obs_synth.simulate import simulate

    simulate(tmp_path, visits=1, ccds=2, size=24)  # two raws and their truth files
    first = cli("ingest", "repo", ".", "--camera", "synth", cwd=tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    assert "4 ingested, 0 duplicate, 0 bad, 0 unidentified (of 4 files)" in first.stdout
    again = cli("ingest", "repo", ".", cwd=tmp_path)  # the repository now holds raws too
    assert again.returncode == 0, again.stdout + again.stderr
    assert "0 ingested, 4 duplicate, 0 bad, 0 unidentified (of 4 files)" in again.stdout
    assert str(tmp_path / "repo" / "raw") not in again.stdout


def test_resumed_ingest_with_only_identical_duplicates_exits_0(tmp_path):
    from obs_synth.simulate import simulate

    raws = simulate(tmp_path / "raws", visits=2, ccds=2, size=24)
    repo = tmp_path / "repo"
    first = cli("ingest", str(repo), *map(str, raws[:2]), "--camera", "synth")
    assert first.returncode == 0, first.stdout + first.stderr
    resumed = cli("ingest", str(repo), str(tmp_path / "raws"))
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert len(_lines(resumed.stdout, "duplicate")) == 2
    assert resumed.stdout.count(", identical)") == 2
    assert "6 ingested, 2 duplicate" in resumed.stdout  # two raws, four truth files
    assert "2 file(s) were already in the repository with identical content" in resumed.stdout
    # A duplicate with other content is still a skipped file (exit 1).
    other = simulate(tmp_path / "other", visits=1, ccds=1, size=24, seed=5)
    clash = cli("ingest", str(repo), *map(str, other))
    assert clash.returncode == 1, clash.stdout
    assert "with other content" in clash.stdout
    assert "1 file(s) skipped" in clash.stderr
    assert Butler(repo).output.registry.count("raw") == 4
