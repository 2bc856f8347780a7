"""Choosing among named configs: ``ConfigChoiceField``, registries and ``RegistryField``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, MutableSet
from typing import Any

from ..errors import ConfigError, UnexpectedProxyUsageError
from .config import Config, compareTrees, suggestion
from .history import currentSource
from .nested import NestedField, isConfigClass, targetPath
from .tomltext import parseTomlValue

NAME, NAMES = "_name", "_names"


class RegistryError(ConfigError, RuntimeError):
    """A name registered twice, or a registered config class of the wrong base type."""


class SelectionSet(MutableSet):
    """The selection of a multi-selection choice field (``config.f.names``): a set that
    keeps the order names were added in; every change is checked and recorded."""

    def __init__(self, instance: ConfigChoiceInstance) -> None:
        self._instance = instance

    def _items(self) -> list[str]:
        return self._instance._selection

    def __contains__(self, name: object) -> bool:
        return name in self._items()

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._items()))

    def __len__(self) -> int:
        return len(self._items())

    def add(self, name: str) -> None:
        if name not in self._items():
            self._instance.names = [*self._items(), name]

    def discard(self, name: str) -> None:
        if name in self._items():
            self._instance.names = [n for n in self._items() if n != name]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str | bytes) or not isinstance(other, Iterable):
            return NotImplemented
        return set(self._items()) == set(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self._items())


class ConfigChoiceInstance(Mapping):
    """The value of a ``ConfigChoiceField``: one config per choice, and the selection.

    A mapping from choice name to config: ``field["A"]`` is the config of choice ``A``
    (made on first use; assigning a config class resets it, a config copies its values);
    ``field.name`` (or ``field.names``, a set, for a multi-selection field) selects;
    ``field.active`` is the selected config (or list of configs).
    """

    def __init__(self, owner: Config, field: ConfigChoiceField) -> None:
        self._owner, self._field = owner, field
        self._configs: dict[str, Config] = {}
        self._selection: Any = [] if field.multi else None

    @property
    def types(self) -> Mapping[str, type]:
        """Choice name -> config class."""
        return self._field.typemap

    def _check(self, name: str) -> str:
        if name not in self._field.typemap:
            known = ", ".join(sorted(self._field.typemap))
            raise self._field.error(
                self._owner,
                f"Unknown key {name!r}{suggestion(name, self._field.typemap)}; choices: {known}",
            )
        return name

    def __getitem__(self, name: str) -> Config:
        name = self._check(name)
        config = self._configs.get(name)
        if config is None:
            config = self._field.typemap[name]()
            self._adopt(name, config)
        return config

    def _adopt(self, name: str, config: Config) -> None:
        config._setPrefix(self._owner.fieldFullName(self._field.name) + f".{name}.")
        if self._owner.frozen:
            config.freeze()
        self._configs[name] = config

    def __setitem__(self, name: str, value: Any) -> None:
        self._owner._checkMutable(self._field.name)
        dtype = self._field.typemap[self._check(name)]
        source = currentSource()
        if value is dtype:
            self._adopt(name, dtype())
        elif isinstance(value, Config) and type(value) is dtype:
            self[name]._updateFrom(value, source)
        else:
            raise self._field.error(
                self._owner,
                f"Value {value!r} is of incorrect type {type(value).__name__}. "
                f"Expected {dtype.__name__}",
            )
        self._owner._history.setdefault(self._field.name, []).append((f"[{name}]", source))

    def __contains__(self, name: object) -> bool:
        return name in self._field.typemap

    def __iter__(self) -> Iterator[str]:
        return iter(self._field.typemap)

    def __len__(self) -> int:
        return len(self._field.typemap)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in ("name", "names") or name.startswith("_"):
            object.__setattr__(self, name, value)
        else:
            raise UnexpectedProxyUsageError(
                f"choice value of {self._owner.fieldFullName(self._field.name)} "
                f"has no attribute {name!r}"
            )

    def __reduce__(self):
        raise UnexpectedProxyUsageError(
            f"The value of config field {self._owner.fieldFullName(self._field.name)} "
            "cannot be pickled; pickle the config instead"
        )

    @property
    def name(self) -> str | None:
        """The selected choice (single-selection fields)."""
        if self._field.multi:
            raise ConfigError("Multi-selection field has no attribute 'name'; use 'names'")
        return self._selection

    @name.setter
    def name(self, value: str | None) -> None:
        self._owner._assign(self._field.name, value)

    @property
    def names(self) -> SelectionSet:
        """The selected choices (multi-selection fields)."""
        if not self._field.multi:
            raise ConfigError("Single-selection field has no attribute 'names'; use 'name'")
        return SelectionSet(self)

    @names.setter
    def names(self, value: Iterable[str]) -> None:
        self._owner._assign(self._field.name, value)

    @property
    def active(self) -> Config | list[Config] | None:
        """The selected config(s)."""
        if self._field.multi:
            return [self[name] for name in self._selection]
        return None if self._selection is None else self[self._selection]

    def _selected(self) -> list[str]:
        if self._field.multi:
            return list(self._selection)
        return [] if self._selection is None else [self._selection]

    def _select(self, value: Any) -> None:
        if self._field.multi:
            if isinstance(value, str) or value is None:
                value = [] if value is None else [value]
            selection: list[str] = []
            for name in value:
                if self._check(name) not in selection:
                    selection.append(name)
            self._selection = selection
        else:
            if value is not None and not isinstance(value, str):
                raise self._field.error(
                    self._owner, f"Value {value!r} is not a choice name; choose one of the names"
                )
            self._selection = None if value is None else self._check(value)

    def _copyFor(self, owner: Config) -> ConfigChoiceInstance:
        new = ConfigChoiceInstance(owner, self._field)
        new._configs = {name: config.copy() for name, config in self._configs.items()}
        new._selection = list(self._selection) if self._field.multi else self._selection
        return new

    def apply(self, *args: Any, **kwargs: Any) -> Any:
        """Build the selected implementation(s) (registry fields only)."""
        registry = self._field.registry
        if registry is None:
            raise ConfigError(f"{self._field.name}: only a RegistryField can apply()")
        if self._field.multi:
            return [registry[n](*args, config=self[n], **kwargs) for n in self._selection]
        if self._selection is None:
            raise ConfigError(
                f"No selection has been made. Options: {' '.join(sorted(self._field.typemap))}"
            )
        return registry[self._selection](*args, config=self.active, **kwargs)

    @property
    def registry(self) -> Registry | None:
        """The registry of a ``RegistryField`` (``None`` for a plain choice field)."""
        return self._field.registry

    @property
    def target(self) -> Any:
        """The selected implementation (single-selection registry fields)."""
        registry = self._field.registry
        if registry is None or self._selection is None or self._field.multi:
            return None
        return registry[self._selection]

    @property
    def targets(self) -> list[Any]:
        """The selected implementations of a registry field."""
        registry = self._field.registry
        return [] if registry is None else [registry[name] for name in self._selected()]

    def __repr__(self) -> str:
        return f"<choice {self._selection!r} of {sorted(self._field.typemap)}>"


class ConfigChoiceField(NestedField):
    """Select one (or, with ``multi``, several) of named config classes.

    Assigning a name (or a list of names) selects; ``config.f["name"]`` reaches a
    choice's config. Only selected choices are validated and compared; every choice
    that was used is saved.
    """

    fieldTypeName = "ConfigChoiceField"
    keyed = True

    def __init__(
        self,
        doc: str,
        typemap: Mapping[str, type],
        default: Any = None,
        optional: bool = False,
        multi: bool = False,
        deprecated: str | None = None,
    ) -> None:
        super().__init__(doc, None, deprecated)
        self.typemap = typemap
        self.default = default
        self.optional = optional
        self.multi = multi
        self.registry: Registry | None = None

    def initialize(self, owner: Config) -> None:
        instance = ConfigChoiceInstance(owner, self)
        owner._storage[self.name] = instance
        instance._select(self.default)
        owner._history.setdefault(self.name, []).append((self.default, "default"))

    def set(self, owner: Config, value: Any, source: str | None) -> None:
        owner._checkMutable(self.name)
        instance: ConfigChoiceInstance = owner._storage[self.name]
        source = source or currentSource()
        if isinstance(value, ConfigChoiceInstance):
            for name, config in value._configs.items():
                instance[name]._updateFrom(config, source)
            value = value._selection
        if isinstance(value, SelectionSet):
            value = list(value)
        instance._select(value)
        owner._history.setdefault(self.name, []).append((instance._selection, source))

    def setFrom(self, owner: Config, other: Config, source: str) -> None:
        self.set(owner, other._storage[self.name], source)

    def isUnset(self, owner: Config) -> bool:
        return owner._storage[self.name]._selection is None

    def child(self, owner: Config, key: str | None) -> Config:
        return owner._storage[self.name][key]

    def children(self, owner: Config, everything: bool = False) -> list[tuple[str, Config]]:
        instance = owner._storage[self.name]
        selected = [(name, instance[name]) for name in instance._selected()]
        if not everything:
            return selected
        return selected + [(n, c) for n, c in instance._configs.items() if n not in dict(selected)]

    def targets(self, owner: Config) -> list[tuple[str, Any]]:
        if self.registry is None:
            return []
        return [(name, self.registry[name]) for name in owner._storage[self.name]._selected()]

    def toDict(self, owner: Config) -> dict[str, Any]:
        instance = owner._storage[self.name]
        key = "names" if self.multi else "name"
        out: dict[str, Any] = {key: instance._selection}
        out.update({n: c.toDict() for n, c in instance._configs.items()})
        return out

    def copyStorage(self, old: Config, new: Config) -> Any:
        return old._storage[self.name]._copyFor(new)

    def compare(self, a: Config, b: Config, shortcut: bool, rtol: float, atol: float, report):
        mine, theirs = a._storage[self.name], b._storage[self.name]
        if mine._selected() != theirs._selected():
            report(
                a.fieldFullName(self.name),
                f"selection {mine._selected()!r} != {theirs._selected()!r}",
            )
            return False
        equal = True
        for name in mine._selected():
            if not compareTrees(mine[name], theirs[name], shortcut, rtol, atol, report):
                if shortcut:
                    return False
                equal = False
        return equal

    def validate(self, owner: Config) -> None:
        instance = owner._storage[self.name]
        if not instance._selected() and not self.optional:
            raise self.error(owner, "Required field cannot be None")
        for name in instance._selected():
            instance[name].validate()

    def tableEntries(self, owner: Config) -> dict[str, Any]:
        selection = owner._storage[self.name]._selection
        if selection is None:
            return {}
        return {NAMES if self.multi else NAME: selection}

    def loadTable(self, owner: Config, table: dict, loader: Any, path: tuple[str, ...]) -> None:
        instance = owner._storage[self.name]
        key = NAMES if self.multi else NAME
        if key in table:
            self.set(owner, table.pop(key), loader.where(path + (key,)))
        for choice, sub in table.items():
            if not isinstance(sub, dict):
                raise ConfigError(
                    f"choice {choice!r} of {owner.fieldFullName(self.name)!r} "
                    f"needs a table, not {sub!r}"
                )
            loader.apply(instance[choice], sub, path + (choice,))

    def parseText(self, text: str, name: str) -> Any:
        parsed, value = parseTomlValue(text)
        return value if parsed and isinstance(value, str | list) else text.strip()

    def describe(self) -> str:
        return "choice of " + ", ".join(sorted(self.typemap))

    def expectedForm(self) -> str:
        return ("a list of names, " if self.multi else "one of ") + ", ".join(sorted(self.typemap))


class ConfigurableWrapper:
    """A registered target whose config class was given at registration."""

    def __init__(self, target: Callable, ConfigClass: type) -> None:
        self.target, self.ConfigClass = target, ConfigClass
        self.__module__, self.__qualname__ = target.__module__, target.__qualname__

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.target(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<{targetPath(self.target)} with {self.ConfigClass.__name__}>"


class Registry(Mapping):
    """Named implementations (tasks) that a ``RegistryField`` can select.

    ``registry[name]`` is the registered target itself (a wrapper holding the target and
    its config class when a ``ConfigClass`` was given at registration).
    """

    def __init__(self, configBaseType: type | None = None, doc: str = "") -> None:
        if configBaseType is not None and not isConfigClass(configBaseType):
            raise RegistryError(f"configBaseType={configBaseType!r} is not a Config subclass")
        self.doc = doc
        self.configBaseType = configBaseType
        self._entries: dict[str, Any] = {}

    def register(self, name: str, target: Callable, ConfigClass: type | None = None) -> None:
        """Add ``target`` under ``name`` (a name may be registered once)."""
        if name in self._entries:
            raise RegistryError(f"An item with name {name!r} already exists")
        entry = target if ConfigClass is None else ConfigurableWrapper(target, ConfigClass)
        configClass = getattr(entry, "ConfigClass", None)
        if configClass is None:
            raise RegistryError(f"{targetPath(target)} must define attribute 'ConfigClass'")
        base = self.configBaseType
        if base is not None and not issubclass(configClass, base):
            raise RegistryError(f"{configClass.__name__} is not a subclass of {base.__name__}")
        self._entries[name] = entry

    def __getitem__(self, name: str) -> Any:
        return self._entries[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __deepcopy__(self, memo: dict) -> Registry:
        return self  # fields copied into a subclass share their registry

    def makeField(
        self, doc: str, default: Any = None, optional: bool = False, multi: bool = False
    ) -> RegistryField:
        """A ``RegistryField`` choosing among this registry's entries."""
        return RegistryField(doc, self, default=default, optional=optional, multi=multi)


class RegistryAdaptor(Mapping):
    """Registry name -> config class, read live (entries may be added later)."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def __getitem__(self, name: str) -> type:
        return self.registry[name].ConfigClass

    def __iter__(self) -> Iterator[str]:
        return iter(self.registry)

    def __len__(self) -> int:
        return len(self.registry)


class RegistryField(ConfigChoiceField):
    """Choose registered implementations by name; ``config.f.apply()`` builds the choice."""

    fieldTypeName = "RegistryField"

    def __init__(
        self,
        doc: str,
        registry: Registry,
        default: Any = None,
        optional: bool = False,
        multi: bool = False,
    ) -> None:
        super().__init__(doc, RegistryAdaptor(registry), default, optional, multi)
        self.registry = registry


def makeRegistry(doc: str, configBaseType: type | None = None) -> Registry:
    """A new, empty :class:`Registry`."""
    return Registry(configBaseType, doc)


def registerConfigurable(
    name: str, registry: Registry, ConfigClass: type | None = None
) -> Callable[[type], type]:
    """Class decorator: register the decorated task in ``registry`` under ``name``."""

    def decorate(target):
        registry.register(name, target, ConfigClass)
        return target

    return decorate
