"""Connections: the datasets a task reads and writes, by dataset type and data-ID keys.

A task declares its connections in a :class:`Connections` subclass and puts the names in
its config, so a pipeline can rename the dataset types::

    class SummaryConnections(Connections, dimensions=("visit",)):
        calexps = Input("calexp", doc="every CCD of the visit", multiple=True)
        bias = PrerequisiteInput("bias", doc="master bias from --calib")
        summary = Output("visitSummary", doc="one table per visit")

    class SummaryConfig(Config):
        connections = SummaryConnections.makeField()

``dimensions`` are data-ID keys (camera keys such as ``visit`` and ``ccd``). A task's
dimensions say what one quantum (one call of the task) covers; None means "the keys of
its first input". A connection's dimensions default to the keys its dataset type is
stored by (its path template, for a camera's dataset type) or, for a new output, the
task's dimensions. An input with more keys than the task is a gather and must say
``multiple=True``; an output always has the task's dimensions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from ..config import Config, ConfigField, Field
from ..errors import ConfigError

INPUT, PREREQUISITE, OUTPUT = "input", "prerequisite", "output"
CONFIG_FIELD = "connections"


class BaseConnection:
    """One declared connection: its default dataset type, keys and doc."""

    kind = ""

    def __init__(
        self,
        datasetType: str,
        doc: str = "",
        dimensions: tuple[str, ...] | list[str] | None = None,
        multiple: bool = False,
    ) -> None:
        self.name = ""
        self.datasetType = datasetType
        self.doc = doc
        self.dimensions = None if dimensions is None else tuple(dimensions)
        self.multiple = multiple

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.datasetType!r}, name={self.name!r})"


class Input(BaseConnection):
    """A dataset the task reads; ``multiple=True`` gathers every match (all CCDs of a visit)."""

    kind = INPUT


class PrerequisiteInput(BaseConnection):
    """A dataset that must already exist (a calibration from ``--calib``); never produced
    by the pipeline and not constrained by ``--id``.

    A calibration dataset type (the camera marks it ``calib``) is looked up, when
    ``--calib`` is a calibration repository, as the product valid at each quantum's raw
    date for its detector (and filter). ``optional=True``: a missing one is no error (the
    task has a fallback, such as the obs package's own defect list).
    """

    kind = PREREQUISITE

    def __init__(
        self,
        datasetType: str,
        doc: str = "",
        dimensions: tuple[str, ...] | list[str] | None = None,
        multiple: bool = False,
        optional: bool = False,
    ) -> None:
        super().__init__(datasetType, doc, dimensions, multiple)
        self.optional = optional


class Output(BaseConnection):
    """A dataset the task writes, one per quantum (it has the task's dimensions)."""

    kind = OUTPUT

    def __init__(
        self, datasetType: str, doc: str = "", dimensions: tuple[str, ...] | None = None
    ) -> None:
        super().__init__(datasetType, doc, dimensions, multiple=False)


class Connections:
    """Base of a task's connection declarations (see the module docstring).

    Subclass with ``class X(Connections, dimensions=("visit", "ccd"))``; each class gets
    ``ConfigClass``, a config with one ``str`` field per connection holding its dataset
    type name, and :meth:`makeField` to put it into the task's config.
    """

    dimensions: ClassVar[tuple[str, ...] | None] = None
    allConnections: ClassVar[dict[str, BaseConnection]] = {}
    ConfigClass: ClassVar[type[Config]]

    @classmethod
    def disabled(cls, config: Config) -> set[str]:
        """Names of the connections that ``config`` (the task's whole config) turns off:
        the task neither reads nor writes them (``isrTask`` with ``doBias=false`` needs
        no bias). None by default."""
        return set()

    def __init_subclass__(cls, dimensions: Any = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if dimensions is not None:
            if isinstance(dimensions, str):
                raise TypeError(f"{cls.__name__}: dimensions must be a tuple of keys")
            cls.dimensions = tuple(dimensions)
        found: dict[str, BaseConnection] = {}
        for base in reversed(cls.__mro__[1:]):
            found.update(getattr(base, "allConnections", {}))
        for key, value in vars(cls).items():
            if isinstance(value, BaseConnection):
                found[key] = value
        cls.allConnections = found
        fields = {
            name: Field(
                f"dataset type of {conn.kind} {name!r}" + (f": {conn.doc}" if conn.doc else ""),
                dtype=str,
                default=conn.datasetType,
            )
            for name, conn in found.items()
        }
        configClass = type(f"{cls.__name__}Config", (Config,), fields)
        configClass.__module__ = cls.__module__
        configClass.__qualname__ = f"{cls.__qualname__}.ConfigClass"
        configClass._connectionsClass = cls  # type: ignore[attr-defined]
        cls.ConfigClass = configClass

    @classmethod
    def makeField(cls, doc: str = "Dataset type name of each connection") -> ConfigField:
        """The ``connections`` config field of a task using these connections."""
        return ConfigField(doc=doc, dtype=cls.ConfigClass)


def connectionsClass(config: Config) -> type[Connections] | None:
    """The :class:`Connections` class a task's config declares, or None."""
    field = getattr(type(config), CONFIG_FIELD, None)
    return getattr(getattr(field, "dtype", None), "_connectionsClass", None)


@dataclass(frozen=True)
class Connection:
    """A connection resolved against a config and a camera: what the graph uses."""

    name: str
    kind: str
    datasetType: str
    dimensions: tuple[str, ...]
    multiple: bool = False
    #: a prerequisite that may be missing (used when the graph is built; not stored)
    optional: bool = False


@dataclass(frozen=True)
class TaskConnections:
    """Every resolved connection of one task, and the keys of its quanta."""

    dimensions: tuple[str, ...]
    inputs: tuple[Connection, ...]
    prerequisites: tuple[Connection, ...]
    outputs: tuple[Connection, ...]

    def all(self) -> tuple[Connection, ...]:
        """Inputs, prerequisites and outputs, in that order."""
        return self.inputs + self.prerequisites + self.outputs

    def byName(self, name: str) -> Connection:
        """The connection called ``name``."""
        for conn in self.all():
            if conn.name == name:
                return conn
        raise KeyError(name)


def _ordered(keys: tuple[str, ...], cameraKeys: Mapping[str, type], where: str) -> tuple:
    unknown = [k for k in keys if k not in cameraKeys]
    if unknown:
        raise ConfigError(
            f"{where}: unknown data ID key {unknown[0]!r}; the camera's keys are "
            f"{', '.join(cameraKeys)}"
        )
    return tuple(k for k in cameraKeys if k in keys)


def declaredConnections(
    taskClass: type, config: Config, camera: Any
) -> list[tuple[str, str, str, tuple[str, ...] | None, bool]]:
    """``(name, kind, dataset type, declared keys or None, multiple)`` of each connection.

    A task without declared connections (a plain command-line task) reads its
    ``inputDatasetType`` (the camera's raw type by default) and writes its
    ``outputDatasetTypes``, all with the keys of that input; a gathering task (one that
    defines ``gatherKeys``, see :func:`gatherDimensions`) reads all its input's data IDs of
    one group, so that input is ``multiple``.
    """
    declared = connectionsClass(config)
    if declared is None:
        raw = getattr(taskClass, "inputDatasetType", None) or camera.rawDatasetType
        outputs = getattr(taskClass, "outputDatasetTypes", ())
        gathers = gatherDimensions(taskClass, camera) is not None
        return [("input", INPUT, raw, None, gathers)] + [
            (n, OUTPUT, n, None, False) for n in outputs
        ]
    names = getattr(config, CONFIG_FIELD)
    off = declared.disabled(config)
    return [
        (n, c.kind, getattr(names, n), c.dimensions, c.multiple)
        for n, c in declared.allConnections.items()
        if n not in off
    ]


def gatherDimensions(taskClass: type, camera: Any) -> tuple[str, ...] | None:
    """The keys a gathering task without declared connections groups its input by (its
    quanta's keys), or None for a task that does not gather.

    A command-line task that combines several inputs into one output (a master bias from
    the bias frames of each detector, LSST's ``constructBias``) defines
    ``gatherKeys(camera) -> sequence of str``. Its one-task pipeline has one quantum per
    group (the selected data IDs with the same values of those keys), and its
    ``runDataRef`` receives one data reference per group, whose data ID holds the group's
    keys and whose ``members`` lists a reference to each data ID of the group.
    """
    gatherKeys = getattr(taskClass, "gatherKeys", None)
    return tuple(gatherKeys(camera)) if callable(gatherKeys) else None


def optionalConnections(config: Config) -> set[str]:
    """Names of the optional prerequisites ``config``'s connections declare."""
    declared = connectionsClass(config)
    if declared is None:
        return set()
    return {n for n, c in declared.allConnections.items() if getattr(c, "optional", False)}


def resolveConnections(
    taskClass: type,
    config: Config,
    camera: Any,
    label: str | None = None,
    knownKeys: Mapping[str, tuple[str, ...]] | None = None,
) -> TaskConnections:
    """The connections of a task with ``config``, their keys checked against ``camera``.

    ``knownKeys`` gives the keys of dataset types that other tasks of a pipeline write;
    an input that declares no dimensions takes them from there first.
    """
    label = label or getattr(taskClass, "_DefaultName", taskClass.__name__)
    cameraKeys = camera.keys
    specs = declaredConnections(taskClass, config, camera)
    declared = connectionsClass(config)
    taskDims = gatherDimensions(taskClass, camera) if declared is None else declared.dimensions

    def storedKeys(datasetType: str) -> tuple[str, ...] | None:
        if knownKeys and datasetType in knownKeys:
            return knownKeys[datasetType]
        dsType = camera.datasetType(datasetType)
        return None if dsType is None else dsType.keys

    optional = optionalConnections(config)
    resolved: list[Connection] = []
    for name, kind, datasetType, dims, multiple in specs:
        where = f"task {label!r}, connection {name!r} (dataset type {datasetType!r})"
        if not datasetType:
            raise ConfigError(f"{where}: the dataset type name is empty")
        if dims is None and kind != OUTPUT:
            dims = storedKeys(datasetType)
            if dims is None:
                dims = taskDims  # an input produced upstream with the task's own keys
        if dims is not None:
            dims = _ordered(dims, cameraKeys, where)
        resolved.append(
            Connection(name, kind, datasetType, dims, multiple, name in optional)  # type: ignore[arg-type]
        )
    inputs = [c for c in resolved if c.kind == INPUT]
    if taskDims is None:
        first = next((c for c in inputs if c.dimensions is not None), None)
        if first is None:
            raise ConfigError(
                f"task {label!r} declares no dimensions and has no input to take them from"
            )
        taskDims = first.dimensions
    taskDims = _ordered(tuple(taskDims), cameraKeys, f"task {label!r}")
    final: list[Connection] = []
    for conn in resolved:
        dims = conn.dimensions if conn.dimensions is not None else taskDims
        if conn.kind == OUTPUT:
            dims = conn.dimensions or storedKeys(conn.datasetType) or taskDims
            if set(dims) != set(taskDims):
                raise ConfigError(
                    f"task {label!r}, output {conn.name!r} (dataset type {conn.datasetType!r}) "
                    f"has keys ({', '.join(dims)}) but the task's quanta have "
                    f"({', '.join(taskDims)}); an output must have the task's keys"
                )
            dims = taskDims
        final.append(
            Connection(conn.name, conn.kind, conn.datasetType, dims, conn.multiple, conn.optional)
        )
    return TaskConnections(
        dimensions=taskDims,
        inputs=tuple(c for c in final if c.kind == INPUT),
        prerequisites=tuple(c for c in final if c.kind == PREREQUISITE),
        outputs=tuple(c for c in final if c.kind == OUTPUT),
    )
