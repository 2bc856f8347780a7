"""Choosing among named configs: ``ConfigChoiceField`` and registries of implementations."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from .config import suggestion
from .history import currentSource
from .nested import _NestedField, targetPath

if TYPE_CHECKING:
    from .config import Config


class ConfigChoiceInstance:
    """The value of a ``ConfigChoiceField``: one config per choice, and the selection.

    ``field["A"]`` is the config of choice ``A`` (made on first use); ``field.name``
    (or ``field.names`` for a multi-selection field) selects; ``field.active`` is the
    selected config (or list of configs).
    """

    def __init__(self, owner: Config, field: ConfigChoiceField) -> None:
        self._owner, self._field = owner, field
        self._configs: dict[str, Config] = {}
        self._selection: Any = [] if field.multi else None

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
            prefix = self._owner._fullName(self._field.name) + f".{name}."
            config._setPrefix(prefix)
            if self._owner.frozen:
                config.freeze()
            self._configs[name] = config
        return config

    def __contains__(self, name: object) -> bool:
        return name in self._field.typemap

    def __iter__(self) -> Iterator[str]:
        return iter(self._field.typemap)

    @property
    def name(self) -> str | None:
        """The selected choice (single-selection fields)."""
        if self._field.multi:
            raise ConfigError("Multi-selection field has no attribute 'name'; use 'names'")
        return self._selection

    @name.setter
    def name(self, value: str | None) -> None:
        self._field.set(self._owner, value, None)

    @property
    def names(self) -> list[str]:
        """The selected choices (multi-selection fields)."""
        if not self._field.multi:
            raise ConfigError("Single-selection field has no attribute 'names'; use 'name'")
        return list(self._selection)

    @names.setter
    def names(self, value: list[str]) -> None:
        self._field.set(self._owner, value, None)

    @property
    def active(self) -> Config | list[Config] | None:
        """The selected config(s)."""
        if self._field.multi:
            return [self[name] for name in self._selection]
        return None if self._selection is None else self[self._selection]

    def _select(self, value: Any) -> None:
        if self._field.multi:
            if isinstance(value, str) or value is None:
                value = [] if value is None else [value]
            self._selection = [self._check(v) for v in value]
        else:
            self._selection = None if value is None else self._check(value)

    def freeze(self) -> None:
        for config in self._configs.values():
            config.freeze()

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
    def target(self) -> Any:
        """The selected implementation (registry fields only)."""
        registry = self._field.registry
        if registry is None or self._selection is None or self._field.multi:
            return None
        return registry[self._selection].target

    @property
    def targets(self) -> list[Any]:
        """The selected implementations of a multi-selection registry field."""
        registry = self._field.registry
        if registry is None:
            return []
        selection = self._selection if self._field.multi else [self._selection]
        return [registry[name].target for name in selection if name is not None]

    def __repr__(self) -> str:
        return f"<choice {self._selection!r} of {sorted(self._field.typemap)}>"


class ConfigChoiceField(_NestedField):
    """Select one (or, with ``multi``, several) of named config classes.

    Assigning a name (or a list of names) selects; ``config.f["name"]`` reaches a
    choice's config. Only selected choices are validated and compared.
    """

    fieldTypeName = "ConfigChoiceField"

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

    def __get__(self, instance: Config | None, owner: type | None = None) -> Any:
        if instance is None:
            return self
        return instance._storage[self.name]

    def initialize(self, owner: Config) -> None:
        instance = ConfigChoiceInstance(owner, self)
        owner._storage[self.name] = instance
        instance._select(self.default)
        owner._history.setdefault(self.name, []).append((self.default, "default"))

    def set(self, owner: Config, value: Any, source: str | None) -> None:
        owner._checkMutable(self.name)
        instance: ConfigChoiceInstance = owner._storage[self.name]
        instance._select(value)
        owner._history.setdefault(self.name, []).append((value, source or currentSource()))

    def renameChild(self, owner: Config) -> None:
        instance = owner._storage[self.name]
        for name, config in instance._configs.items():
            config._setPrefix(owner._fullName(self.name) + f".{name}.")

    def freezeChild(self, owner: Config) -> None:
        owner._storage[self.name].freeze()

    def _selected(self, owner: Config) -> list[str]:
        selection = owner._storage[self.name]._selection
        if self.multi:
            return list(selection)
        return [] if selection is None else [selection]

    def childNames(self, owner: Config) -> list[str]:
        instance = owner._storage[self.name]
        return [f"{n}.{leaf}" for n in self._selected(owner) for leaf in instance[n].names()]

    def childDict(self, owner: Config) -> dict[str, Any]:
        instance = owner._storage[self.name]
        key = "names" if self.multi else "name"
        out: dict[str, Any] = {key: instance._selection}
        out.update({n: c.toDict() for n, c in instance._configs.items()})
        return out

    def compareChild(self, owner: Config, other: Config, rtol: float, atol: float) -> list[str]:
        mine, theirs = self._selected(owner), self._selected(other)
        if mine != theirs:
            return [f"{owner._fullName(self.name)}: selection {mine!r} != {theirs!r}"]
        a, b = owner._storage[self.name], other._storage[self.name]
        return [line for n in mine for line in a[n].compare(b[n], rtol, atol)]

    def validate(self, owner: Config) -> None:
        selected = self._selected(owner)
        if not selected and not self.optional:
            raise self.error(owner, "Required field cannot be None")
        for name in selected:
            owner._storage[self.name][name].validate()

    def describe(self) -> str:
        return "choice of " + ", ".join(sorted(self.typemap))


class _Registered:
    """A registry entry: a callable target with its config class."""

    def __init__(self, name: str, target: Callable, ConfigClass: type) -> None:
        self.name, self.target, self.ConfigClass = name, target, ConfigClass

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.target(*args, **kwargs)

    def __repr__(self) -> str:
        return f"<registered {self.name}: {targetPath(self.target)}>"


class Registry(Mapping):
    """Named implementations (tasks) that a ``RegistryField`` can select."""

    def __init__(self, doc: str = "", configBaseType: type | None = None) -> None:
        self.doc = doc
        self.configBaseType = configBaseType
        self._entries: dict[str, _Registered] = {}

    def register(self, name: str, target: Callable, ConfigClass: type | None = None) -> None:
        """Add ``target`` under ``name``."""
        if name in self._entries:
            raise ConfigError(f"An item with name {name!r} already exists")
        ConfigClass = ConfigClass or getattr(target, "ConfigClass", None)
        if ConfigClass is None:
            raise ConfigError(f"{targetPath(target)} must define attribute 'ConfigClass'")
        if self.configBaseType is not None and not issubclass(ConfigClass, self.configBaseType):
            raise ConfigError(
                f"{ConfigClass.__name__} is not a subclass of {self.configBaseType.__name__}"
            )
        self._entries[name] = _Registered(name, target, ConfigClass)

    def __getitem__(self, name: str) -> _Registered:
        return self._entries[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def makeField(
        self, doc: str, default: Any = None, optional: bool = False, multi: bool = False
    ) -> RegistryField:
        """A ``RegistryField`` choosing among this registry's entries."""
        return RegistryField(doc, self, default=default, optional=optional, multi=multi)


class _ConfigClasses(Mapping):
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
        super().__init__(doc, _ConfigClasses(registry), default, optional, multi)
        self.registry = registry


def makeRegistry(doc: str, configBaseType: type | None = None) -> Registry:
    """A new, empty :class:`Registry`."""
    return Registry(doc, configBaseType)


def registerConfigurable(
    name: str, registry: Registry, ConfigClass: type | None = None
) -> Callable[[type], type]:
    """Class decorator: register the decorated task in ``registry`` under ``name``."""

    def decorate(target):
        registry.register(name, target, ConfigClass)
        return target

    return decorate
