"""``ConfigDictField``: a dict from simple keys to configs of one class."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, MutableMapping
from typing import Any

from ..errors import ConfigError, UnexpectedProxyUsageError
from .config import Config, compareTrees
from .fields import SUPPORTED_TYPES, checkCallable, coerce, typeName
from .history import currentSource
from .nested import NestedField, isConfigClass


class ConfigDict(MutableMapping):
    """The value of a ``ConfigDictField``: every change is checked and recorded."""

    def __init__(self, owner: Config, field: ConfigDictField) -> None:
        object.__setattr__(self, "_owner", owner)
        object.__setattr__(self, "_field", field)
        object.__setattr__(self, "_items", {})

    def _adopt(self, key: Any, config: Config) -> None:
        config._setPrefix(f"{self._owner.fieldFullName(self._field.name)}.{key}.")
        self._items[key] = config

    def __getitem__(self, key: Any) -> Config:
        return self._items[key]

    def __setitem__(self, key: Any, value: Any) -> None:
        self._owner._checkMutable(self._field.name)
        key, value = self._field.convertItem(self._owner, key, value)
        self._adopt(key, value.copy())
        self._owner._history.setdefault(self._field.name, []).append(
            (f"[{key!r}]", currentSource())
        )

    def __delitem__(self, key: Any) -> None:
        self._owner._checkMutable(self._field.name)
        del self._items[key]
        self._owner._history.setdefault(self._field.name, []).append(
            (f"del [{key!r}]", currentSource())
        )

    def __iter__(self) -> Iterator:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __setattr__(self, name: str, value: Any) -> None:
        raise UnexpectedProxyUsageError(
            f"ConfigDictField value of {self._owner.fieldFullName(self._field.name)} "
            f"has no attribute {name!r}"
        )

    def __reduce__(self):
        raise UnexpectedProxyUsageError(
            f"The value of config field {self._owner.fieldFullName(self._field.name)} "
            "cannot be pickled; pickle the config instead"
        )

    def __repr__(self) -> str:
        return repr(self._items)


class ConfigDictField(NestedField):
    """A dict of ``keytype`` keys to configs of class ``itemtype``.

    Assigning an item copies the config; ``keyCheck`` and ``itemCheck`` apply on
    assignment, ``dictCheck`` at ``validate()``. Saved as one TOML table per key.
    """

    fieldTypeName = "ConfigDictField"
    keyed = True
    typeParameters = ("keytype", "itemtype")

    def __init__(
        self,
        doc: str,
        keytype: type | None = None,
        itemtype: type | None = None,
        default: Mapping | None = None,
        optional: bool = False,
        dictCheck: Callable[[dict], bool] | None = None,
        itemCheck: Callable[[Config], bool] | None = None,
        keyCheck: Callable[[Any], bool] | None = None,
        deprecated: str | None = None,
    ) -> None:
        if keytype not in SUPPORTED_TYPES:
            raise ValueError(f"Unsupported ConfigDictField keytype {typeName(keytype)}")
        if not isConfigClass(itemtype):
            raise ValueError(
                f"ConfigDictField itemtype must be a Config subclass, not {itemtype!r}"
            )
        for what, check in (
            ("dictCheck", dictCheck),
            ("itemCheck", itemCheck),
            ("keyCheck", keyCheck),
        ):
            checkCallable(what, check)
        super().__init__(doc, None, deprecated)
        self.keytype, self.itemtype = keytype, itemtype
        self.dictCheck, self.itemCheck, self.keyCheck = dictCheck, itemCheck, keyCheck
        self.default, self.optional = default, optional

    def convertItem(self, owner: Config, key: Any, value: Any) -> tuple[Any, Config]:
        ok, key = coerce(key, self.keytype)
        if not ok:
            raise self.error(
                owner,
                f"Key {key!r} is of type {typeName(type(key))}, "
                f"expected type {typeName(self.keytype)}",
            )
        if self.keyCheck is not None and not self.keyCheck(key):
            raise self.error(owner, f"Key {key!r} is not a valid key")
        if not isinstance(value, self.itemtype):
            raise self.error(
                owner,
                f"Value {value!r} at key {key!r} is of incorrect type {typeName(type(value))}. "
                f"Expected type {self.itemtype.__name__}",
            )
        if self.itemCheck is not None and not self.itemCheck(value):
            raise self.error(owner, f"Item at key {key!r} is not a valid value: {value!r}")
        return key, value

    def _build(self, owner: Config, value: Any) -> ConfigDict | None:
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise self.error(
                owner,
                f"Value {value!r} is of incorrect type {typeName(type(value))}. "
                "Mapping type expected",
            )
        result = ConfigDict(owner, self)
        for key, item in value.items():
            key, item = self.convertItem(owner, key, item)
            result._adopt(key, item.copy())
        return result

    def initialize(self, owner: Config) -> None:
        owner._storage[self.name] = self._build(owner, self.default)
        owner._history.setdefault(self.name, []).append(("<configs>", "default"))

    def set(self, owner: Config, value: Any, source: str | None) -> None:
        owner._checkMutable(self.name)
        owner._storage[self.name] = self._build(owner, value)
        owner._history.setdefault(self.name, []).append(("<configs>", source or currentSource()))

    def setFrom(self, owner: Config, other: Config, source: str) -> None:
        self.set(owner, other._storage[self.name], source)

    def copyStorage(self, old: Config, new: Config) -> Any:
        return self._build(new, old._storage[self.name])

    def isUnset(self, owner: Config) -> bool:
        return owner._storage[self.name] is None

    def child(self, owner: Config, key: str | None) -> Config:
        items = owner._storage[self.name] or {}
        converted = self._readKey(owner, key)
        if converted not in items:
            known = ", ".join(repr(k) for k in items) or "none"
            raise ConfigError(
                f"{owner.fieldFullName(self.name)} has no entry {key!r}; entries: {known}"
            )
        return items[converted]

    def children(self, owner: Config, everything: bool = False) -> list[tuple[str, Config]]:
        items = owner._storage[self.name]
        return [] if items is None else [(str(k), c) for k, c in items.items()]

    def toDict(self, owner: Config) -> Any:
        items = owner._storage[self.name]
        return None if items is None else {k: c.toDict() for k, c in items.items()}

    def validate(self, owner: Config) -> None:
        items = owner._storage[self.name]
        if items is None:
            if not self.optional:
                raise self.error(owner, "Required value cannot be None")
            return
        for config in items.values():
            config.validate()
        if self.dictCheck is not None and not self.dictCheck(items):
            raise self.error(owner, f"{dict(items)!r} is not a valid value")

    def compare(self, a: Config, b: Config, shortcut: bool, rtol: float, atol: float, report):
        mine, theirs = a._storage[self.name], b._storage[self.name]
        if mine is None or theirs is None or list(mine) != list(theirs):
            keys = [None if d is None else list(d) for d in (mine, theirs)]
            report(a.fieldFullName(self.name), f"keys {keys[0]!r} != {keys[1]!r}")
            return False
        equal = True
        for key in mine:
            if not compareTrees(mine[key], theirs[key], shortcut, rtol, atol, report):
                if shortcut:
                    return False
                equal = False
        return equal

    def _readKey(self, owner: Config, key: Any) -> Any:
        if self.keytype is str or not isinstance(key, str):
            return key
        try:
            if self.keytype is bool:
                return {"True": True, "False": False}[key]
            return self.keytype(key)
        except (KeyError, ValueError, OverflowError):
            raise self.error(
                owner, f"Key {key!r} cannot be read as {typeName(self.keytype)}"
            ) from None

    def loadTable(self, owner: Config, table: dict, loader: Any, path: tuple[str, ...]) -> None:
        items: dict[Any, Config] = {}
        for key, sub in table.items():
            if not isinstance(sub, dict):
                raise ConfigError(
                    f"entry {key!r} of {owner.fieldFullName(self.name)!r} "
                    f"needs a table, not {sub!r}"
                )
            config = self.itemtype()
            config._setPrefix(f"{owner.fieldFullName(self.name)}.{key}.")
            loader.apply(config, sub, path + (key,))
            items[self._readKey(owner, key)] = config
        self.set(owner, items, loader.where(path))

    def describe(self) -> str:
        return f"dict of {typeName(self.keytype)} -> config {self.itemtype.__name__}"
