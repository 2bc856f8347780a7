"""``Config``: a declarative, validated, freezable set of fields with a history.

Also the one public way to walk a config tree (:func:`walk`, :func:`resolveField`) and
pex_config's comparison functions (:func:`compareConfigs`).
"""

from __future__ import annotations

import copy as _copy
import difflib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from ..errors import ConfigError, FieldValidationError, PipetaskError
from . import toml_io
from .fields import Field
from .history import currentSource, labelled


class UnknownFieldError(ConfigError, AttributeError):
    """A config has no field of the given name."""


def suggestion(name: str, choices: Iterator[str] | list[str]) -> str:
    """`` (did you mean 'x'?)`` when a close name exists, else ``""``."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


class ConfigMeta(type):
    """Collects the fields of a config class, inherited ones first, into ``_fields``.

    Inherited fields are copied into each subclass, so a subclass that changes a field
    (its default, say) leaves its parent alone.
    """

    def __init__(cls, name: str, bases: tuple, namespace: dict) -> None:
        super().__init__(name, bases, namespace)
        fields: dict[str, Field] = {}
        for base in reversed(cls.__mro__[1:]):
            fields.update(getattr(base, "_fields", {}))
        type.__setattr__(cls, "_fields", {})
        for key, value in fields.items():
            if key not in namespace:
                inherited = _copy.deepcopy(value)
                inherited.name = key
                setattr(cls, key, inherited)
        for key, value in namespace.items():
            if isinstance(value, Field):
                setattr(cls, key, value)
        order = list(fields) + [k for k in cls._fields if k not in fields]
        type.__setattr__(cls, "_fields", {k: cls._fields[k] for k in order})

    def __setattr__(cls, name: str, value: Any) -> None:
        if isinstance(value, Field):
            if name.startswith("_"):
                raise ValueError(f"config field names may not start with '_': {name}")
            value.name = name
            cls._fields[name] = value
        type.__setattr__(cls, name, value)


class Config(metaclass=ConfigMeta):
    """Base class of configs.

    Declare fields as class attributes; override :meth:`setDefaults` for defaults that
    depend on other fields and :meth:`validate` for cross-field rules (call ``super()``).
    ``MyConfig(x=1)`` sets fields after the defaults; unknown names are rejected with a
    suggestion. As in pex_config, a config is complete when it is made (``__new__``), so
    a subclass's ``__init__`` need not call ``super().__init__``.
    """

    _fields: dict[str, Field]

    def __new__(cls, *args: Any, **kwargs: Any) -> Config:
        self = object.__new__(cls)
        object.__setattr__(self, "_storage", {})
        object.__setattr__(self, "_history", {})
        object.__setattr__(self, "_frozen", False)
        object.__setattr__(self, "_prefix", "")
        for field in cls._fields.values():
            field.initialize(self)
        with labelled("setDefaults"):
            self.setDefaults()
        if kwargs:
            self.update(**kwargs)
        return self

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Nothing left to do: :meth:`__new__` set defaults and the keyword values."""

    # -- hooks ---------------------------------------------------------------------------
    def setDefaults(self) -> None:
        """Set defaults beyond those of the fields; subclasses call ``super().setDefaults()``."""

    def validate(self) -> None:
        """Check every field (and nested config); subclasses add cross-field rules."""
        for field in self._fields.values():
            field.validate(self)

    # -- naming --------------------------------------------------------------------------
    def fieldFullName(self, name: str) -> str:
        """The dotted name of field ``name`` from the top of the tree."""
        return self._prefix + name

    def _setPrefix(self, prefix: str) -> None:
        object.__setattr__(self, "_prefix", prefix)
        for field in self._fields.values():
            if field.isNested:
                field.rename(self)

    # -- assignment ----------------------------------------------------------------------
    def _checkMutable(self, name: str) -> None:
        if self._frozen:
            raise FieldValidationError(self.fieldFullName(name), "Cannot modify a frozen Config")

    def _assign(self, name: str, value: Any, source: str | None = None) -> None:
        """Set field ``name`` from ``source`` (the caller's location when None)."""
        field = self._fields.get(name)
        if field is None:
            raise self._unknown(name)
        self._checkMutable(name)
        field.set(self, value, source)

    def setField(self, name: str, value: Any, source: str | None = None) -> None:
        """Set field ``name``, labelled ``source`` in the history (default: the caller)."""
        self._assign(name, value, source)

    def _unknown(self, name: str) -> UnknownFieldError:
        where = f" in {self._prefix[:-1]!r}" if self._prefix else ""
        return UnknownFieldError(
            f"{type(self).__name__} has no field {name!r}{where}{suggestion(name, self._fields)}"
        )

    def __setattr__(self, name: str, value: Any) -> None:
        if name in self._fields:
            self._assign(name, value)
        elif name.startswith("_") or hasattr(getattr(type(self), name, None), "__set__"):
            object.__setattr__(self, name, value)
        else:
            raise self._unknown(name)

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails.
        if name.startswith("_"):
            raise AttributeError(name)
        raise self._unknown(name)

    def __delattr__(self, name: str) -> None:
        if name in self._fields:
            self._assign(name, None)
        else:
            object.__delattr__(self, name)

    def update(self, **kwargs: Any) -> None:
        """Set several fields; an unknown name is an error."""
        source = currentSource()
        for name, value in kwargs.items():
            self._assign(name, value, source)

    def freeze(self) -> None:
        """Make this config and every nested one read-only."""
        object.__setattr__(self, "_frozen", True)
        for field in self._fields.values():
            if field.isNested:
                field.freeze(self)

    @property
    def frozen(self) -> bool:
        """Whether the config can still change."""
        return self._frozen

    def copy(self) -> Config:
        """A deep, unfrozen copy (values and history; nothing is serialised)."""
        new = object.__new__(type(self))
        object.__setattr__(new, "_storage", {})
        object.__setattr__(new, "_history", {k: list(v) for k, v in self._history.items()})
        object.__setattr__(new, "_frozen", False)
        object.__setattr__(new, "_prefix", self._prefix)
        for name, field in self._fields.items():
            new._storage[name] = field.copyStorage(self, new)
        return new

    def __copy__(self) -> Config:
        return self.copy()

    def __deepcopy__(self, memo: dict) -> Config:
        return self.copy()

    def _updateFrom(self, other: Config, source: str) -> None:
        """Assign every value of ``other`` (same class) through the fields' checks."""
        for field in self._fields.values():
            field.setFrom(self, other, source)

    # -- inspection ----------------------------------------------------------------------
    def __iter__(self) -> Iterator[str]:
        return iter(self._fields)

    def __contains__(self, name: object) -> bool:
        return name in self._fields

    def keys(self) -> list[str]:
        """Field names, in declaration order."""
        return list(self._fields)

    def values(self) -> list[Any]:
        """Field values, in declaration order."""
        return [getattr(self, name) for name in self._fields]

    def items(self) -> list[tuple[str, Any]]:
        """``(name, value)`` pairs, in declaration order."""
        return [(name, getattr(self, name)) for name in self._fields]

    def toDict(self) -> dict[str, Any]:
        """Nested plain data: values, and dicts for nested configs."""
        return {name: field.toDict(self) for name, field in self._fields.items()}

    def names(self) -> list[str]:
        """Every leaf field's full dotted name (relative to this config)."""
        return [name for field in self._fields.values() for name in field.names(self)]

    @property
    def history(self) -> dict[str, list[tuple[Any, str]]]:
        """Field name -> list of ``(value, where it was set)``, oldest first."""
        return self._history

    def formatHistory(self, name: str, **kwargs: Any) -> str:
        """The history of field ``name`` (dotted names reach nested configs), one line
        per assignment: the value, then where it was set."""
        node = resolveField(self, name)
        rows = node.history
        shown = [toml_io.shownValue(value) for value, _ in rows]
        width = max((len(s) for s in shown), default=0)
        lines = [node.path]
        lines.extend(f"    {s:<{width}}  {src}" for s, (_, src) in zip(shown, rows, strict=True))
        return "\n".join(lines)

    def resolve(self, dottedName: str) -> tuple[Config, str]:
        """The config that owns ``a.b.c`` and the last name (``c``)."""
        owner: Config = self
        parts = dottedName.split(".")
        i = 0
        while i < len(parts) - 1:
            part = parts[i]
            field = owner._fields.get(part)
            if field is None:
                raise owner._unknown(part)
            if not field.isNested:
                raise UnknownFieldError(
                    f"{'.'.join(parts[: i + 1])!r} is a {field.fieldTypeName}, not a nested config"
                )
            if field.keyed:
                # A choice or dict field: the next part names the entry (``field.A.x``).
                if i + 2 >= len(parts):
                    raise UnknownFieldError(
                        f"{'.'.join(parts[: i + 2])!r}: name a field of an entry "
                        f"({'.'.join(parts[: i + 1])}.KEY.FIELD)"
                    )
                owner = field.child(owner, parts[i + 1])
                i += 1
            else:
                owner = field.child(owner, None)
            i += 1
        return owner, parts[-1]

    # -- comparison ----------------------------------------------------------------------
    def compare(
        self,
        other: Config,
        shortcut: bool = True,
        rtol: float = 1e-8,
        atol: float = 1e-8,
        output: Callable[[str], Any] | None = None,
    ) -> bool:
        """Whether ``other`` is equal, floats within tolerance (as pex_config's).

        Each inequality is passed to ``output`` as ``"Inequality in NAME: A != B"``;
        ``shortcut`` stops at the first. Only selected choices are compared.
        """
        return compareConfigs(
            self._prefix[:-1] or "config", self, other, shortcut, rtol, atol, output
        )

    def differences(self, other: Config, rtol: float = 1e-8, atol: float = 1e-8) -> list[str]:
        """Every difference with ``other``, one line each: ``stats.numSigmaClip: 3.0 != 10.0``."""
        out: list[str] = []
        compareTrees(self, other, False, rtol, atol, lambda n, d: out.append(f"{n}: {d}"))
        return out

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Config):
            return NotImplemented
        return compareTrees(self, other, True, 0.0, 0.0, lambda n, d: None)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        items = ", ".join(f"{k}={v!r}" for k, v in self.toDict().items())
        return f"{type(self).__name__}({items})"

    # -- persistence (TOML) --------------------------------------------------------------
    def saveToString(self, skipImports: bool = False, task: str | None = None) -> str:
        """The whole config as TOML text with each field's doc as a comment."""
        return toml_io.dumpConfig(self, task)

    def toToml(self, task: str | None = None) -> str:
        """The whole config as TOML text (:meth:`saveToString`)."""
        return toml_io.dumpConfig(self, task)

    def saveToStream(self, outfile: IO[str], root: str = "config", skipImports: bool = False):
        """Write the config as TOML to an open text stream (``root`` is accepted and
        ignored: TOML needs no variable name)."""
        outfile.write(self.toToml())

    def save(self, filename: str, root: str = "config") -> None:
        """Write the config as TOML to ``filename`` atomically."""
        from ..butler.atomic import writeTextAtomic

        writeTextAtomic(filename, self.toToml())

    saveToml = save

    def load(self, filename: str, root: str = "config", label: str = "") -> None:
        """Apply the values of a TOML file on top of this config.

        Each value passes the same checks as an assignment and is recorded in the history
        as ``<label >file:line``. Errors name the file and line. The file must be a
        regular file of reasonable size, written for this config's class if it says.
        """
        toml_io.loadFile(self, filename, label)

    def loadToml(self, path: str, label: str = "", task: str | None = None) -> None:
        """Apply a TOML file (:meth:`load`); ``task`` names the config's task in errors."""
        toml_io.loadFile(self, path, label, task)

    def loadFromStream(self, stream: Any, root: str = "config", filename: str | None = None):
        """Apply TOML read from an open stream (or given as ``str`` or ``bytes``)."""
        text = stream.read() if hasattr(stream, "read") else stream
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        source = filename or getattr(stream, "name", None) or "<stream>"
        toml_io.loadText(self, text, str(source))

    def loadFromString(self, text: str, root: str = "config", filename: str | None = None):
        """Apply TOML text (:meth:`loadFromStream`)."""
        toml_io.loadText(self, text, filename or "<string>")

    def loadTomlString(self, text: str, source: str = "<string>") -> None:
        """Apply TOML text on top of this config (see :meth:`load`)."""
        toml_io.loadText(self, text, source)

    @classmethod
    def fromToml(cls, text: str, source: str = "<string>") -> Config:
        """A new config of this class with the values of TOML text applied."""
        config = cls()
        config.loadTomlString(text, source)
        return config

    def __reduce__(self):
        return (_unpickle, (type(self), self.toToml(), self._frozen))


def _unpickle(cls: type, text: str, frozen: bool) -> Config:
    config = cls.fromToml(text, source="<pickle>")
    if frozen:
        config.freeze()
    return config


# -- the one public way to walk a config tree ------------------------------------------------
@dataclass(frozen=True)
class FieldNode:
    """One field of a config tree, as :func:`walk` finds it.

    ``path`` is the dotted name from the walked config (``stats.numSigmaClip``; a choice's
    fields read ``algorithm.A.x``); ``owner`` is the config holding the field.
    """

    path: str
    owner: Config
    field: Field
    depth: int

    @property
    def name(self) -> str:
        """The field's own name."""
        return self.field.name

    @property
    def isNested(self) -> bool:
        """Whether the field holds configs rather than a value."""
        return self.field.isNested

    @property
    def value(self) -> Any:
        """The value, as ``owner.<name>`` gives it."""
        return self.field.__get__(self.owner)

    @property
    def plain(self) -> Any:
        """The value as plain data (what TOML holds; ``None`` when unset)."""
        return self.field.toDict(self.owner)

    @property
    def doc(self) -> str:
        return self.field.doc

    @property
    def history(self) -> list[tuple[Any, str]]:
        """``(value, where it was set)`` pairs, oldest first."""
        return self.owner.history.get(self.field.name, [])

    @property
    def targets(self) -> list[tuple[str, Any]]:
        """``(label, implementation)`` of a subtask or registry field ("" label for a
        subtask, the choice name for a registry selection); empty for other fields."""
        return self.field.targets(self.owner) if self.field.isNested else []

    def children(self, everything: bool = False) -> list[tuple[str, Config]]:
        """The configs the field holds (see ``Field.children``)."""
        return self.field.children(self.owner, everything)

    def set(self, value: Any, source: str | None = None) -> None:
        """Assign the field, labelled ``source`` in the history."""
        self.owner.setField(self.field.name, value, source)


def walk(config: Config, everything: bool = False) -> Iterator[FieldNode]:
    """Every field of the tree below ``config``, depth first in declaration order.

    A nested field comes before the fields of the configs it holds. Of a choice field
    only the selected choices are entered, unless ``everything`` (every instantiated one).
    """
    return _walk(config, everything, "", 0)


def _walk(config: Config, everything: bool, prefix: str, depth: int) -> Iterator[FieldNode]:
    for field in config._fields.values():
        path = prefix + field.name
        yield FieldNode(path, config, field, depth)
        if field.isNested:
            for key, child in field.children(config, everything):
                sub = f"{path}.{key}." if key else f"{path}."
                yield from _walk(child, everything, sub, depth + 1)


def resolveField(config: Config, dottedName: str) -> FieldNode:
    """The field named ``a.b.c`` below ``config`` (unknown names are errors with hints)."""
    owner, leaf = config.resolve(dottedName)
    field = owner._fields.get(leaf)
    if field is None:
        raise owner._unknown(leaf)
    return FieldNode(dottedName, owner, field, dottedName.count("."))


def validateForTask(config: Config, taskName: str) -> None:
    """``config.validate()``; a ``ValueError`` or ``TypeError`` that a task's own
    ``validate()`` raises (as pex_config configs do) becomes a config error of that task."""
    try:
        config.validate()
    except (PipetaskError, ValueError, TypeError) as exc:
        raise ConfigError(f"invalid config of task {taskName!r}: {exc}") from None


# -- comparison (pex_config's functions) ------------------------------------------------------
def compareTrees(a: Config, b: Config, shortcut: bool, rtol: float, atol: float, report) -> bool:
    """Compare two configs field by field; ``report(name, detail)`` for each inequality."""
    if type(a) is not type(b):
        report(
            a._prefix[:-1] or "<root>",
            f"config types do not match: {_typePath(type(a))} != {_typePath(type(b))}",
        )
        return False
    equal = True
    for field in a._fields.values():
        if not field.compare(a, b, shortcut, rtol, atol, report):
            if shortcut:
                return False
            equal = False
    return equal


def compareConfigs(
    name: str,
    c1: Config | None,
    c2: Config | None,
    shortcut: bool = True,
    rtol: float = 1e-8,
    atol: float = 1e-8,
    output: Callable[[str], Any] | None = None,
) -> bool:
    """Whether two configs (or ``None``) are equal, as pex_config's ``compareConfigs``."""
    if c1 is None or c2 is None:
        if c1 is not c2 and output is not None:
            output(f"{'LHS' if c1 is None else 'RHS'} is None for {name}")
        return c1 is c2

    def report(fieldName: str, detail: str) -> None:
        if output is not None:
            output(f"Inequality in {fieldName}: {detail}")

    return compareTrees(c1, c2, shortcut, rtol, atol, report)


def _typePath(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"
