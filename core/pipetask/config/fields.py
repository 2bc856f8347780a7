"""Value fields: ``Field``, ``RangeField``, ``ChoiceField``, ``ListField``, ``DictField``.

Each field checks a value on every assignment (type, then its own rules) and raises
:class:`~pipetask.errors.FieldValidationError` naming the field, the expected type and the
value. Rules that need the whole value to be finished (required values, list lengths) are
also checked by ``Config.validate()``.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable, Iterator, MutableMapping, MutableSequence
from typing import TYPE_CHECKING, Any

from ..errors import FieldValidationError
from .history import currentSource

if TYPE_CHECKING:
    from .config import Config

SUPPORTED_TYPES = (str, bool, int, float)


def typeName(dtype: type | tuple) -> str:
    """The name of a type for messages."""
    return getattr(dtype, "__name__", str(dtype))


def coerce(value: Any, dtype: type) -> tuple[bool, Any]:
    """Check ``value`` against ``dtype``; ints are accepted (and converted) for floats.

    Returns ``(ok, converted)``. A bool is never an int or a float here.
    """
    if dtype is float:
        if isinstance(value, bool):
            return False, value
        if isinstance(value, float):
            return True, float(value)
        if isinstance(value, int):
            return True, float(value)
        return False, value
    if dtype is int:
        return (isinstance(value, int) and not isinstance(value, bool)), value
    return isinstance(value, dtype), value


def sameValue(a: Any, b: Any, rtol: float = 1e-8, atol: float = 1e-8) -> bool:
    """Equality for config values: floats within tolerance, NaN equal to NaN."""
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b or math.isclose(a, b, rel_tol=rtol, abs_tol=atol)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        if len(a) != len(b):
            return False
        return all(sameValue(x, y, rtol, atol) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(sameValue(a[k], b[k], rtol, atol) for k in a)
    return a == b


class Field:
    """A single value of type ``bool``, ``int``, ``float`` or ``str``.

    Parameters
    ----------
    doc : str
        What the field means; written as a comment into saved configs.
    dtype : type
        One of ``bool``, ``int``, ``float``, ``str``. An ``int`` given to a ``float`` field
        is converted.
    default : optional
        Initial value.
    check : callable, optional
        ``check(value) -> bool``; a false result rejects the value.
    optional : bool
        Whether ``None`` passes ``validate()``.
    deprecated : str, optional
        Why the field is deprecated; setting it warns.
    """

    fieldTypeName = "Field"

    def __init__(
        self,
        doc: str,
        dtype: type | None = None,
        default: Any = None,
        check: Callable[[Any], bool] | None = None,
        optional: bool = False,
        deprecated: str | None = None,
    ) -> None:
        if dtype not in SUPPORTED_TYPES:
            raise ValueError(f"Unsupported Field dtype {typeName(dtype)}")
        self.doc = doc
        self.dtype = dtype
        self.check = check
        self.optional = optional
        self.deprecated = deprecated
        self.name = ""
        self.default = default

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    # -- descriptor protocol -------------------------------------------------------------
    def __get__(self, instance: Config | None, owner: type | None = None) -> Any:
        if instance is None:
            return self
        return instance._storage[self.name]

    def __set__(self, instance: Config, value: Any) -> None:
        instance._assign(self.name, value)

    # -- hooks used by Config ------------------------------------------------------------
    def error(self, instance: Config | None, message: str) -> FieldValidationError:
        """A validation error naming this field by its full name."""
        fullName = instance._fullName(self.name) if instance is not None else self.name
        return FieldValidationError(fullName, message, self.fieldTypeName)

    def convert(self, instance: Config | None, value: Any) -> Any:
        """The stored form of ``value``, or a :class:`FieldValidationError`."""
        if value is None:
            return None
        ok, value = coerce(value, self.dtype)
        if not ok:
            raise self.error(
                instance,
                f"Value {value!r} is of incorrect type {typeName(type(value))}. "
                f"Expected type {typeName(self.dtype)}",
            )
        self.checkValue(instance, value)
        return value

    def checkValue(self, instance: Config | None, value: Any) -> None:
        """Rules beyond the type (subclasses add their own)."""
        if self.check is not None and not self.check(value):
            raise self.error(instance, f"Value {value!r} is not a valid value")

    def initialize(self, instance: Config) -> None:
        """Set the default value, recorded in the history as ``default``."""
        self.store(instance, self.convert(instance, copy.deepcopy(self.default)), "default")

    def set(self, instance: Config, value: Any, source: str | None) -> None:
        """Assign a new value from ``source`` (the caller's location if None)."""
        if self.deprecated:
            import warnings

            warnings.warn(
                f"Config field {instance._fullName(self.name)} is deprecated: {self.deprecated}",
                FutureWarning,
                stacklevel=4,
            )
        self.store(instance, self.convert(instance, value), source or currentSource())

    def store(self, instance: Config, value: Any, source: str) -> None:
        instance._storage[self.name] = value
        instance._history.setdefault(self.name, []).append((value, source))

    def validate(self, instance: Config) -> None:
        """Whole-value rules, run by ``Config.validate()``."""
        if instance._storage[self.name] is None and not self.optional:
            raise self.error(instance, "Required value cannot be None")

    def toPlain(self, value: Any) -> Any:
        """The value as TOML-ready Python data."""
        return value

    def fromPlain(self, instance: Config, value: Any) -> Any:
        """A value read from TOML, before :meth:`convert`."""
        return value

    def describe(self) -> str:
        """A short description of the accepted values (for docs and ``pipetask help``)."""
        return typeName(self.dtype)


class RangeField(Field):
    """An ``int`` or ``float`` within ``[min, max)`` (bounds inclusive or not, as given)."""

    fieldTypeName = "RangeField"

    def __init__(
        self,
        doc: str,
        dtype: type,
        default: Any = None,
        optional: bool = False,
        min: float | None = None,
        max: float | None = None,
        inclusiveMin: bool = True,
        inclusiveMax: bool = False,
        deprecated: str | None = None,
    ) -> None:
        if dtype not in (int, float):
            raise ValueError("RangeField only supports int and float")
        if min is None and max is None:
            raise ValueError("min and max cannot both be None")
        if (
            min is not None
            and max is not None
            and (min > max or (min == max and not (inclusiveMin and inclusiveMax)))
        ):
            raise ValueError(f"min={min} and max={max} leave no valid value")
        self.min, self.max = min, max
        self.inclusiveMin, self.inclusiveMax = inclusiveMin, inclusiveMax
        left = ("[" if inclusiveMin else "(") + ("-inf" if min is None else str(min))
        right = ("inf" if max is None else str(max)) + ("]" if inclusiveMax else ")")
        self.rangeString = f"{left},{right}"
        super().__init__(doc, dtype, default=default, optional=optional, deprecated=deprecated)

    def checkValue(self, instance: Config | None, value: Any) -> None:
        low = self.min is None or (value >= self.min if self.inclusiveMin else value > self.min)
        high = self.max is None or (value <= self.max if self.inclusiveMax else value < self.max)
        if not (low and high):
            raise self.error(instance, f"{value!r} is outside of valid range {self.rangeString}")

    def describe(self) -> str:
        return f"{typeName(self.dtype)} in {self.rangeString}"


class ChoiceField(Field):
    """A value from a fixed set; ``allowed`` maps each value to its doc."""

    fieldTypeName = "ChoiceField"

    def __init__(
        self,
        doc: str,
        dtype: type,
        allowed: dict[Any, str],
        default: Any = None,
        optional: bool = True,
        deprecated: str | None = None,
    ) -> None:
        if not allowed:
            raise ValueError("ChoiceField needs at least one allowed value")
        for value in allowed:
            if not coerce(value, dtype)[0]:
                raise ValueError(f"allowed value {value!r} is not of type {typeName(dtype)}")
        self.allowed = dict(allowed)
        super().__init__(doc, dtype, default=default, optional=optional, deprecated=deprecated)

    def checkValue(self, instance: Config | None, value: Any) -> None:
        if value not in self.allowed:
            choices = ", ".join(repr(v) for v in self.allowed)
            raise self.error(instance, f"Value {value!r} is not allowed; allowed values: {choices}")

    def describe(self) -> str:
        return "one of " + ", ".join(repr(v) for v in self.allowed)


def _lengthProblem(field: ListField, n: int) -> str | None:
    if field.length is not None and n != field.length:
        return f"Required list length={field.length}, got length={n}"
    if field.minLength is not None and n < field.minLength:
        return f"Minimum allowed list length={field.minLength}, got length={n}"
    if field.maxLength is not None and n > field.maxLength:
        return f"Maximum allowed list length={field.maxLength}, got length={n}"
    return None


class ListField(Field):
    """A list of values of one type, with optional length limits and checks.

    A string is not taken for a list of its characters: give a list (``["EDGE"]``).
    """

    fieldTypeName = "ListField"

    def __init__(
        self,
        doc: str,
        dtype: type,
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
        self.listCheck, self.itemCheck = listCheck, itemCheck
        self.length, self.minLength, self.maxLength = length, minLength, maxLength
        super().__init__(doc, dtype, default=default, optional=optional, deprecated=deprecated)

    def __get__(self, instance: Config | None, owner: type | None = None) -> Any:
        if instance is None:
            return self
        value = instance._storage[self.name]
        return None if value is None else ListProxy(instance, self, value)

    def convertItem(self, instance: Config | None, index: int, item: Any) -> Any:
        ok, item = coerce(item, self.dtype)
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
        if isinstance(value, str | bytes | dict) or not isinstance(value, Iterable):
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

    def describe(self) -> str:
        return f"list of {typeName(self.dtype)}"


class ListProxy(MutableSequence):
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
        return list(self._items) == list(other) if isinstance(other, Iterable) else False

    def __repr__(self) -> str:
        return repr(self._items)

    def __reduce__(self):
        return (list, (list(self._items),))


class DictField(Field):
    """A dict from ``keytype`` to ``itemtype`` values (``itemtype=None``: any simple type).

    Items may not be ``None`` (TOML, the saved form, has no null); leave a key out instead.
    """

    fieldTypeName = "DictField"

    def __init__(
        self,
        doc: str,
        keytype: type,
        itemtype: type | None,
        default: dict | None = None,
        optional: bool = False,
        dictCheck: Callable[[dict], bool] | None = None,
        itemCheck: Callable[[Any], bool] | None = None,
        deprecated: str | None = None,
    ) -> None:
        if keytype not in SUPPORTED_TYPES:
            raise ValueError(f"Unsupported DictField keytype {typeName(keytype)}")
        if itemtype is not None and itemtype not in SUPPORTED_TYPES:
            raise ValueError(f"Unsupported DictField itemtype {typeName(itemtype)}")
        self.keytype, self.itemtype = keytype, itemtype
        self.dictCheck, self.itemCheck = dictCheck, itemCheck
        super().__init__(doc, str, default=default, optional=optional, deprecated=deprecated)
        self.dtype = dict

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
        if self.itemtype is None:
            ok = isinstance(item, SUPPORTED_TYPES)
        else:
            ok, item = coerce(item, self.itemtype)
        if not ok:
            raise self.error(
                instance,
                f"Value {item!r} at key {key!r} is of incorrect type {typeName(type(item))}. "
                f"Expected type {typeName(self.itemtype or SUPPORTED_TYPES)}",
            )
        if self.itemCheck is not None and not self.itemCheck(item):
            raise self.error(instance, f"Item at key {key!r} is not a valid value: {item!r}")
        return key, item

    def convert(self, instance: Config | None, value: Any) -> Any:
        if value is None:
            return None
        if not isinstance(value, MutableMapping | dict):
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
            except (KeyError, ValueError):
                raise self.error(
                    instance, f"Key {key!r} cannot be read as {typeName(self.keytype)}"
                ) from None
        return converted

    def describe(self) -> str:
        return f"dict of {typeName(self.keytype)} -> {typeName(self.itemtype or object)}"


class DictProxy(MutableMapping):
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
        if not isinstance(other, MutableMapping | dict):
            return False
        return dict(self._items) == dict(other)

    def __repr__(self) -> str:
        return repr(self._items)

    def __reduce__(self):
        return (dict, (dict(self._items),))
