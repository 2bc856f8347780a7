"""Container fields: ``ListField`` and ``DictField``, and the checked proxies they return."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping, MutableSequence
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, UnexpectedProxyUsageError
from .fields import (
    SUPPORTED_TYPES,
    Field,
    checkCallable,
    coerce,
    isNumberOutOfRange,
    typeName,
    typeProblem,
)
from .history import currentSource
from .tomltext import parseTomlValue

if TYPE_CHECKING:
    from .config import Config


def _lengthProblem(field: ListField, n: int) -> str | None:
    if field.length is not None and n != field.length:
        return f"Required list length={field.length}, got length={n}"
    if field.minLength is not None and n < field.minLength:
        return f"Minimum allowed list length={field.minLength}, got length={n}"
    if field.maxLength is not None and n > field.maxLength:
        return f"Maximum allowed list length={field.maxLength}, got length={n}"
    return None


def _checkLengths(length: int | None, minLength: int | None, maxLength: int | None) -> None:
    if length is not None and length <= 0:
        raise ValueError(f"'length' ({length}) must be positive")
    for name, value in (("minLength", minLength), ("maxLength", maxLength)):
        if value is not None and value < 0:
            raise ValueError(f"'{name}' ({value}) must be non-negative")
    if minLength is not None and maxLength is not None and minLength > maxLength:
        raise ValueError(f"'maxLength' ({maxLength}) must be at least 'minLength' ({minLength})")


class ListField(Field):
    """A list of values of one type, with optional length limits and checks.

    A string is not taken for a list of its characters: give a list (``["EDGE"]``).
    """

    fieldTypeName = "ListField"

    def __init__(
        self,
        doc: str,
        dtype: type | None = None,
        default: Iterable | None = None,
        optional: bool = False,
        listCheck: Callable[[list], bool] | None = None,
        itemCheck: Callable[[Any], bool] | None = None,
        length: int | None = None,
        minLength: int | None = None,
        maxLength: int | None = None,
        deprecated: str | None = None,
    ) -> None:
        if dtype not in SUPPORTED_TYPES:
            raise ValueError(f"Unsupported ListField dtype {typeName(dtype)}")
        checkCallable("listCheck", listCheck)
        checkCallable("itemCheck", itemCheck)
        _checkLengths(length, minLength, maxLength)
        self.listCheck, self.itemCheck = listCheck, itemCheck
        self.length, self.minLength, self.maxLength = length, minLength, maxLength
        self.setup(doc, dtype, default, None, optional, deprecated)

    def __get__(self, instance: Config | None, owner: type | None = None) -> Any:
        if instance is None:
            return self
        value = instance._storage[self.name]
        return None if value is None else ListProxy(instance, self, value)

    def convertItem(self, instance: Config | None, index: int, item: Any) -> Any:
        ok, item = coerce(item, self.dtype)
        if not ok and isNumberOutOfRange(item, self.dtype):
            raise self.error(instance, f"Item at position {index}: {typeProblem(item, self.dtype)}")
        if not ok:
            raise self.error(
                instance,
                f"Item at position {index} with value {item!r} is of incorrect type "
                f"{typeName(type(item))}. Expected {typeName(self.dtype)}",
            )
        if self.itemCheck is not None and not self.itemCheck(item):
            raise self.error(instance, f"Item at position {index} is not a valid value: {item!r}")
        return item

    def convert(self, instance: Config | None, value: Any) -> Any:
        if value is None:
            return None
        if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
            raise self.error(
                instance,
                f"Value {value!r} is of incorrect type {typeName(type(value))}. "
                f"Sequence type expected",
            )
        # Item rules apply at once; length and listCheck wait for validate() (as in
        # pex_config), so a default or a list being built step by step may be incomplete.
        return [self.convertItem(instance, i, item) for i, item in enumerate(value)]

    def checkWhole(self, instance: Config | None, items: list) -> None:
        problem = _lengthProblem(self, len(items))
        if problem:
            raise self.error(instance, problem)
        if self.listCheck is not None and not self.listCheck(items):
            raise self.error(instance, f"{items!r} is not a valid value")

    def validate(self, instance: Config) -> None:
        super().validate(instance)
        value = instance._storage[self.name]
        if value is not None:
            self.checkWhole(instance, value)

    def toPlain(self, value: Any) -> Any:
        return None if value is None else list(value)

    def copyStorage(self, old: Config, new: Config) -> Any:
        value = old._storage[self.name]
        return None if value is None else list(value)

    def parseText(self, text: str, name: str) -> Any:
        parsed, value = parseTomlValue(text)
        if not parsed:
            raise ConfigError(
                f"cannot parse {text!r} as a value for {name} (expected {self.expectedForm()})"
            )
        return value

    def describe(self) -> str:
        return f"list of {typeName(self.dtype)}"

    def expectedForm(self) -> str:
        example = {str: '["A", "B"]', int: "[1, 2]", float: "[1.0, 2.5]", bool: "[true, false]"}
        return f"a list of {typeName(self.dtype)}, e.g. {example[self.dtype]}"


class _Proxy:
    """What the list and dict proxies share: no new attributes, no pickling."""

    _slots = ("_config", "_field", "_items")

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in self._slots:
            fullName = self._config.fieldFullName(self._field.name)
            raise UnexpectedProxyUsageError(
                f"{self._field.fieldTypeName} value of {fullName} has no attribute {name!r}"
            )
        object.__setattr__(self, name, value)

    def __reduce__(self):
        raise UnexpectedProxyUsageError(
            f"The value of config field {self._config.fieldFullName(self._field.name)} "
            "cannot be pickled; convert it to a built-in list or dict first"
        )


class ListProxy(_Proxy, MutableSequence):
    """The list a ``ListField`` returns: every change is checked and recorded."""

    def __init__(self, config: Config, field: ListField, items: list) -> None:
        self._config, self._field, self._items = config, field, items

    def _replace(self, items: list) -> None:
        # Item rules apply at once; length and listCheck wait for validate(), so a list can
        # be edited step by step.
        self._config._checkMutable(self._field.name)
        converted = [self._field.convertItem(self._config, i, x) for i, x in enumerate(items)]
        self._field.store(self._config, converted, currentSource())
        self._items = converted

    def __getitem__(self, index):
        return self._items[index]

    def __setitem__(self, index, value) -> None:
        items = list(self._items)
        items[index] = value
        self._replace(items)

    def __delitem__(self, index) -> None:
        items = list(self._items)
        del items[index]
        self._replace(items)

    def __len__(self) -> int:
        return len(self._items)

    def insert(self, index: int, value: Any) -> None:
        items = list(self._items)
        items.insert(index, value)
        self._replace(items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str | bytes | Mapping) or not isinstance(other, Iterable):
            return False
        return list(self._items) == list(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self._items)


class DictField(Field):
    """A dict from ``keytype`` to ``itemtype`` values (``itemtype=None``: any simple type).

    ``keyCheck``, ``itemCheck`` and ``dictCheck`` reject keys, items and whole dicts.
    Items may not be ``None`` (TOML, the saved form, has no null); leave a key out instead.
    """

    fieldTypeName = "DictField"
    typeParameters = ("keytype", "itemtype")

    def __init__(
        self,
        doc: str,
        keytype: type | None = None,
        itemtype: type | None = None,
        default: dict | None = None,
        optional: bool = False,
        dictCheck: Callable[[dict], bool] | None = None,
        itemCheck: Callable[[Any], bool] | None = None,
        deprecated: str | None = None,
        keyCheck: Callable[[Any], bool] | None = None,
    ) -> None:
        if keytype not in SUPPORTED_TYPES:
            raise ValueError(f"Unsupported DictField keytype {typeName(keytype)}")
        if itemtype is not None and itemtype not in SUPPORTED_TYPES:
            raise ValueError(f"Unsupported DictField itemtype {typeName(itemtype)}")
        for what, check in (("dictCheck", dictCheck), ("itemCheck", itemCheck)):
            checkCallable(what, check)
        checkCallable("keyCheck", keyCheck)
        self.keytype, self.itemtype = keytype, itemtype
        self.dictCheck, self.itemCheck, self.keyCheck = dictCheck, itemCheck, keyCheck
        self.setup(doc, dict, default, None, optional, deprecated)

    def __get__(self, instance: Config | None, owner: type | None = None) -> Any:
        if instance is None:
            return self
        value = instance._storage[self.name]
        return None if value is None else DictProxy(instance, self, value)

    def convertItem(self, instance: Config | None, key: Any, item: Any) -> tuple[Any, Any]:
        ok, key = coerce(key, self.keytype)
        if not ok:
            raise self.error(
                instance,
                f"Key {key!r} is of type {typeName(type(key))}, expected type "
                f"{typeName(self.keytype)}",
            )
        if self.keyCheck is not None and not self.keyCheck(key):
            raise self.error(instance, f"Key {key!r} is not a valid key")
        if self.itemtype is None:
            ok = isinstance(item, SUPPORTED_TYPES)
            for dtype in (int, float, bool):
                if ok and type(item) is not dtype and isinstance(item, dtype):
                    item = dtype(item)
        else:
            ok, item = coerce(item, self.itemtype)
        if not ok:
            problem = typeProblem(item, self.itemtype or SUPPORTED_TYPES)
            raise self.error(
                instance, problem.replace(f"{item!r} ", f"{item!r} at key {key!r} ", 1)
            )
        if self.itemCheck is not None and not self.itemCheck(item):
            raise self.error(instance, f"Item at key {key!r} is not a valid value: {item!r}")
        return key, item

    def convert(self, instance: Config | None, value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, Mapping):
            raise self.error(
                instance,
                f"Value {value!r} is of incorrect type {typeName(type(value))}. "
                f"Mapping type expected",
            )
        items = dict(self.convertItem(instance, k, v) for k, v in value.items())
        if self.dictCheck is not None and not self.dictCheck(items):
            raise self.error(instance, f"{items!r} is not a valid value")
        return items

    def toPlain(self, value: Any) -> Any:
        return None if value is None else {str(k): v for k, v in value.items()}

    def copyStorage(self, old: Config, new: Config) -> Any:
        value = old._storage[self.name]
        return None if value is None else dict(value)

    def fromPlain(self, instance: Config, value: Any) -> Any:
        if not isinstance(value, dict) or self.keytype is str:
            return value
        converted = {}
        for key, item in value.items():
            try:
                if self.keytype is bool:
                    # bool("False") is True: read back what toPlain wrote (str(True)).
                    converted[{"True": True, "False": False}[key]] = item
                    continue
                converted[self.keytype(key)] = item
            except (KeyError, ValueError, OverflowError):
                raise self.error(
                    instance, f"Key {key!r} cannot be read as {typeName(self.keytype)}"
                ) from None
        return converted

    def describe(self) -> str:
        return f"dict of {typeName(self.keytype)} -> {typeName(self.itemtype or object)}"

    def expectedForm(self) -> str:
        return f"an inline table of {self.describe()}, e.g. {{ a = 1.0, b = 2.5 }}"


class DictProxy(_Proxy, MutableMapping):
    """The dict a ``DictField`` returns: every change is checked and recorded."""

    def __init__(self, config: Config, field: DictField, items: dict) -> None:
        self._config, self._field, self._items = config, field, items

    def _replace(self, items: dict) -> None:
        self._config._assign(self._field.name, items)
        self._items = self._config._storage[self._field.name]

    def __getitem__(self, key):
        return self._items[key]

    def __setitem__(self, key, value) -> None:
        self._replace({**self._items, key: value})

    def __delitem__(self, key) -> None:
        items = dict(self._items)
        del items[key]
        self._replace(items)

    def __iter__(self) -> Iterator:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Mapping):
            return False
        return dict(self._items) == dict(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self._items)
