"""Pipeline files: TOML (read, never executed) naming tasks by label.

::

    description = "single-frame processing"
    imports = ["base.toml", { location = "more.toml", exclude = ["extra"] }]

    [parameters]
    threshold = 5.0

    [tasks.isr]
    task = "isrTask"
    config = { doBias = true }

    [tasks.calibrate]
    task = "calibrate"
    config.detection.thresholdValue = "parameters.threshold"
    connections = { exposure = "postISRCCD" }     # rename a connection's dataset type

    [subsets.ccd]
    labels = ["isr", "calibrate"]
    description = "everything per CCD"

    [[contracts]]
    check = "calibrate.detection.thresholdValue >= 3"
    message = "a lower threshold finds mostly noise"

Imported files come first, in order (their paths are relative to the importing file); a
label defined again adds its config on top (or, with another ``task``, replaces it). A
config value that is exactly ``"parameters.NAME"`` takes that parameter's value.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from typing import Any

from ..config.toml_io import keyLines, tomlSyntaxError
from ..errors import ConfigError

_LABEL = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TOP_KEYS = ("description", "imports", "parameters", "tasks", "subsets", "contracts")
_TASK_KEYS = ("task", "config", "connections")
_PARAMETER = re.compile(r"^parameters\.([A-Za-z_][A-Za-z0-9_]*)$")


class PipelineError(ConfigError):
    """A pipeline file, or a pipeline built from one, is wrong; the message says where."""


@dataclass
class TaskSpec:
    """One label of a pipeline file: the task and what the file sets on it."""

    label: str
    task: str
    where: str
    #: ``(source, table)`` config tables, lowest precedence first.
    config: list[tuple[str, dict]] = field(default_factory=list)
    #: connection name -> ``(dataset type, source)``.
    renames: dict[str, tuple[str, str]] = field(default_factory=dict)


@dataclass
class Contract:
    """A declarative check on the configs (see :mod:`pipetask.pipeline.contracts`)."""

    check: str
    message: str
    where: str


@dataclass
class PipelineSpec:
    """A pipeline file with its imports merged, before any task is loaded."""

    path: str
    description: str = ""
    tasks: dict[str, TaskSpec] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)
    subsets: dict[str, tuple[list[str], str]] = field(default_factory=dict)
    contracts: list[Contract] = field(default_factory=list)

    def select(self, subset: str | None) -> list[str]:
        """Labels of a ``FILE#subset`` selection: a subset name or ``label1,label2``."""
        if not subset:
            return list(self.tasks)
        if subset in self.subsets:
            return list(self.subsets[subset][0])
        labels = [s.strip() for s in subset.split(",")]
        unknown = [label for label in labels if label not in self.tasks]
        if unknown:
            names = ", ".join(sorted(self.subsets)) or "none"
            raise PipelineError(
                f"{self.path}: #{subset}: {unknown[0]!r} is neither a subset (subsets: "
                f"{names}) nor a label (labels: {', '.join(self.tasks)})"
            )
        return labels


def splitLocation(text: str) -> tuple[str, str | None]:
    """``FILE#subset`` -> ``(FILE, subset)`` (subset None when absent)."""
    path, sep, subset = text.partition("#")
    return path, (subset if sep else None)


def _suggest(name: str, choices: list[str] | tuple[str, ...]) -> str:
    import difflib

    close = difflib.get_close_matches(name, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def looksLikePath(text: str) -> bool:
    """Whether a ``-p`` value is a file rather than the name of a shipped pipeline."""
    return os.path.exists(text) or "/" in text or os.sep in text or text.endswith(".toml")


def locatePipeline(text: str) -> str:
    """The file of a ``-p`` value: the value itself when it looks like a path, else the
    file of the pipeline an installed plugin ships under that name (``processing``).

    Raises
    ------
    PipelineError
        No file and no installed pipeline of that name, two plugins ship one of that
        name (the message names both distributions), or the shipped file is missing.
    """
    if looksLikePath(text):
        return text
    from ..errors import PluginError
    from ..plugins import catalog

    pipelines = catalog()
    try:
        desc = pipelines.get("pipeline", text)
    except PluginError as exc:
        if text in pipelines.items["pipeline"]:  # a clash: the message names both
            raise PipelineError(f"pipeline {text!r}: {exc}") from None
        known = ", ".join(pipelines.names("pipeline")) or "none installed"
        hint = _suggest(text, pipelines.names("pipeline"))
        raise PipelineError(
            f"pipeline {text!r} is neither a file nor an installed pipeline{hint} "
            f"(installed pipelines: {known}; see pipetask list)"
        ) from None
    path = shippedFile(desc.target)
    if path is None or not os.path.isfile(path):
        raise PipelineError(
            f"pipeline {text!r} of {desc.distribution}: its file {desc.target!r} is not "
            f"installed{f' (looked for {path})' if path else ''}"
        )
    return path


def shippedFile(target: str) -> str | None:
    """The path of ``"package:relative/file.toml"``, found without importing the
    package (None when the package is not installed)."""
    import importlib.util

    package, _, relative = target.partition(":")
    try:
        found = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if found is None or not found.submodule_search_locations:
        return None
    return os.path.join(list(found.submodule_search_locations)[0], *relative.split("/"))


def loadPipelineFile(path: str) -> PipelineSpec:
    """Read a pipeline file (or the file of a pipeline a plugin ships, by name) and its
    imports; errors name the file and line."""
    path = locatePipeline(path)
    spec = _load(os.path.abspath(path), displayed=path, stack=())
    _substitute(spec)
    return spec


def _read(path: str, displayed: str) -> tuple[dict, dict]:
    try:
        with open(path, encoding="utf-8") as stream:
            text = stream.read()
    except FileNotFoundError:
        raise PipelineError(f"pipeline file {displayed!r} not found") from None
    except OSError as exc:
        raise PipelineError(f"cannot read pipeline file {displayed!r}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise PipelineError(f"pipeline file {displayed!r} is not UTF-8 text") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PipelineError(tomlSyntaxError(displayed, exc)) from None
    return data, keyLines(text)


def _load(path: str, displayed: str, stack: tuple[str, ...]) -> PipelineSpec:
    if path in stack:
        chain = " -> ".join(os.path.basename(p) for p in (*stack, path))
        raise PipelineError(f"pipeline file {displayed!r}: import cycle {chain}")
    data, lines = _read(path, displayed)

    def where(*keys: str) -> str:
        # The line of the key, else of its nearest enclosing key (inline tables).
        for end in range(len(keys), 0, -1):
            line = lines.get(tuple(keys[:end]))
            if line:
                return f"{displayed}:{line}"
        return displayed

    def fail(message: str, *keys: str) -> PipelineError:
        return PipelineError(f"{where(*keys)}: {message}")

    for key in data:
        if key not in _TOP_KEYS:
            raise fail(
                f"unknown key {key!r}{_suggest(key, _TOP_KEYS)}; a pipeline file has "
                f"{', '.join(_TOP_KEYS)}",
                key,
            )
    spec = PipelineSpec(path=displayed)
    description = data.get("description", "")
    if not isinstance(description, str):
        raise fail("description must be a string", "description")
    spec.description = description
    for item in _list(data.get("imports", []), "imports", fail):
        spec = _merge(spec, _import(item, path, displayed, stack, fail))
    spec.description = description or spec.description
    parameters = data.get("parameters", {})
    if not isinstance(parameters, dict):
        raise fail("[parameters] must be a table", "parameters")
    spec.parameters.update(parameters)
    tasks = data.get("tasks", {})
    if not isinstance(tasks, dict):
        raise fail("[tasks] must be a table of labels", "tasks")
    for label, table in tasks.items():
        spec = _merge(
            spec, PipelineSpec(displayed, tasks={label: _task(label, table, where, fail)})
        )
    for name, table in _table(data.get("subsets", {}), "subsets", fail).items():
        spec.subsets[name] = _subset(name, table, fail)
    for i, item in enumerate(_list(data.get("contracts", []), "contracts", fail)):
        if isinstance(item, str):
            item = {"check": item}
        if not isinstance(item, dict) or not isinstance(item.get("check"), str):
            raise fail(f'contract {i + 1} needs check = "LEFT OP RIGHT"', "contracts")
        extra = set(item) - {"check", "message"}
        if extra:
            raise fail(f"contract {i + 1}: unknown key {sorted(extra)[0]!r}", "contracts")
        spec.contracts.append(
            Contract(item["check"], str(item.get("message", "")), where("contracts"))
        )
    _checkSubsets(spec, fail)
    spec.path = displayed
    return spec


def _list(value: Any, key: str, fail) -> list:
    if not isinstance(value, list):
        raise fail(f"{key} must be a list", key)
    return value


def _table(value: Any, key: str, fail) -> dict:
    if not isinstance(value, dict):
        raise fail(f"[{key}] must be a table", key)
    return value


def _import(item: Any, path: str, displayed: str, stack: tuple[str, ...], fail) -> PipelineSpec:
    if isinstance(item, str):
        item = {"location": item}
    if not isinstance(item, dict) or not isinstance(item.get("location"), str):
        raise fail('an import is "FILE" or { location = "FILE", exclude = [...] }', "imports")
    extra = set(item) - {"location", "include", "exclude"}
    if extra:
        raise fail(f"import: unknown key {sorted(extra)[0]!r}", "imports")
    location = item["location"]
    target = os.path.normpath(os.path.join(os.path.dirname(path), location))
    shown = os.path.normpath(os.path.join(os.path.dirname(displayed), location))
    try:
        imported = _load(target, shown, (*stack, path))
    except PipelineError as exc:
        raise PipelineError(f"{exc} (imported by {displayed})") from None
    include, exclude = item.get("include"), item.get("exclude", [])
    for name, labels in (("include", include or []), ("exclude", exclude)):
        unknown = [label for label in labels if label not in imported.tasks]
        if unknown:
            raise fail(
                f"import of {location!r}: {name} names unknown label {unknown[0]!r}", "imports"
            )
    keep = [
        label
        for label in imported.tasks
        if (include is None or label in include) and label not in exclude
    ]
    imported.tasks = {label: imported.tasks[label] for label in keep}
    imported.subsets = {
        name: (labels, doc)
        for name, (labels, doc) in imported.subsets.items()
        if all(label in imported.tasks for label in labels)
    }
    return imported


def _task(label: str, table: Any, where, fail) -> TaskSpec:
    if not _LABEL.match(label):
        raise fail(f"bad label {label!r}: use letters, digits and _", "tasks", label)
    if isinstance(table, str):
        table = {"task": table}
    if not isinstance(table, dict):
        raise fail(f'[tasks.{label}] must be a table with task = "NAME"', "tasks", label)
    for key in table:
        if key not in _TASK_KEYS:
            raise fail(
                f"label {label!r}: unknown key {key!r}{_suggest(key, _TASK_KEYS)}; a task has "
                f"{', '.join(_TASK_KEYS)}",
                "tasks",
                label,
                key,
            )
    task = table.get("task", "")
    if not isinstance(task, str):
        raise fail(f"label {label!r}: task must be a task name", "tasks", label, "task")
    spec = TaskSpec(label, task, where("tasks", label))
    config = table.get("config", {})
    if not isinstance(config, dict):
        raise fail(f"label {label!r}: config must be a table", "tasks", label, "config")
    if config:
        spec.config.append((where("tasks", label, "config"), config))
    renames = table.get("connections", {})
    if not isinstance(renames, dict):
        raise fail(f"label {label!r}: connections must be a table", "tasks", label, "connections")
    for name, value in renames.items():
        source = where("tasks", label, "connections", name)
        if not isinstance(value, str) or not value.strip():
            raise PipelineError(
                f"{source}: label {label!r}: connection {name!r} is renamed to nothing "
                f"({value!r}); give a dataset type name"
            )
        spec.renames[name] = (value.strip(), source)
    return spec


def _subset(name: str, table: Any, fail) -> tuple[list[str], str]:
    if isinstance(table, list):
        table = {"labels": table}
    if not isinstance(table, dict) or not isinstance(table.get("labels"), list):
        raise fail(f"subset {name!r} needs labels = [...]", "subsets", name)
    return [str(label) for label in table["labels"]], str(table.get("description", ""))


def _merge(base: PipelineSpec, top: PipelineSpec) -> PipelineSpec:
    """``top`` on ``base``: labels, parameters, subsets and contracts of both."""
    out = PipelineSpec(top.path, top.description or base.description)
    out.tasks = dict(base.tasks)
    for label, spec in top.tasks.items():
        below = out.tasks.get(label)
        if below is None or (spec.task and spec.task != below.task):
            if not spec.task:
                raise PipelineError(f'{spec.where}: label {label!r} needs task = "NAME"')
            out.tasks[label] = spec
        else:
            out.tasks[label] = TaskSpec(
                label,
                below.task,
                spec.where,
                below.config + spec.config,
                {**below.renames, **spec.renames},
            )
    out.parameters = {**base.parameters, **top.parameters}
    out.subsets = {**base.subsets, **top.subsets}
    out.contracts = base.contracts + top.contracts
    return out


def _substitute(spec: PipelineSpec) -> None:
    def walk(value: Any, source: str) -> Any:
        if isinstance(value, dict):
            return {k: walk(v, source) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, source) for v in value]
        if isinstance(value, str):
            found = _PARAMETER.match(value)
            if found:
                name = found.group(1)
                if name not in spec.parameters:
                    known = ", ".join(spec.parameters) or "none"
                    hint = _suggest(name, list(spec.parameters))
                    raise PipelineError(
                        f"{source}: unknown parameter {name!r}{hint}; parameters: {known}"
                    )
                return spec.parameters[name]
        return value

    for task in spec.tasks.values():
        task.config = [(source, walk(table, source)) for source, table in task.config]


def _checkSubsets(spec: PipelineSpec, fail) -> None:
    for name, (labels, _doc) in spec.subsets.items():
        if name in spec.tasks:
            raise fail(f"subset {name!r} has the name of a label", "subsets", name)
        for label in labels:
            if label not in spec.tasks:
                raise fail(
                    f"subset {name!r} names unknown label {label!r}"
                    f"{_suggest(label, list(spec.tasks))}",
                    "subsets",
                    name,
                )
