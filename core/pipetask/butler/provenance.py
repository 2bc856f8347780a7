"""What a run records in its output repository: task config, package versions, metadata.

- The task's config is stored as ``config/<task>.toml`` (dataset ``<task>_config``). A
  later run of the task into the same output compares its config with the stored one and
  refuses, listing every difference, unless told to replace it (the old file is kept as
  ``<task>.toml~1``, the newest backup, unless backups are turned off).
- Package versions (``importlib.metadata`` versions of pipetask, its installed plugins and
  the imported libraries, plus Python) are stored as ``config/packages.json`` (dataset
  ``packages``) and compared the same way on the packages both runs know; new packages are
  merged in.
- Task metadata (timings, peak memory...) is stored per data ID as JSON
  (dataset ``<task>_metadata``).

Only the output repository is consulted: configs stored in parent repositories never make a
new output refuse to start.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..errors import ButlerError, ConfigError
from .butler import Butler

DEFAULT_HINT = "--clobber-config"


class ConfigMismatchError(ConfigError):
    """A run's config (or package versions) differ from those stored in the output."""

    def __init__(self, message: str, differences: list[str]) -> None:
        super().__init__(message)
        self.differences = differences


def _stored(butler: Butler, datasetType: str) -> Path | None:
    if not butler.datasetExists(datasetType, write=True):
        return None
    return butler.getUri(datasetType, write=True)


def readStoredText(path: Path, what: str, hint: str = DEFAULT_HINT) -> str:
    """The text of a stored file; an error naming it if it is not a non-empty UTF-8 file.

    A stored config or package list that cannot be read is never taken as "defaults":
    the run would then mix outputs of two configs.
    """
    hint = f"fix or remove it, or use {hint} to replace it"
    if path.is_dir():
        raise ButlerError(f"stored {what} {path} is a directory, not a file; {hint}")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ButlerError(f"cannot read stored {what} {path}: {exc.strerror or exc}") from None
    if not data.strip():
        raise ButlerError(f"stored {what} {path} is empty; {hint}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ButlerError(
            f"stored {what} {path} is not UTF-8 text (byte {exc.start}); {hint}"
        ) from None


def _refusal(what: str, path: Path, differences: list[str], hint: str) -> ConfigMismatchError:
    lines = "\n".join(f"  {d}" for d in differences)
    return ConfigMismatchError(
        f"{what} differs from the one stored in {path} (stored != this run):\n{lines}\n"
        f"refusing to run; use {hint} to replace it",
        differences,
    )


def checkConfigText(
    butler: Butler,
    taskName: str,
    text: str,
    compare: Callable[[str, str], list[str]],
    clobber: bool = False,
    backup: bool = True,
    hint: str = DEFAULT_HINT,
) -> str:
    """Store a task's config text in the output, or compare it with the stored one.

    Parameters
    ----------
    butler : Butler
        Its output repository holds ``<taskName>_config``.
    taskName : str
        The task's ``_DefaultName``.
    text : str
        This run's config as TOML.
    compare : callable
        ``compare(storedText, source)`` -> list of differences (``"a.b: 1 != 2"``),
        empty when equal; ``source`` names the stored file for error messages.
    clobber : bool
        Replace a stored config that differs instead of refusing.
    backup : bool
        When replacing, keep the old file as ``<task>.toml~1``.
    hint : str
        The option named in the refusal message.

    Returns
    -------
    str
        ``"stored"`` (first run), ``"same"`` or ``"replaced"``.

    Raises
    ------
    ConfigMismatchError
        The configs differ and ``clobber`` is false (its ``differences`` lists them).
    """
    datasetType = f"{taskName}_config"
    path = _stored(butler, datasetType)
    if path is None:
        butler.put(text, datasetType)
        return "stored"
    try:
        storedText = readStoredText(path, f"config of {taskName}", hint)
    except ButlerError:
        if not (clobber and path.is_file()):
            raise
        butler.put(text, datasetType, doBackup=backup)  # asked to replace it: keep a backup
        return "replaced"
    if storedText == text:
        return "same"
    try:
        differences = compare(storedText, str(path))
    except ConfigError as exc:
        differences = [f"the stored config cannot be read: {exc}"]
    if not differences:
        return "same"
    if not clobber:
        raise _refusal(f"config of {taskName}", path, differences, hint)
    butler.put(text, datasetType, doBackup=backup)
    return "replaced"


def checkConfig(
    butler: Butler,
    taskName: str,
    config: Any,
    clobber: bool = False,
    backup: bool = True,
    hint: str = DEFAULT_HINT,
) -> str:
    """:func:`checkConfigText` for a config object (``toToml``/``fromToml``/``differences``)."""
    configClass = type(config)

    def compare(storedText: str, source: str) -> list[str]:
        stored = configClass.fromToml(storedText, source=source)
        return stored.differences(config)

    text = config.toToml(task=taskName)
    return checkConfigText(butler, taskName, text, compare, clobber, backup, hint)


def readStoredConfig(butler: Butler, taskName: str, configClass: Any) -> Any | None:
    """The config stored for ``taskName`` in the output, rebuilt with ``configClass``."""
    path = _stored(butler, f"{taskName}_config")
    if path is None:
        return None
    return configClass.fromToml(readStoredText(path, "config"), source=str(path))


def packageVersions(modules: Mapping[str, Any] | None = None) -> dict[str, str]:
    """Versions of Python, pipetask, its installed plugins, their direct dependencies
    (numpy, astropy... even if not imported yet) and the imported distributions.

    One pass over the installed distributions, reading their headers as text (the first
    of a name on the path counts, as for ``importlib.metadata.version``).

    Parameters
    ----------
    modules : mapping, optional
        Modules whose distributions count as used (``sys.modules`` by default).
    """
    from importlib import metadata

    topLevel = {name.partition(".")[0] for name in (modules or sys.modules)}
    found: dict[str, str] = {}  # version by name (see _sameName)
    names = {"pipetask"}
    for dist in metadata.distributions():
        name, version, requires = _headers(dist)
        if not name or _sameName(name) in found:
            continue
        found[_sameName(name)] = version
        if _declaresPlugin(dist.read_text("entry_points.txt") or ""):
            names.add(name)
            names.update(_requirementNames(requires))
        if not topLevel.isdisjoint(_topLevelNames(dist)):
            names.add(name)
    versions = {"python": sys.version.split()[0]}
    versions.update((_normal(n), found[_sameName(n)]) for n in names if _sameName(n) in found)
    return dict(sorted(versions.items()))


def _declaresPlugin(entryPoints: str) -> bool:
    """Whether an ``entry_points.txt`` has an entry in the ``pipetask`` group, read as
    ``importlib.metadata`` reads it (``[ pipetask ]`` is another group)."""
    group = None
    for line in entryPoints.splitlines():
        line = line.strip()
        if line.startswith("[") and line.endswith("]"):
            group = line.strip("[]")
        elif group == "pipetask" and line and not line.startswith("#"):
            return True
    return False


def _headers(dist: Any) -> tuple[str, str, list[str]]:
    """``(Name, Version, Requires-Dist lines)`` of a distribution's metadata, read as
    text: parsing every distribution's metadata as e-mail cost 30 ms of every run."""
    text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or ""
    name = version = ""
    requires = []
    for line in text.splitlines():
        if not line.strip():
            break  # the headers end at the first empty line; the description follows
        key, colon, value = line.partition(":")
        if not colon or line[:1].isspace():
            continue
        key = key.lower()
        if key == "name":
            name = value.strip()
        elif key == "version":
            version = value.strip()
        elif key == "requires-dist":
            requires.append(value.strip())
    return name, version, requires


def _topLevelNames(dist: Any) -> set[str]:
    """The top-level modules of a distribution, as ``importlib.metadata``'s
    ``packages_distributions`` finds them: its ``top_level.txt``, or else the first
    component of each ``.py`` file of its ``RECORD``. The ``RECORD`` is read as text:
    building a path object for each of astropy's or numpy's thousands of files made that
    function cost 150 ms of every run."""
    declared = (dist.read_text("top_level.txt") or "").split()
    if declared:
        return set(declared)
    record = dist.read_text("RECORD")
    if record is None:  # an egg-info distribution: its SOURCES.txt, as importlib reads it
        files = [f for f in dist.files or () if f.suffix == ".py"]
        return {f.parts[0] if len(f.parts) > 1 else f.stem for f in files}
    names = set()
    for line in record.splitlines():
        if line.startswith('"'):  # a path with a comma in it, quoted
            import csv

            path = next(csv.reader([line]))[0]
        else:
            path = line.partition(",")[0]
        if path.endswith(".py"):
            first, slash, _ = path.partition("/")
            names.add(first if slash else path[:-3])
    return names


def _requirementNames(requirements: list[str]) -> set[str]:
    """Distribution names of requirement strings, leaving out extras-only ones."""
    names = set()
    for requirement in requirements:
        if "extra ==" in requirement:
            continue
        found = re.match(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
        if found:
            names.add(found.group(1))
    return names


def _normal(name: str) -> str:
    return name.lower().replace("_", "-")


def _sameName(name: str) -> str:
    """A distribution name as packaging compares them (``Zope.Interface`` = ``zope-interface``)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def checkPackages(
    butler: Butler,
    versions: Mapping[str, str] | None = None,
    clobber: bool = False,
    backup: bool = True,
    hint: str = DEFAULT_HINT,
) -> str:
    """Store package versions in the output, or compare with the stored ones.

    Only packages present in both are compared; packages new to this run are merged into
    the stored list (``"merged"``). Returns ``"stored"``, ``"same"``, ``"merged"`` or
    ``"replaced"``; raises :class:`ConfigMismatchError` for a version change unless
    ``clobber``.
    """
    versions = dict(packageVersions() if versions is None else versions)
    path = _stored(butler, "packages")
    if path is None:
        butler.put(versions, "packages")
        return "stored"
    try:
        readStoredText(path, "package list", hint)
        stored = butler.get("packages")
        if not isinstance(stored, dict) or not all(isinstance(v, str) for v in stored.values()):
            raise ButlerError(
                f"stored package list {path} is not a table of package versions; fix or "
                f"remove it, or use {hint} to replace it"
            )
    except ButlerError:
        if not (clobber and path.is_file()):
            raise
        butler.put(versions, "packages", doBackup=backup)
        return "replaced"
    differences = [
        f"{name}: {stored[name]} != {versions[name]}"
        for name in sorted(set(stored) & set(versions))
        if str(stored[name]) != str(versions[name])
    ]
    if differences:
        if not clobber:
            raise _refusal("the package versions", path, differences, hint)
        butler.put(versions, "packages", doBackup=backup)
        return "replaced"
    extra = {k: v for k, v in versions.items() if k not in stored}
    if not extra:
        return "same"
    butler.put({**stored, **extra}, "packages", doBackup=backup)
    return "merged"


def putMetadata(
    butler: Butler, taskName: str, dataId: Mapping[str, Any], metadata: Mapping[str, Any]
) -> Path:
    """Store a task's metadata for one data ID (JSON, dataset ``<task>_metadata``)."""
    return butler.put(dict(metadata), f"{taskName}_metadata", dict(dataId))


def getMetadata(butler: Butler, taskName: str, dataId: Mapping[str, Any]) -> dict[str, Any]:
    """The metadata stored for a task and data ID."""
    return butler.get(f"{taskName}_metadata", dict(dataId))


def backups(path: str | Path) -> list[Path]:
    """Existing backups ``path~1``, ``path~2``... (newest first)."""
    found = []
    n = 1
    while os.path.exists(f"{path}~{n}"):
        found.append(Path(f"{path}~{n}"))
        n += 1
    return found
