"""Configs as TOML: writing (with docs as comments) and reading (with file and line in errors).

The written form loads back to an equal config. A subtask's table carries its target as
``_target = "module:Class"`` (a retarget is just a different ``_target``; a registered task
name such as ``"simpleStats"`` works too); fields set to ``None`` are listed in ``_unset``
(TOML has no null); a choice field's table carries ``_name`` (or ``_names``).
"""

from __future__ import annotations

import json
import math
import re
import tomllib
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, PipetaskError
from .choice import ConfigChoiceField
from .nested import ConfigField, ConfigurableField, targetPath

if TYPE_CHECKING:
    from collections.abc import Callable

    from .config import Config

TARGET, CONFIG_CLASS, UNSET, NAME, NAMES = "_target", "_ConfigClass", "_unset", "_name", "_names"
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


# -- writing -------------------------------------------------------------------------------
def tomlKey(key: str) -> str:
    """A TOML key, quoted when it is not a bare key."""
    return key if _BARE_KEY.match(key) else _tomlString(key)


def _tomlString(text: str) -> str:
    # A JSON string is a valid TOML basic string, except that TOML wants DEL escaped.
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def tomlValue(value: Any) -> str:
    """One Python value as TOML text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _tomlString(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(tomlValue(v) for v in value) + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = ", ".join(f"{tomlKey(str(k))} = {tomlValue(v)}" for k, v in value.items())
        return "{ " + items + " }"
    raise ConfigError(f"cannot write {value!r} of type {type(value).__name__} to TOML")


def _comment(text: str) -> list[str]:
    return [f"# {line}".rstrip() for line in text.strip().splitlines()] if text else []


def dumpConfig(config: Config) -> str:
    """The whole config as TOML text."""
    cls = type(config)
    lines = [f"# pipetask config {cls.__module__}:{cls.__qualname__}"]
    _dumpTable(config, (), lines)
    return "\n".join(lines).rstrip() + "\n"


def _header(path: tuple[str, ...]) -> str:
    return "[" + ".".join(tomlKey(p) for p in path) + "]"


def _dumpTable(config: Config, path: tuple[str, ...], lines: list[str]) -> None:
    nested, unset = [], []
    for name, field in config._fields.items():
        if isinstance(field, ConfigField | ConfigurableField | ConfigChoiceField):
            nested.append((name, field))
            if isinstance(field, ConfigChoiceField) and config._storage[name]._selection is None:
                unset.append(name)  # no selection: TOML has no null, so list it in _unset
            continue
        value = config._storage[name]
        lines.extend(_comment(field.doc))
        allowed = getattr(field, "allowed", None)
        if allowed:
            lines.extend(
                _comment(
                    "Allowed values: "
                    + "; ".join(
                        f"{tomlValue(v)}: {doc}" if doc else tomlValue(v)
                        for v, doc in allowed.items()
                    )
                )
            )
        if value is None:
            unset.append(name)
            lines.append(f"# {name} is unset (listed in {UNSET})")
        else:
            lines.append(f"{tomlKey(name)} = {tomlValue(field.toPlain(value))}")
    if unset:
        lines.append(f"{UNSET} = {tomlValue(unset)}")
    for name, field in nested:
        sub = path + (name,)
        lines.append("")
        lines.extend(_comment(field.doc))
        lines.append(_header(sub))
        if isinstance(field, ConfigurableField):
            instance = config._storage[name]
            lines.append(f"{TARGET} = {tomlValue(targetPath(instance.target))}")
            if instance.ConfigClass is not getattr(instance.target, "ConfigClass", None):
                lines.append(f"{CONFIG_CLASS} = {tomlValue(targetPath(instance.ConfigClass))}")
            _dumpTable(instance.value, sub, lines)
        elif isinstance(field, ConfigChoiceField):
            instance = config._storage[name]
            key = NAMES if field.multi else NAME
            if instance._selection is not None:
                lines.append(f"{key} = {tomlValue(instance._selection)}")
            for choice in field._selected(config):
                instance[choice]  # the selected configs are part of the effective config
            for choice, child in instance._configs.items():
                lines.append("")
                lines.append(_header(sub + (choice,)))
                _dumpTable(child, sub + (choice,), lines)
        else:
            _dumpTable(config._storage[name], sub, lines)


# -- reading -------------------------------------------------------------------------------
class LocatedConfigError(ConfigError):
    """A config error whose message already names its file and line."""


def _splitKey(key: str) -> tuple[str, ...]:
    parts = re.findall(r'"((?:[^"\\]|\\.)*)"|\'([^\']*)\'|([^.\s]+)', key)
    return tuple(a or b or c for a, b, c in parts)


def keyLines(text: str) -> dict[tuple[str, ...], int]:
    """Line number of each key and table header of TOML text (best effort)."""
    lines: dict[tuple[str, ...], int] = {}
    table: tuple[str, ...] = ()
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        header = re.match(r"^\[\[?\s*([^\]]+?)\s*\]\]?", stripped)
        if header:
            table = _splitKey(header.group(1))
            lines.setdefault(table, number)
            continue
        key = re.match(
            r"""^((?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*')"""
            r"""(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*'))*)\s*=""",
            stripped,
        )
        if key:
            lines.setdefault(table + _splitKey(key.group(1)), number)
    return lines


def tomlSyntaxError(source: str, exc: Exception) -> str:
    """``file:line: invalid TOML: what`` from a ``tomllib`` error."""
    message = str(exc)
    found = re.search(r"\s*\(at line (\d+), column (\d+)\)$", message)
    if found is None:
        return f"{source}: invalid TOML: {message}"
    line, column = found.groups()
    return f"{source}:{line}: invalid TOML: {message[: found.start()]} (column {column})"


def loadFile(config: Config, path: str, label: str = "") -> None:
    """Apply the TOML file at ``path`` to ``config``."""
    try:
        with open(path, encoding="utf-8") as stream:
            text = stream.read()
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path!r}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path!r} is not UTF-8 text") from None
    loadText(config, text, path, label)


def loadText(config: Config, text: str, source: str, label: str = "", withLines: bool = True):
    """Apply TOML ``text`` (from ``source``, a file name) to ``config``."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LocatedConfigError(tomlSyntaxError(source, exc)) from None
    lines = keyLines(text) if withLines else {}
    prefix = f"{label} " if label else ""

    def where(path: tuple[str, ...]) -> str:
        line = lines.get(path)
        return f"{prefix}{source}:{line}" if line else f"{prefix}{source}"

    _apply(config, data, (), where)


def _apply(config: Config, table: dict, path: tuple[str, ...], where: Callable) -> None:
    for key, value in table.items():
        keyPath = path + (key,)
        try:
            if key == UNSET:
                for name in _names(value, keyPath):
                    config._assign(name, None, where(keyPath))
                continue
            field = config._fields.get(key)
            if field is None:
                raise config._unknown(key)
            if isinstance(field, ConfigurableField | ConfigField | ConfigChoiceField):
                if not isinstance(value, dict):
                    raise ConfigError(
                        f"{config._fullName(key)!r} is a {field.fieldTypeName}: "
                        f"give it a table ([{'.'.join(keyPath)}]), not {value!r}"
                    )
                _applyNested(config, field, value, keyPath, where)
            else:
                config._assign(key, field.fromPlain(config, value), where(keyPath))
        except LocatedConfigError:
            raise
        except PipetaskError as exc:
            raise LocatedConfigError(f"{where(keyPath)}: {exc}") from None


def _applyNested(config: Config, field: Any, value: dict, path: tuple[str, ...], where) -> None:
    value = dict(value)
    if isinstance(field, ConfigurableField):
        instance = config._storage[field.name]
        target = value.pop(TARGET, None)
        configClass = value.pop(CONFIG_CLASS, None)
        if target is not None or configClass is not None:
            targetClass, cc = field.resolveTarget(
                config,
                target if target is not None else instance.target,
                _resolveClass(configClass),
            )
            if targetClass is not instance.target or cc is not instance.ConfigClass:
                instance.retarget(targetClass, cc, source=where(path + (TARGET,)))
        _apply(instance.value, value, path, where)
    elif isinstance(field, ConfigChoiceField):
        instance = config._storage[field.name]
        selectKey = NAMES if field.multi else NAME
        if selectKey in value:
            field.set(config, value.pop(selectKey), where(path + (selectKey,)))
        for choice, sub in value.items():
            if not isinstance(sub, dict):
                raise ConfigError(
                    f"choice {choice!r} of {config._fullName(field.name)!r} "
                    f"needs a table, not {sub!r}"
                )
            _apply(instance[choice], sub, path + (choice,), where)
    else:
        _apply(config._storage[field.name], value, path, where)


def _resolveClass(path: str | None) -> type | None:
    if path is None:
        return None
    from ..plugins import load

    return load(path)


def _names(value: Any, path: tuple[str, ...]) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{'.'.join(path)} must be a list of field names, not {value!r}")
    return value
