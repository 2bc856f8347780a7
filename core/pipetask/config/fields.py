"""The field protocol and the scalar fields: ``Field``, ``RangeField``, ``ChoiceField``.

Every field kind implements one protocol, used by ``Config`` and by everything that walks
a config tree (TOML I/O, overrides, ``--show``, ``pipetask help``):

- ``initialize(config)`` sets the default; ``set(config, value, source)`` assigns (checks
  first, history after); ``setFrom(config, other, source)`` assigns the value ``other``
  holds, through the same checks;
- ``validate(config)``, ``freeze(config)``, ``rename(config)`` (after the config got a new
  place in its tree);
- ``toDict(config)``, ``names(config)``, ``children(config, everything)`` (the configs it
  holds), ``compare(config1, config2, shortcut, rtol, atol, report)``,
  ``copyStorage(old, new)`` (a copy for ``Config.copy()``, never through text);
- ``tableEntries(config)`` and ``load(config, data, loader, path)``: its TOML form;
- ``parseText(text, name)``: its ``-c NAME=VALUE`` form; ``describe()`` and
  ``expectedForm()`` for help and error messages.

Each field checks a value on every assignment (type, then its own rules) and raises
:class:`~pipetask.errors.FieldValidationError` naming the field, the expected type and the
value. Rules that need the whole value to be finished (required values, list lengths) are
checked by ``Config.validate()``.
"""

from __future__ import annotations

import copy
import math
import numbers
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, FieldValidationError
from .history import currentSource
from .tomltext import parseTomlValue

if TYPE_CHECKING:
    from .config import Config

SUPPORTED_TYPES = (str, bool, int, float)
#: The integers a config holds: TOML's (64-bit signed), so that a saved config loads back.
INT_MIN, INT_MAX = -(2**63), 2**63 - 1


def typeName(dtype: type | tuple) -> str:
    """The name of a type for messages."""
    return getattr(dtype, "__name__", str(dtype))


def coerce(value: Any, dtype: type) -> tuple[bool, Any]:
    """Check ``value`` against ``dtype``; returns ``(ok, converted)``.

    Integers (Python's or numpy's) are accepted, and converted, for floats; numpy scalars
    become Python numbers. A bool is never an int or a float here.
    """
    kind = type(value)
    if kind is dtype:  # the common case, without the slower abstract checks below
        return (INT_MIN <= value <= INT_MAX, value) if kind is int else (True, value)
    if dtype is float:
        if kind is bool or not isinstance(value, numbers.Real):
            return False, value
        try:
            return True, float(value)
        except OverflowError:
            return False, value
    if dtype is int:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            return False, value
        return INT_MIN <= value <= INT_MAX, int(value)
    if dtype is bool and kind.__module__ == "numpy" and kind.__name__ in ("bool", "bool_"):
        return True, bool(value)  # numpy's bool, recognised without importing numpy
    return isinstance(value, dtype), value


def isNumberOutOfRange(value: Any, dtype: Any) -> bool:
    """Whether ``value`` is an integer too large for ``dtype`` (int or float)."""
    return (
        isinstance(value, numbers.Integral)
        and not isinstance(value, bool)
        and dtype in (int, float)
    )


def typeProblem(value: Any, dtype: type | tuple) -> str:
    """Why ``value`` is not of ``dtype``, in pex_config's words."""
    if isNumberOutOfRange(value, dtype):
        digits = int(int(value).bit_length() * math.log10(2)) + 1
        shown = repr(value) if digits <= 30 else f"(an integer of about {digits} digits)"
        if dtype is float:
            return f"Value {shown} is too large for a float"
        return f"Value {shown} is outside the 64-bit integer range a config holds"
    return (
        f"Value {value!r} is of incorrect type {typeName(type(value))}. "
        f"Expected type {typeName(dtype)}"
    )


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


def checkCallable(what: str, check: Any) -> None:
    """Refuse, at definition, a check that cannot be called."""
    if check is not None and not callable(check):
        raise ValueError(f"'{what}' must be callable, not {check!r}")


class TypedField:
    """``Field[int]``, ``DictField[str, float]``: a field class with its types given.

    Calling it builds the field with ``dtype`` (or ``keytype`` and ``itemtype``) filled in;
    giving a different type again as an argument is an error.
    """

    def __init__(self, origin: type, args: tuple) -> None:
        self.__origin__, self.__args__ = origin, args

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        names = self.__origin__.typeParameters
        if len(self.__args__) != len(names):
            raise ValueError(
                f"{self.__origin__.__name__}[...] takes {len(names)} type(s), "
                f"got {len(self.__args__)}"
            )
        for name, given in zip(names, self.__args__, strict=True):
            if name in kwargs and kwargs[name] != given:
                raise ValueError(f"Conflicting definition for {name}")
            kwargs[name] = given
        return self.__origin__(*args, **kwargs)

    def __repr__(self) -> str:
        return f"{self.__origin__.__name__}[{', '.join(typeName(a) for a in self.__args__)}]"


class Field:
    """A single value of type ``bool``, ``int``, ``float`` or ``str``.

    Parameters
    ----------
    doc : str
        What the field means (not empty); written as a comment into saved configs.
    dtype : type
        One of ``bool``, ``int``, ``float``, ``str``; may be given as ``Field[int]``. An
        ``int`` given to a ``float`` field is converted; numpy scalars are accepted.
    default : optional
        Initial value.
    check : callable, optional
        ``check(value) -> bool``; a false result rejects the value.
    optional : bool
        Whether ``None`` passes ``validate()``.
    deprecated : str, optional
        Why the field is deprecated: appended to the doc; setting the field warns.
    """

    fieldTypeName = "Field"
    #: Whether the field holds configs (nested) rather than a value.
    isNested = False
    #: Whether a dotted name names an entry after the field (``choice.A.x``, ``dict.key.x``).
    keyed = False
    #: The values a ``ChoiceField`` allows, each with its doc (None: any value of the type).
    allowed: dict[Any, str] | None = None
    #: The constructor arguments that ``Field[...]`` fills in.
    typeParameters: tuple[str, ...] = ("dtype",)
    supportedTypes = SUPPORTED_TYPES

    def __class_getitem__(cls, params: Any) -> TypedField:
        return TypedField(cls, params if isinstance(params, tuple) else (params,))

    def __init__(
        self,
        doc: str,
        dtype: type | None = None,
        default: Any = None,
        check: Callable[[Any], bool] | None = None,
        optional: bool = False,
        deprecated: str | None = None,
    ) -> None:
        if dtype is None:
            raise ValueError("dtype must be given as an argument or as Field[dtype]")
        if dtype not in self.supportedTypes:
            raise ValueError(f"Unsupported {type(self).__name__} dtype {typeName(dtype)}")
        checkCallable("check", check)
        self.setup(doc, dtype, default, check, optional, deprecated)

    def setup(self, doc: str, dtype: Any, default: Any, check, optional: bool, deprecated) -> None:
        """Set what every field has (doc, dtype, default, check, optional, deprecated)."""
        if not doc or not isinstance(doc, str):
            raise ValueError("Docstring is empty.")
        if deprecated is not None:
            doc = f"{doc} Deprecated: {deprecated}"
        self.doc, self.dtype, self.default = doc, dtype, default
        self.check, self.optional, self.deprecated = check, optional, deprecated
        self.name = getattr(self, "name", "")

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    # -- descriptor protocol -------------------------------------------------------------
    def __get__(self, instance: Config | None, owner: type | None = None) -> Any:
        if instance is None:
            return self
        return instance._storage[self.name]

    def __set__(self, instance: Config, value: Any) -> None:
        instance._assign(self.name, value)

    def __delete__(self, instance: Config) -> None:
        instance._assign(self.name, None)

    # -- values --------------------------------------------------------------------------
    def error(self, instance: Config | None, message: str) -> FieldValidationError:
        """A validation error naming this field by its full name."""
        fullName = instance.fieldFullName(self.name) if instance is not None else self.name
        return FieldValidationError(fullName, message, self.fieldTypeName)

    def convert(self, instance: Config | None, value: Any) -> Any:
        """The stored form of ``value``, or a :class:`FieldValidationError`."""
        if value is None:
            return None
        ok, value = coerce(value, self.dtype)
        if not ok:
            raise self.error(instance, typeProblem(value, self.dtype))
        self.checkValue(instance, value)
        return value

    def checkValue(self, instance: Config | None, value: Any) -> None:
        """Rules beyond the type (subclasses add their own)."""
        if self.check is not None and not self.check(value):
            raise self.error(instance, f"Value {value!r} is not a valid value")

    def store(self, instance: Config, value: Any, source: str) -> None:
        """Keep a checked value and record it in the history."""
        instance._storage[self.name] = value
        instance._history.setdefault(self.name, []).append((value, source))

    # -- the protocol --------------------------------------------------------------------
    def initialize(self, instance: Config) -> None:
        """Set the default value, recorded in the history as ``default``."""
        # No copy of the default is needed: convert() builds new lists and dicts.
        self.store(instance, self.convert(instance, self.default), "default")

    def set(self, instance: Config, value: Any, source: str | None) -> None:
        """Assign a new value from ``source`` (the caller's location if None)."""
        if self.deprecated:
            warnings.warn(
                f"Config field {instance.fieldFullName(self.name)} is deprecated: "
                f"{self.deprecated}",
                FutureWarning,
                stacklevel=4,
            )
        self.store(instance, self.convert(instance, value), source or currentSource())

    def setFrom(self, instance: Config, other: Config, source: str) -> None:
        """Assign the value that ``other`` (a config of the same class) holds."""
        value = other._storage[self.name]
        if not sameValue(value, instance._storage[self.name], 0.0, 0.0):
            self.set(instance, copy.deepcopy(value), source)

    def validate(self, instance: Config) -> None:
        """Whole-value rules, run by ``Config.validate()``."""
        if instance._storage[self.name] is None and not self.optional:
            raise self.error(instance, "Required value cannot be None")

    def freeze(self, instance: Config) -> None:
        """Make what the field holds read-only (value fields hold nothing mutable)."""

    def rename(self, instance: Config) -> None:
        """Tell held configs their new full names (value fields hold none)."""

    def children(self, instance: Config, everything: bool = False) -> list[tuple[str, Config]]:
        """The configs this field holds, each with its key below the field ("" for itself).

        Only the effective ones (selected choices) unless ``everything``.
        """
        return []

    def child(self, instance: Config, key: str | None) -> Config:
        """The config held under ``key`` (``None`` for an unkeyed nested field)."""
        raise self.error(instance, "not a nested config")

    def targets(self, instance: Config) -> list[tuple[str, Any]]:
        """The implementations a subtask or registry field selects, with their labels."""
        return []

    def names(self, instance: Config) -> list[str]:
        """Full dotted names of the leaf fields, relative to ``instance``."""
        return [self.name]

    def toDict(self, instance: Config) -> Any:
        """The value as plain Python data."""
        return self.toPlain(instance._storage[self.name])

    def copyStorage(self, old: Config, new: Config) -> Any:
        """What ``new`` (a copy of ``old``) stores for this field."""
        return copy.deepcopy(old._storage[self.name])

    def compare(self, a: Config, b: Config, shortcut: bool, rtol: float, atol: float, report):
        """Whether the values in ``a`` and ``b`` agree; ``report(name, detail)`` if not."""
        mine, theirs = a._storage[self.name], b._storage[self.name]
        if sameValue(mine, theirs, rtol, atol):
            return True
        report(a.fieldFullName(self.name), f"{mine!r} != {theirs!r}")
        return False

    def toPlain(self, value: Any) -> Any:
        """A stored value as TOML-ready Python data."""
        return value

    def fromPlain(self, instance: Config, value: Any) -> Any:
        """A value read from TOML, before :meth:`convert`."""
        return value

    def isUnset(self, instance: Config) -> bool:
        """Whether the field holds nothing (saved in TOML as a name in ``_unset``)."""
        return instance._storage[self.name] is None

    def tableEntries(self, instance: Config) -> dict[str, Any]:
        """Extra keys of a nested field's TOML table (``_target``, ``_name``...)."""
        return {}

    def load(self, instance: Config, data: Any, loader: Any, path: tuple[str, ...]) -> None:
        """Apply TOML data; ``loader.where(path)`` labels it, ``loader.apply`` recurses."""
        instance._assign(self.name, self.fromPlain(instance, data), loader.where(path))

    def parseText(self, text: str, name: str) -> Any:
        """The value of ``-c NAME=TEXT``: a TOML value; a bare word for text fields;
        Python's ``True``/``False`` for bool fields."""
        if self.dtype is bool and text.strip() in ("True", "False"):
            return text.strip() == "True"
        parsed, value = parseTomlValue(text)
        if self.dtype is str and not (parsed and isinstance(value, str)):
            return text.strip()
        if not parsed:
            raise ConfigError(
                f"cannot parse {text!r} as a value for {name} (expected {self.expectedForm()})"
            )
        return value

    def describe(self) -> str:
        """A short description of the accepted values (for docs and ``pipetask help``)."""
        return typeName(self.dtype)

    def expectedForm(self) -> str:
        """What a user should write, for error messages."""
        forms = {
            bool: "a bool: true or false",
            int: "an int, e.g. 3",
            float: "a float, e.g. 2.5 or 1e-3",
            str: 'a str, e.g. g or "two words"',
        }
        return forms.get(self.dtype, self.describe())


class RangeField(Field):
    """An ``int`` or ``float`` within ``[min, max)`` (bounds inclusive or not, as given)."""

    fieldTypeName = "RangeField"
    supportedTypes = (int, float)

    def __init__(
        self,
        doc: str,
        dtype: type | None = None,
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

    def expectedForm(self) -> str:
        return f"{super().expectedForm()}, in {self.rangeString}"


class ChoiceField(Field):
    """A value from a fixed set; ``allowed`` maps each value to its doc."""

    fieldTypeName = "ChoiceField"

    def __init__(
        self,
        doc: str,
        dtype: type | None = None,
        allowed: dict[Any, str] | None = None,
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

    def expectedForm(self) -> str:
        return self.describe()
