"""A pipeline resolved for one camera: tasks loaded, configs built and frozen, connections
checked, labels in dependency order.

Config precedence per label, lowest first: the task's defaults; the camera's override
files for the task (``config/<task>.toml``, ``config/<camera>/<task>.toml``); the pipeline
file's config tables (imported files first); its connection renames; each ``-C label:FILE``
then each ``-c label:NAME=VALUE``, in command-line order.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..config import Config, applyOverride, validateForTask
from ..config.toml_io import tomlKey, tomlValue
from ..errors import ConfigError, PipetaskError
from .connections import (
    CONFIG_FIELD,
    INPUT,
    OUTPUT,
    TaskConnections,
    connectionsClass,
    declaredConnections,
    resolveConnections,
)
from .contracts import checkContracts
from .pipeline_file import PipelineError, PipelineSpec, TaskSpec, loadPipelineFile, splitLocation

log = logging.getLogger("pipetask")
_LABEL = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*):(.*)$", re.DOTALL)


@dataclass(frozen=True)
class Override:
    """One ``-c``/``-C`` for a label: ``kind`` is ``"value"`` (NAME=VALUE) or ``"file"``."""

    label: str
    kind: str
    value: str
    #: whether the command line named the label (a one-task run's overrides do not)
    labelled: bool = True


@dataclass
class TaskNode:
    """One label of a resolved pipeline."""

    label: str
    taskName: str
    taskClass: type
    config: Config
    connections: TaskConnections

    @property
    def target(self) -> str:
        """Import path of the task class."""
        return f"{self.taskClass.__module__}:{self.taskClass.__qualname__}"


class Pipeline:
    """Tasks by label, in an order where every producer comes before its consumers.

    Build one with :meth:`fromFile` or :meth:`fromTask`; both check everything that can be
    checked without the registry (tasks exist, configs valid, no cycle, one producer per
    dataset type, keys consistent, contracts hold).
    """

    def __init__(self, nodes: Sequence[TaskNode], source: str = "", description: str = ""):
        self.source = source
        self.description = description
        self.producers: dict[str, tuple[str, str]] = {}
        for node in nodes:
            for conn in node.connections.outputs:
                previous = self.producers.get(conn.datasetType)
                if previous is not None:
                    raise PipelineError(
                        f"{source}: dataset type {conn.datasetType!r} is written by both "
                        f"{previous[0]!r} (connection {previous[1]!r}) and {node.label!r} "
                        f"(connection {conn.name!r}); rename one output"
                    )
                self.producers[conn.datasetType] = (node.label, conn.name)
        flows = {
            n.label: (
                [c.datasetType for c in n.connections.inputs],
                [c.datasetType for c in n.connections.outputs],
            )
            for n in nodes
        }
        byLabel = {n.label: n for n in nodes}
        self.nodes: dict[str, TaskNode] = {
            label: byLabel[label] for label in _sorted(flows, self.producers, source)
        }
        self._checkKeys()

    # -- construction --------------------------------------------------------------------
    @classmethod
    def fromFile(cls, location: str, camera: Any, overrides: Iterable[Override] = ()) -> Pipeline:
        """The pipeline of ``FILE[#subset]`` for ``camera``."""
        path, subset = splitLocation(location)
        spec = loadPipelineFile(path)
        if not spec.tasks:
            raise PipelineError(
                f"{path}: no tasks; a pipeline file names each in a [tasks.LABEL] table "
                'with task = "NAME"'
            )
        labels = spec.select(subset)
        return cls._build(spec, labels, camera, list(overrides), location)

    @classmethod
    def fromTask(cls, taskName: str, camera: Any, overrides: Iterable[Override] = ()) -> Pipeline:
        """A one-task pipeline: the label is the task's name."""
        spec = PipelineSpec(path=f"task {taskName}")
        spec.tasks[taskName] = TaskSpec(taskName, taskName, spec.path)  # see taskConfig
        return cls._build(spec, [taskName], camera, list(overrides), spec.path)

    @classmethod
    def _build(
        cls,
        spec: PipelineSpec,
        labels: list[str],
        camera: Any,
        overrides: list[Override],
        source: str,
    ) -> Pipeline:
        for override in overrides:
            if override.label not in labels:
                raise PipelineError(
                    f"{_option(override)}: no label {override.label!r} in {source} "
                    f"(labels: {', '.join(labels)})"
                )
        configs = {label: _buildConfig(spec.tasks[label], camera, overrides) for label in labels}
        checkContracts(
            spec.contracts, {label: c for label, (_t, c) in configs.items()}, sorted(spec.tasks)
        )
        # Connection names give the order; then, in that order, each input that declares
        # no keys gets the keys its producer writes.
        flows = {}
        for label in labels:
            taskClass, config = configs[label]
            specs = declaredConnections(taskClass, config, camera)
            flows[label] = (
                [s[2] for s in specs if s[1] == INPUT],
                [s[2] for s in specs if s[1] == OUTPUT],
            )
        producers: dict[str, tuple[str, str]] = {}
        for label, (_inputs, outputs) in flows.items():
            for datasetType in outputs:
                producers.setdefault(datasetType, (label, ""))
        ordered = _sorted(flows, producers, source)
        known: dict[str, tuple[str, ...]] = {}
        nodes = []
        for label in ordered:
            node = _node(spec.tasks[label], *configs[label], camera, known)
            for conn in node.connections.outputs:
                known.setdefault(conn.datasetType, conn.dimensions)
            nodes.append(node)
        return cls(nodes, source, spec.description)

    # -- checks --------------------------------------------------------------------------
    def _checkKeys(self) -> None:
        for node in self.nodes.values():
            dims = set(node.connections.dimensions)
            for conn in node.connections.inputs + node.connections.prerequisites:
                where = (
                    f"{self.source}: label {node.label!r}, {conn.kind} {conn.name!r} "
                    f"(dataset type {conn.datasetType!r})"
                )
                producer = self.producers.get(conn.datasetType)
                if producer is not None:
                    if conn.kind != "input":
                        raise PipelineError(
                            f"{where} is written by {producer[0]!r}; a prerequisite must exist "
                            "before the run (make it an Input)"
                        )
                    written = self.nodes[producer[0]].connections.dimensions
                    if set(written) != set(conn.dimensions):
                        raise PipelineError(
                            f"{where} is read with keys ({', '.join(conn.dimensions)}) but "
                            f"{producer[0]!r} writes it with ({', '.join(written)})"
                        )
                extra = set(conn.dimensions) - dims
                if extra and not conn.multiple:
                    raise PipelineError(
                        f"{where} has keys ({', '.join(conn.dimensions)}), more than the "
                        f"task's ({', '.join(node.connections.dimensions)}): declare it "
                        "multiple=True to gather them"
                    )

    # -- queries -------------------------------------------------------------------------
    @property
    def labels(self) -> list[str]:
        """Labels in dependency order."""
        return list(self.nodes)

    def overallInputs(self) -> dict[str, tuple[str, ...]]:
        """Dataset types read but written by no task of the pipeline (not prerequisites),
        with their keys: what ``--id`` constrains."""
        found: dict[str, tuple[str, ...]] = {}
        for node in self.nodes.values():
            for conn in node.connections.inputs:
                if conn.datasetType not in self.producers:
                    found.setdefault(conn.datasetType, conn.dimensions)
        return found

    def describe(self) -> str:
        """What ``--show pipeline`` prints: each label, its task, keys, connections and the
        config values that differ from the task's defaults."""
        lines = [f"pipeline {self.source}" + (f": {self.description}" if self.description else "")]
        for node in self.nodes.values():
            c = node.connections
            lines.append(
                f"{node.label} ({node.taskName}), one quantum per ({', '.join(c.dimensions)})"
            )
            for conn in c.all():
                kind = conn.kind + (" multiple" if conn.multiple else "")
                producer = self.producers.get(conn.datasetType)
                origin = ""
                if conn.kind == "prerequisite":
                    origin = " from --calib or the repository"
                elif conn.kind != "output":
                    origin = f" from {producer[0]}" if producer else " from the repository"
                lines.append(
                    f"  {kind:<15} {conn.name} = {conn.datasetType} "
                    f"({', '.join(conn.dimensions)}){origin}"
                )
            for name, value in configChanges(node.taskClass, node.config):
                lines.append(f"  config {name} = {value}")
        return "\n".join(lines)


def labelledOverrides(overrides: list[tuple[str, str]], labels: list[str]) -> list[Override]:
    """``-c``/``-C`` values split into label and value. ``label:`` may be left out when
    the pipeline has one label."""
    out = []
    for kind, value in overrides:
        flag = "-C" if kind == "file" else "-c"
        head = value if kind == "file" else value.partition("=")[0]
        found = _LABEL.match(value) if ":" in head else None
        if found is not None and (found.group(1) in labels or len(labels) > 1):
            out.append(Override(found.group(1), kind, found.group(2)))
        elif len(labels) == 1:
            out.append(Override(labels[0], kind, value, labelled=False))
        else:
            form = "LABEL:FILE" if kind == "file" else "LABEL:NAME=VALUE"
            raise ConfigError(
                f"{flag} {value}: name the label, {flag} {form} (labels: {', '.join(labels)})"
            )
    return out


def configChanges(taskClass: type, config: Config) -> list[tuple[str, str]]:
    """``(field, TOML value)`` of every field whose value differs from the default."""
    default = taskClass.ConfigClass()
    out = []
    for line in default.differences(config):
        name = line.partition(":")[0]
        try:
            owner, leaf = config.resolve(name)
            value = tomlValue(getattr(owner, leaf))
        except (PipetaskError, AttributeError):
            value = line.partition(": ")[2].split(" != ")[-1]
        out.append((name, value))
    return out


def _option(override: Override) -> str:
    flag = "-C" if override.kind == "file" else "-c"
    label = f"{override.label}:" if override.labelled else ""
    return f"{flag} {label}{override.value}"


def taskConfig(taskName: str, camera: Any, overrides: Iterable[Override] = ()) -> Config:
    """The frozen, validated config of one task as a one-task run builds it: defaults,
    the camera's override files (none when ``camera`` is None), then each override."""
    spec = TaskSpec(taskName, taskName, f"task {taskName}")
    return _buildConfig(spec, camera, list(overrides))[1]


def _buildConfig(spec: TaskSpec, camera: Any, overrides: list[Override]) -> tuple[type, Config]:
    from ..plugins import catalog, load

    try:
        taskClass = load(catalog().get("task", spec.task).target)
    except PipetaskError as exc:
        raise PipelineError(f"{spec.where}: label {spec.label!r}: {exc}") from None
    config = taskClass.ConfigClass()
    try:
        for path in camera.configOverrideCandidates(spec.task) if camera is not None else ():
            if not path.is_file():
                log.debug("no camera config override file %s (optional)", path)
                continue
            log.debug("applying camera config override file %s", path)
            config.loadToml(str(path), label="camera override", task=spec.task)
        for source, table in spec.config:
            text = "\n".join(f"{tomlKey(k)} = {tomlValue(v)}" for k, v in table.items())
            config.loadTomlString(text, source=source)
    except PipetaskError as exc:
        raise PipelineError(f"label {spec.label!r}: {exc}") from None
    if spec.renames:
        names = getattr(config, CONFIG_FIELD, None) if connectionsClass(config) else None
        for name, (datasetType, source) in spec.renames.items():
            if names is None:
                raise PipelineError(
                    f"{source}: label {spec.label!r}: task {spec.task!r} declares no "
                    "connections to rename"
                )
            if name not in names:
                known = ", ".join(names)
                raise PipelineError(
                    f"{source}: label {spec.label!r}: {name!r} is not a connection of task "
                    f"{spec.task!r} (connections: {known}); the rename goes nowhere"
                )
            names.setField(name, datasetType, source)
    for override in overrides:
        if override.label != spec.label:
            continue
        log.debug("applying %s", _option(override))
        try:
            if override.kind == "file":
                flag = f"-C {spec.label}:" if override.labelled else "-C"
                config.loadToml(override.value, label=flag, task=spec.task)
            else:
                applyOverride(config, override.value, source=_option(override))
        except PipetaskError as exc:
            if not override.labelled:
                raise  # a one-task run: the message is the option's own
            text = str(exc)
            if text.startswith(f"-C {spec.label}: "):  # names the option, file and line
                raise PipelineError(text) from None
            text = text.removeprefix(f"-c {override.value}: ")  # said once, with the label
            raise PipelineError(f"{_option(override)}: {text}") from None
    try:
        validateForTask(config, spec.task)
    except PipetaskError as exc:
        if spec.where.startswith("task "):  # a one-task run
            raise
        raise PipelineError(f"label {spec.label!r}: {exc}") from None
    config.freeze()
    return taskClass, config


def _node(spec: TaskSpec, taskClass: type, config: Config, camera: Any, known) -> TaskNode:
    try:
        connections = resolveConnections(taskClass, config, camera, spec.label, known)
    except PipetaskError as exc:
        raise PipelineError(f"{spec.where}: {exc}") from None
    return TaskNode(spec.label, spec.task, taskClass, config, connections)


def _sorted(
    flows: dict[str, tuple[list[str], list[str]]],
    producers: dict[str, tuple[str, str]],
    source: str,
) -> list[str]:
    """Labels in dependency order (stable), from each label's ``(inputs, outputs)``
    dataset types; a cycle is an error that shows it."""
    needs: dict[str, dict[str, str]] = {}
    for label, (inputs, _outputs) in flows.items():
        needs[label] = {}
        for datasetType in inputs:
            producer = producers.get(datasetType)
            if producer is not None:
                needs[label].setdefault(producer[0], datasetType)
    done: list[str] = []
    state: dict[str, int] = {}

    def visit(label: str, path: list[str]) -> None:
        if state.get(label) == 2:
            return
        if state.get(label) == 1:
            cycle = path[path.index(label) :] + [label]
            flow = cycle[::-1]  # producer before consumer
            steps = flow[0] + "".join(
                f" --{needs[q][p]}--> {q}" for p, q in zip(flow, flow[1:], strict=False)
            )
            raise PipelineError(f"{source}: the pipeline has a cycle: {steps}")
        state[label] = 1
        for upstream in needs[label]:
            visit(upstream, [*path, label])
        state[label] = 2
        done.append(label)

    for label in flows:
        visit(label, [])
    return done
