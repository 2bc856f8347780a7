"""``Config``: a declarative, validated, freezable set of fields with a history."""

from __future__ import annotations

import difflib
from collections.abc import Iterator
from typing import Any

from ..errors import ConfigError, FieldValidationError
from .fields import Field, sameValue
from .history import currentSource, labelled


class UnknownFieldError(ConfigError, AttributeError):
    """A config has no field of the given name."""


def suggestion(name: str, choices: Iterator[str] | list[str]) -> str:
    """`` (did you mean 'x'?)`` when a close name exists, else ``""``."""
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


class ConfigMeta(type):
    """Collects the fields of a config class, inherited ones first, into ``_fields``."""

    def __init__(cls, name: str, bases: tuple, namespace: dict) -> None:
        super().__init__(name, bases, namespace)
        fields: dict[str, Field] = {}
        for base in reversed(cls.__mro__[1:]):
            fields.update(getattr(base, "_fields", {}))
        for key, value in namespace.items():
            if isinstance(value, Field):
                if key.startswith("_"):
                    raise ValueError(f"config field names may not start with '_': {key}")
                fields[key] = value
        cls._fields = fields


class Config(metaclass=ConfigMeta):
    """Base class of configs.

    Declare fields as class attributes; override :meth:`setDefaults` for defaults that
    depend on other fields and :meth:`validate` for cross-field rules (call ``super()``).
    ``MyConfig(x=1)`` sets fields after the defaults; unknown names are rejected with a
    suggestion.
    """

    _fields: dict[str, Field]

    def __init__(self, **kwargs: Any) -> None:
        object.__setattr__(self, "_storage", {})
        object.__setattr__(self, "_history", {})
        object.__setattr__(self, "_frozen", False)
        object.__setattr__(self, "_prefix", "")
        for field in self._fields.values():
            field.initialize(self)
        with labelled("setDefaults"):
            self.setDefaults()
        if kwargs:
            self.update(**kwargs)

    # -- hooks ---------------------------------------------------------------------------
    def setDefaults(self) -> None:
        """Set defaults beyond those of the fields; subclasses call ``super().setDefaults()``."""

    def validate(self) -> None:
        """Check every field (and nested config); subclasses add cross-field rules."""
        for field in self._fields.values():
            field.validate(self)

    # -- naming --------------------------------------------------------------------------
    def _fullName(self, name: str) -> str:
        return self._prefix + name

    def _setPrefix(self, prefix: str) -> None:
        object.__setattr__(self, "_prefix", prefix)
        for field in self._fields.values():
            rename = getattr(field, "renameChild", None)
            if rename is not None:
                rename(self)

    # -- assignment ----------------------------------------------------------------------
    def _checkMutable(self, name: str) -> None:
        if self._frozen:
            raise FieldValidationError(self._fullName(name), "Cannot modify a frozen Config")

    def _assign(self, name: str, value: Any, source: str | None = None) -> None:
        """Set field ``name`` from ``source`` (the caller's location when None)."""
        field = self._fields.get(name)
        if field is None:
            raise self._unknown(name)
        self._checkMutable(name)
        field.set(self, value, source)

    def _unknown(self, name: str) -> UnknownFieldError:
        where = f" in {self._prefix[:-1]!r}" if self._prefix else ""
        return UnknownFieldError(
            f"{type(self).__name__} has no field {name!r}{where}{suggestion(name, self._fields)}"
        )

    def __setattr__(self, name: str, value: Any) -> None:
        if name in self._fields:
            self._assign(name, value)
        elif name.startswith("_"):
            object.__setattr__(self, name, value)
        else:
            raise self._unknown(name)

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails.
        if name.startswith("__") or name in ("_storage", "_fields"):
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
            freeze = getattr(field, "freezeChild", None)
            if freeze is not None:
                freeze(self)

    @property
    def frozen(self) -> bool:
        """Whether the config can still change."""
        return self._frozen

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
        out: dict[str, Any] = {}
        for name, field in self._fields.items():
            toDict = getattr(field, "childDict", None)
            out[name] = toDict(self) if toDict else field.toPlain(self._storage[name])
        return out

    def names(self) -> list[str]:
        """Every leaf field's full dotted name (relative to this config)."""
        out: list[str] = []
        for name, field in self._fields.items():
            children = getattr(field, "childNames", None)
            if children is None:
                out.append(name)
            else:
                out.extend(f"{name}.{child}" for child in children(self))
        return out

    @property
    def history(self) -> dict[str, list[tuple[Any, str]]]:
        """Field name -> list of ``(value, where it was set)``, oldest first."""
        return self._history

    def resolve(self, dottedName: str) -> tuple[Config, str]:
        """The config that owns ``a.b.c`` and the last name (``c``)."""
        owner: Config = self
        parts = dottedName.split(".")
        i = 0
        while i < len(parts) - 1:
            part = parts[i]
            field = owner._fields.get(part)
            child = getattr(field, "childConfig", None)
            if field is None or child is None:
                if field is None:
                    raise owner._unknown(part)
                raise UnknownFieldError(
                    f"{'.'.join(parts[: i + 1])!r} is a {field.fieldTypeName}, not a nested config"
                )
            value = child(owner)
            if not isinstance(value, Config):
                # A choice field: the next part names the choice (``field.A.x``).
                if i + 2 >= len(parts):
                    raise UnknownFieldError(
                        f"{'.'.join(parts[: i + 2])!r}: name a field of a choice "
                        f"({'.'.join(parts[: i + 1])}.CHOICE.FIELD)"
                    )
                value = value[parts[i + 1]]
                i += 1
            owner = value
            i += 1
        return owner, parts[-1]

    # -- comparison ----------------------------------------------------------------------
    def compare(self, other: Config, rtol: float = 1e-8, atol: float = 1e-8) -> list[str]:
        """Differences with ``other``, one line each: ``stats.numSigmaClip: 3.0 != 10.0``."""
        if type(self) is not type(other):
            return [
                f"{self._prefix or '<root>'}: config types do not match: "
                f"{_typePath(type(self))} != {_typePath(type(other))}"
            ]
        out: list[str] = []
        for name, field in self._fields.items():
            compareChild = getattr(field, "compareChild", None)
            if compareChild is not None:
                out.extend(compareChild(self, other, rtol, atol))
                continue
            mine, theirs = self._storage[name], other._storage[name]
            if not sameValue(mine, theirs, rtol, atol):
                out.append(f"{self._fullName(name)}: {mine!r} != {theirs!r}")
        return out

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Config):
            return NotImplemented
        return not self.compare(other, rtol=0.0, atol=0.0)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        items = ", ".join(f"{k}={v!r}" for k, v in self.toDict().items())
        return f"{type(self).__name__}({items})"

    # -- persistence (TOML) --------------------------------------------------------------
    def toToml(self) -> str:
        """The whole config as TOML text with each field's doc as a comment."""
        from .toml_io import dumpConfig

        return dumpConfig(self)

    def saveToml(self, path: str) -> None:
        """Write :meth:`toToml` to ``path`` atomically."""
        from ..butler.atomic import writeTextAtomic

        writeTextAtomic(path, self.toToml())

    def loadToml(self, path: str, label: str = "") -> None:
        """Apply the values of a TOML file on top of this config.

        Each value passes the same checks as an assignment and is recorded in the history
        as ``<label >file:line``. Errors name the file and line.
        """
        from .toml_io import loadFile

        loadFile(self, path, label)

    def loadTomlString(self, text: str, source: str = "<string>") -> None:
        """Apply TOML text on top of this config (see :meth:`loadToml`)."""
        from .toml_io import loadText

        loadText(self, text, source)

    @classmethod
    def fromToml(cls, text: str, source: str = "<string>") -> Config:
        """A new config of this class with the values of TOML text applied."""
        config = cls()
        config.loadTomlString(text, source)
        return config

    def __reduce__(self):
        return (_unpickle, (_typePath(type(self)), self.toToml(), self._frozen))


def _typePath(cls: type) -> str:
    return f"{cls.__module__}:{cls.__qualname__}"


def _unpickle(typePath: str, text: str, frozen: bool) -> Config:
    from ..plugins import load

    config = load(typePath).fromToml(text, source="<pickle>")
    if frozen:
        config.freeze()
    return config
