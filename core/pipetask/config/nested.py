"""Nested configs: ``ConfigField`` (a sub-config) and ``ConfigurableField`` (a subtask)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .fields import Field
from .history import currentSource

if TYPE_CHECKING:
    from .config import Config


def targetPath(obj: Any) -> str:
    """``module:QualName`` of a class or function."""
    return f"{obj.__module__}:{obj.__qualname__}"


def copyValues(source: Config, dest: Config, label: str) -> None:
    """Apply every value of ``source`` onto ``dest`` (same class), through the checks."""
    from .toml_io import loadText

    loadText(dest, source.toToml(), label, withLines=False)


class _NestedField(Field):
    """What nested fields share: a child config stored under the field's name."""

    def __init__(self, doc: str, check=None, deprecated: str | None = None) -> None:
        self.doc = doc
        self.check = check
        self.optional = False
        self.deprecated = deprecated
        self.name = ""
        self.default = None

    def childConfig(self, owner: Config) -> Config:
        return owner._storage[self.name]

    def renameChild(self, owner: Config) -> None:
        self.childConfig(owner)._setPrefix(owner._fullName(self.name) + ".")

    def freezeChild(self, owner: Config) -> None:
        self.childConfig(owner).freeze()

    def childNames(self, owner: Config) -> list[str]:
        return self.childConfig(owner).names()

    def childDict(self, owner: Config) -> dict[str, Any]:
        return self.childConfig(owner).toDict()

    def compareChild(self, owner: Config, other: Config, rtol: float, atol: float) -> list[str]:
        return self.childConfig(owner).compare(self.childConfig(other), rtol, atol)

    def validate(self, owner: Config) -> None:
        child = self.childConfig(owner)
        child.validate()
        if self.check is not None and not self.check(child):
            raise self.error(owner, f"{child!r} is not a valid value")


class ConfigField(_NestedField):
    """A nested config of class ``dtype``; assigning a config copies its values."""

    fieldTypeName = "ConfigField"

    def __init__(
        self, doc: str, dtype: type, default: Config | None = None, check=None, deprecated=None
    ) -> None:
        from .config import Config

        if not (isinstance(dtype, type) and issubclass(dtype, Config)):
            raise ValueError(f"ConfigField dtype must be a Config subclass, not {dtype!r}")
        super().__init__(doc, check, deprecated)
        self.dtype = dtype
        self.default = default

    def initialize(self, owner: Config) -> None:
        child = self.dtype()
        if self.default is not None:
            copyValues(self.default, child, "default")
        owner._storage[self.name] = child
        owner._history.setdefault(self.name, []).append(("<config>", "default"))
        self.renameChild(owner)

    def set(self, owner: Config, value: Any, source: str | None) -> None:
        child = self.childConfig(owner)
        source = source or currentSource()
        if isinstance(value, self.dtype):
            copyValues(value, child, source)
        elif isinstance(value, dict):
            for key, item in value.items():
                child._assign(key, item, source)
        else:
            raise self.error(
                owner,
                f"Value {value!r} is of incorrect type {type(value).__name__}. "
                f"Expected {self.dtype.__name__}",
            )

    def describe(self) -> str:
        return f"config {self.dtype.__name__}"


class ConfigurableInstance:
    """The value of a ``ConfigurableField``: a target task and that task's config.

    Attribute access reaches the config (``config.stats.numSigmaClip``); ``retarget``
    swaps the target, and ``apply`` builds the task.
    """

    def __init__(self, owner: Config, field: ConfigurableField, target: type, ConfigClass: type):
        object.__setattr__(self, "_owner", owner)
        object.__setattr__(self, "_field", field)
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_ConfigClass", ConfigClass)
        object.__setattr__(self, "_value", ConfigClass())

    @property
    def target(self) -> type:
        """The task class that :meth:`apply` builds."""
        return self._target

    @property
    def ConfigClass(self) -> type:
        """The class of :attr:`value`."""
        return self._ConfigClass

    @property
    def value(self) -> Config:
        """The target's config."""
        return self._value

    def apply(self, *args: Any, **kwargs: Any) -> Any:
        """Build the target: ``target(*args, config=value, **kwargs)``."""
        return self._target(*args, config=self._value, **kwargs)

    def retarget(
        self, target: Any, ConfigClass: type | None = None, source: str | None = None
    ) -> None:
        """Use another task with the same interface.

        ``target`` is a class, an import path (``"module:Class"`` or LSST's
        ``"pkg.module.Class"``) or the name of a task registered by a plugin
        (``"simpleStats"``); command-line tasks are refused. The config becomes a fresh
        ``ConfigClass`` (default: the target's) unless it is the current class, in which
        case its values are kept.
        """
        owner, field = self._owner, self._field
        owner._checkMutable(field.name)
        target, ConfigClass = field.resolveTarget(owner, target, ConfigClass)
        if ConfigClass is not self._ConfigClass:
            object.__setattr__(self, "_value", ConfigClass())
        object.__setattr__(self, "_target", target)
        object.__setattr__(self, "_ConfigClass", ConfigClass)
        field.renameChild(owner)
        owner._history.setdefault(field.name, []).append(
            (f"retarget {targetPath(target)}", source or currentSource())
        )

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(self._value, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._value, name, value)

    def __repr__(self) -> str:
        return f"<{targetPath(self._target)} {self._value!r}>"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ConfigurableInstance):
            return NotImplemented
        return self._target is other._target and self._value == other._value

    __hash__ = None  # type: ignore[assignment]


class ConfigurableField(_NestedField):
    """A subtask: its target task class and that task's config, retargetable."""

    fieldTypeName = "ConfigurableField"

    def __init__(
        self,
        doc: str,
        target: type,
        ConfigClass: type | None = None,
        default: Config | None = None,
        check=None,
        deprecated: str | None = None,
    ) -> None:
        super().__init__(doc, check, deprecated)
        self.target, self.ConfigClass = self.resolveTarget(None, target, ConfigClass)
        self.default = default

    def resolveTarget(self, owner: Config | None, target: Any, ConfigClass: type | None):
        """A target class (from a class, import path or task name) and its config class."""
        if isinstance(target, str):
            from ..plugins import loadSubtaskTarget

            target = loadSubtaskTarget(target, getattr(self, "target", None))
        if not callable(target):
            raise self.error(owner, f"target {target!r} is not callable")
        ConfigClass = ConfigClass or getattr(target, "ConfigClass", None)
        if ConfigClass is None:
            raise self.error(
                owner, f"target {targetPath(target)} must define attribute 'ConfigClass'"
            )
        return target, ConfigClass

    def __get__(self, instance: Config | None, owner: type | None = None) -> Any:
        if instance is None:
            return self
        return instance._storage[self.name]

    def initialize(self, owner: Config) -> None:
        instance = ConfigurableInstance(owner, self, self.target, self.ConfigClass)
        owner._storage[self.name] = instance
        if self.default is not None:
            copyValues(self.default, instance.value, "default")
        owner._history.setdefault(self.name, []).append((targetPath(self.target), "default"))
        self.renameChild(owner)

    def childConfig(self, owner: Config) -> Config:
        return owner._storage[self.name].value

    def set(self, owner: Config, value: Any, source: str | None) -> None:
        instance: ConfigurableInstance = owner._storage[self.name]
        source = source or currentSource()
        if isinstance(value, ConfigurableInstance):
            instance.retarget(value.target, value.ConfigClass, source)
            copyValues(value.value, instance.value, source)
        elif isinstance(value, instance.ConfigClass):
            copyValues(value, instance.value, source)
        elif isinstance(value, type | str):
            instance.retarget(value, source=source)
        else:
            raise self.error(
                owner,
                f"Value {value!r} is of incorrect type {type(value).__name__}. "
                f"Expected {instance.ConfigClass.__name__} or a task to retarget to",
            )

    def compareChild(self, owner: Config, other: Config, rtol: float, atol: float) -> list[str]:
        mine, theirs = owner._storage[self.name], other._storage[self.name]
        if mine.target is not theirs.target:
            return [
                f"{owner._fullName(self.name)}: target "
                f"{targetPath(mine.target)} != {targetPath(theirs.target)}"
            ]
        return mine.value.compare(theirs.value, rtol, atol)

    def describe(self) -> str:
        return f"subtask (default {targetPath(self.target)})"
