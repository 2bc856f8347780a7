"""Nested configs: ``ConfigField`` (a sub-config) and ``ConfigurableField`` (a subtask)."""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError
from .config import Config, compareTrees
from .fields import Field
from .history import currentSource
from .tomltext import parseTomlValue

TARGET, CONFIG_CLASS = "_target", "_ConfigClass"


def targetPath(obj: Any) -> str:
    """``module:QualName`` of a class or function."""
    return f"{obj.__module__}:{obj.__qualname__}"


def isConfigClass(value: Any) -> bool:
    """Whether ``value`` is a ``Config`` subclass (not an instance)."""
    return isinstance(value, type) and issubclass(value, Config)


class NestedField(Field):
    """What nested fields share: the configs they hold follow the field protocol."""

    isNested = True

    def __init__(self, doc: str, check=None, deprecated: str | None = None) -> None:
        self.setup(doc, None, None, check, False, deprecated)

    def __get__(self, instance: Config | None, owner: type | None = None) -> Any:
        if instance is None:
            return self
        return instance._storage[self.name]

    def isUnset(self, owner: Config) -> bool:
        return False

    def rename(self, owner: Config) -> None:
        base = owner.fieldFullName(self.name)
        for key, child in self.children(owner, everything=True):
            child._setPrefix(f"{base}.{key}." if key else f"{base}.")

    def freeze(self, owner: Config) -> None:
        for _, child in self.children(owner, everything=True):
            child.freeze()

    def names(self, owner: Config) -> list[str]:
        return [
            f"{self.name}.{key}.{leaf}" if key else f"{self.name}.{leaf}"
            for key, child in self.children(owner)
            for leaf in child.names()
        ]

    def toDict(self, owner: Config) -> Any:
        return self.child(owner, None).toDict()

    def validate(self, owner: Config) -> None:
        for _, child in self.children(owner):
            child.validate()
        if self.check is not None and not self.check(self.__get__(owner)):
            raise self.error(owner, f"{self.__get__(owner)!r} is not a valid value")

    def compare(self, a: Config, b: Config, shortcut: bool, rtol: float, atol: float, report):
        return compareTrees(self.child(a, None), self.child(b, None), shortcut, rtol, atol, report)

    def load(self, owner: Config, data: Any, loader: Any, path: tuple[str, ...]) -> None:
        if not isinstance(data, dict):
            raise ConfigError(
                f"{owner.fieldFullName(self.name)!r} is a {self.fieldTypeName}: "
                f"give it a table ([{'.'.join(path)}]), not {data!r}"
            )
        self.loadTable(owner, dict(data), loader, path)

    def loadTable(self, owner: Config, table: dict, loader: Any, path: tuple[str, ...]) -> None:
        loader.apply(self.child(owner, None), table, path)

    def parseText(self, text: str, name: str) -> Any:
        raise ConfigError(f"{name!r} is a nested config; set its fields ({name}.FIELD=VALUE)")

    def expectedForm(self) -> str:
        return "values for its fields (NAME.FIELD=VALUE)"


class ConfigField(NestedField):
    """A nested config of class ``dtype`` (default: a ``dtype()``).

    Assigning a config of that class copies its values; assigning the class itself
    resets the nested config to the class's defaults; a dict sets the fields it names.
    """

    fieldTypeName = "ConfigField"

    def __init__(
        self,
        doc: str,
        dtype: type | None = None,
        default: Any = None,
        check=None,
        deprecated: str | None = None,
    ) -> None:
        if not isConfigClass(dtype):
            raise ValueError(f"ConfigField dtype must be a Config subclass, not {dtype!r}")
        if default is not None and not (
            isinstance(default, dtype) or (isConfigClass(default) and issubclass(default, dtype))
        ):
            raise ValueError(f"ConfigField default {default!r} is not a {dtype.__name__}")
        super().__init__(doc, check, deprecated)
        self.dtype = dtype
        self.default = default

    def initialize(self, owner: Config) -> None:
        default = self.default if self.default is not None else self.dtype
        child = default() if isConfigClass(default) else default.copy()
        owner._storage[self.name] = child
        owner._history.setdefault(self.name, []).append(("<config>", "default"))
        self.rename(owner)

    def child(self, owner: Config, key: str | None) -> Config:
        return owner._storage[self.name]

    def children(self, owner: Config, everything: bool = False) -> list[tuple[str, Config]]:
        return [("", owner._storage[self.name])]

    def set(self, owner: Config, value: Any, source: str | None) -> None:
        owner._checkMutable(self.name)
        child = owner._storage[self.name]
        source = source or currentSource()
        if isConfigClass(value) and issubclass(value, self.dtype):
            owner._storage[self.name] = value()
            owner._history.setdefault(self.name, []).append((f"<{value.__name__}>", source))
            self.rename(owner)
        elif isinstance(value, Config) and type(value) is type(child):
            child._updateFrom(value, source)
        elif isinstance(value, dict):
            for key, item in value.items():
                child._assign(key, item, source)
        else:
            raise self.error(
                owner,
                f"Value {value!r} is of incorrect type {type(value).__name__}. "
                f"Expected {self.dtype.__name__}",
            )

    def setFrom(self, owner: Config, other: Config, source: str) -> None:
        mine, theirs = owner._storage[self.name], other._storage[self.name]
        if type(mine) is not type(theirs):
            owner._storage[self.name] = theirs.copy()
            self.rename(owner)
        else:
            mine._updateFrom(theirs, source)

    def copyStorage(self, old: Config, new: Config) -> Any:
        return old._storage[self.name].copy()

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
        field.rename(owner)
        owner._history.setdefault(field.name, []).append(
            (f"retarget {targetPath(target)}", source or currentSource())
        )

    def _reset(self, ConfigClass: type) -> None:
        object.__setattr__(self, "_value", ConfigClass())
        self._field.rename(self._owner)

    def _copyFor(self, owner: Config) -> ConfigurableInstance:
        new = object.__new__(ConfigurableInstance)
        for name, value in (("_owner", owner), ("_field", self._field), ("_target", self._target)):
            object.__setattr__(new, name, value)
        object.__setattr__(new, "_ConfigClass", self._ConfigClass)
        object.__setattr__(new, "_value", self._value.copy())
        return new

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


class ConfigurableField(NestedField):
    """A subtask: its target task class and that task's config, retargetable."""

    fieldTypeName = "ConfigurableField"

    def __init__(
        self,
        doc: str,
        target: Any = None,
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

            try:
                target = loadSubtaskTarget(target, getattr(self, "target", None))
            except ValueError as exc:  # an import path with nothing before the ':'
                raise self.error(
                    owner,
                    f"cannot retarget to {target!r}: {exc} (give a task name or module:Class)",
                ) from None
        if not callable(target):
            raise self.error(owner, f"target {target!r} is not callable")
        ConfigClass = ConfigClass or getattr(target, "ConfigClass", None)
        if ConfigClass is None:
            raise self.error(
                owner, f"target {targetPath(target)} must define attribute 'ConfigClass'"
            )
        return target, ConfigClass

    def initialize(self, owner: Config) -> None:
        instance = ConfigurableInstance(owner, self, self.target, self.ConfigClass)
        owner._storage[self.name] = instance
        if self.default is not None:
            instance.value._updateFrom(self.default, "default")
        owner._history.setdefault(self.name, []).append((targetPath(self.target), "default"))
        self.rename(owner)

    def child(self, owner: Config, key: str | None) -> Config:
        return owner._storage[self.name].value

    def children(self, owner: Config, everything: bool = False) -> list[tuple[str, Config]]:
        return [("", owner._storage[self.name].value)]

    def targets(self, owner: Config) -> list[tuple[str, Any]]:
        return [("", owner._storage[self.name].target)]

    def set(self, owner: Config, value: Any, source: str | None) -> None:
        owner._checkMutable(self.name)
        instance: ConfigurableInstance = owner._storage[self.name]
        source = source or currentSource()
        if isinstance(value, ConfigurableInstance):
            instance.retarget(value.target, value.ConfigClass, source)
            instance.value._updateFrom(value.value, source)
        elif isinstance(value, Config) and type(value) is instance.ConfigClass:
            instance.value._updateFrom(value, source)
        elif isConfigClass(value) and value is instance.ConfigClass:
            instance._reset(value)
            owner._history.setdefault(self.name, []).append((f"<{value.__name__}>", source))
        elif isinstance(value, str) or (isinstance(value, type) and not isConfigClass(value)):
            instance.retarget(value, source=source)
        else:
            raise self.error(
                owner,
                f"Value {value!r} is of incorrect type {type(value).__name__}. "
                f"Expected {instance.ConfigClass.__name__} or a task to retarget to",
            )

    def setFrom(self, owner: Config, other: Config, source: str) -> None:
        mine, theirs = owner._storage[self.name], other._storage[self.name]
        if mine.target is not theirs.target or mine.ConfigClass is not theirs.ConfigClass:
            mine.retarget(theirs.target, theirs.ConfigClass, source)
        mine.value._updateFrom(theirs.value, source)

    def copyStorage(self, old: Config, new: Config) -> Any:
        return old._storage[self.name]._copyFor(new)

    def compare(self, a: Config, b: Config, shortcut: bool, rtol: float, atol: float, report):
        mine, theirs = a._storage[self.name], b._storage[self.name]
        if mine.target is not theirs.target:
            report(
                a.fieldFullName(self.name),
                f"target {targetPath(mine.target)} != {targetPath(theirs.target)}",
            )
            return False
        return compareTrees(mine.value, theirs.value, shortcut, rtol, atol, report)

    def tableEntries(self, owner: Config) -> dict[str, Any]:
        instance = owner._storage[self.name]
        entries = {TARGET: targetPath(instance.target)}
        if instance.ConfigClass is not getattr(instance.target, "ConfigClass", None):
            entries[CONFIG_CLASS] = targetPath(instance.ConfigClass)
        return entries

    def loadTable(self, owner: Config, table: dict, loader: Any, path: tuple[str, ...]) -> None:
        instance = owner._storage[self.name]
        target, configClass = table.pop(TARGET, None), table.pop(CONFIG_CLASS, None)
        if target is not None or configClass is not None:
            if configClass is not None:
                from ..plugins import load

                configClass = load(str(configClass))
            targetClass, cc = self.resolveTarget(
                owner, target if target is not None else instance.target, configClass
            )
            if targetClass is not instance.target or cc is not instance.ConfigClass:
                instance.retarget(targetClass, cc, source=loader.where(path + (TARGET,)))
        loader.apply(instance.value, table, path)

    def parseText(self, text: str, name: str) -> Any:
        parsed, value = parseTomlValue(text)
        value = value if parsed and isinstance(value, str) else text.strip()
        if not value:
            raise ConfigError(f"no task given for {name} (expected {self.expectedForm()})")
        return value

    def describe(self) -> str:
        return f"subtask (default {targetPath(self.target)})"

    def expectedForm(self) -> str:
        return "a task name or module:Class to retarget to"
