"""Several ``pipetask ingest`` commands started together into one repository.

Each case runs the real CLI in subprocesses started at the same moment, on the same source
files, then checks the repository: every file registered exactly once, registry rows and
files agree, no dangling links, no temporary files or pending rows, the counts printed add
up, a copy is never a symlink, and a moved source is gone only if its move won.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pipetask import Butler
from pipetask.dataid import selectDataIds

PIPETASK = str(Path(sys.executable).parent / "pipetask")
FILES = 16
PRELOADED = 4  # files already in the "existing" repository
LINE = re.compile(r"^(ingested|duplicate|bad|unidentified) +(\S+)(?::| ->) ?(.*)$")
SUMMARY = re.compile(r"(\d+) ingested, (\d+) duplicate, (\d+) bad, (\d+) unidentified \(of (\d+)")


@pytest.fixture(scope="module")
def simulated(tmp_path_factory) -> list[Path]:
    from obs_synth.simulate import simulate

    return simulate(tmp_path_factory.mktemp("sim"), visits=FILES // 4, ccds=4, size=24)


def _runTogether(repo: Path, sources: Path, modes: tuple[str, ...]) -> list[tuple[int, str]]:
    procs = [
        subprocess.Popen(
            [PIPETASK, "ingest", str(repo), str(sources), "--camera", "synth", "--mode", mode],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for mode in modes
    ]
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=180)
        results.append((proc.returncode, out + err))
    return results


def _parse(output: str) -> dict[str, list[tuple[str, str]]]:
    lines: dict[str, list[tuple[str, str]]] = {}
    for text in output.splitlines():
        found = LINE.match(text)
        if found:
            lines.setdefault(found.group(1), []).append((found.group(2), found.group(3)))
    return lines


CASES = [
    *itertools.combinations_with_replacement(("copy", "link", "move"), 2),
    ("copy", "link", "move"),
    ("move", "move", "move"),
    ("copy", "copy", "link"),
]


@pytest.mark.parametrize("existing", [False, True], ids=["new-repo", "existing-repo"])
@pytest.mark.parametrize("modes", CASES, ids="+".join)
def test_concurrent_ingests_register_each_file_once(simulated, tmp_path, modes, existing):
    sources = tmp_path / "sources"
    sources.mkdir()
    content = {}
    for raw in simulated:
        shutil.copy(raw, sources / raw.name)
        content[raw.name] = raw.read_bytes()
    repo = tmp_path / "repo"
    preloaded: dict[str, int] = {}
    if existing:
        first = subprocess.run(
            [PIPETASK, "ingest", str(repo), *map(str, sorted(sources.iterdir())[:PRELOADED])]
            + ["--camera", "synth"],
            capture_output=True,
            text=True,
        )
        assert first.returncode == 0, first.stdout + first.stderr
        preloaded = {p.name: p.stat().st_ino for p in (repo / "raw").rglob("*.fits*")}
        assert len(preloaded) == PRELOADED

    results = _runTogether(repo, sources, modes)

    ingestedBy: dict[str, str] = {}  # source name -> mode of the ingest that registered it
    byIngest: dict[str, int] = {}  # source name -> which ingest registered it
    listed: list[int] = []  # how many files each ingest found in the directory
    for index, (mode, (status, output)) in enumerate(zip(modes, results, strict=True)):
        assert status in (0, 1), output  # never a set-up failure, never a traceback
        assert "Traceback" not in output and "already a repository" not in output, output
        lines = _parse(output)
        counts = SUMMARY.search(output)
        assert counts is not None, output
        numbers = [int(n) for n in counts.groups()]
        assert sum(numbers[:4]) == numbers[4], output  # the counts add up
        # An ingest that lists the directory after another moved files away finds fewer.
        assert numbers[4] == FILES or "move" in modes, output
        listed.append(numbers[4])
        assert [len(lines.get(s, [])) for s in ("ingested", "duplicate", "bad")] == numbers[:3], (
            output
        )
        assert numbers[3] == 0, output
        for source, _ in lines.get("ingested", []):
            name = Path(source).name
            assert name not in ingestedBy, f"{name} ingested twice:\n{output}"
            ingestedBy[name] = mode
            byIngest[name] = index
        for _source, detail in lines.get("bad", []):  # only files another ingest moved away
            assert "vanished" in detail or "no such file" in detail, output
            assert "move" in modes, output
        if status == 1:
            assert lines.get("bad") or any(
                "with other content" in d for _, d in lines.get("duplicate", [])
            ), output

    for index, count in enumerate(listed):  # the files one did not find, others moved
        movedByOthers = [n for n, i in byIngest.items() if i != index and ingestedBy[n] == "move"]
        assert FILES - count <= len(movedByOthers), (index, count, results[index][1])
    # Every file registered exactly once: by the preload or by one of the ingests.
    assert len(ingestedBy) + len(preloaded) == FILES
    with Butler(repo) as butler:
        registry = butler.output.registry
        registered = sorted(registry.paths())
        assert registry.count("raw") == FILES == len(registered)
        assert len(selectDataIds(butler, [[]])) == FILES
        assert registry.pendingRows() == []
    onDisk = sorted(str(p.relative_to(repo)) for p in (repo / "raw").rglob("*") if not p.is_dir())
    assert onDisk == registered
    assert list(repo.rglob(".tmp-*")) == []
    for relative in registered:
        path = repo / relative
        assert path.exists(), f"dangling link {path}"
        name = path.name
        assert path.read_bytes() == content[name]
        mode = ingestedBy.get(name)
        if mode == "link":
            assert path.is_symlink() and path.resolve() == (sources / name).resolve()
        else:
            assert not path.is_symlink(), f"{name} ingested by {mode} is a symlink"
        if name in preloaded:
            assert path.stat().st_ino == preloaded[name], f"registered {name} was replaced"
    # A source is gone exactly when a move ingest registered it.
    for name in content:
        assert (sources / name).exists() == (ingestedBy.get(name) != "move"), name
    # The next command works and finds everything registered.
    again = subprocess.run(
        [PIPETASK, "ingest", str(repo), str(simulated[0])],
        capture_output=True,
        text=True,
    )
    assert again.returncode == 0 and "identical" in again.stdout, again.stdout + again.stderr
    assert os.path.exists(repo / "repo.toml")
