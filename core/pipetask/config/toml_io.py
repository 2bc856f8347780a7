"""Configs as TOML: writing (with docs as comments) and reading (with file and line in errors).

Both walk the tree through the field protocol (see ``fields.py``); this module knows no
field kind. The written form loads back to an equal config. Its first line names the
config class (and the task, when known); a file written for another class is refused. A
subtask's table carries its target as ``_target = "module:Class"`` (a retarget is just a
different ``_target``; a registered task name such as ``"simpleStats"`` works too);
fields set to ``None`` are listed in ``_unset`` (TOML has no null); a choice field's table
carries ``_name`` (or ``_names``).
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, PipetaskError
from .tomltext import loadsToml, tomlKey, tomlValue

if TYPE_CHECKING:
    from .config import Config

UNSET = "_unset"
#: The largest config (or debug) file read, in bytes.
MAX_FILE_BYTES = 16 * 1024 * 1024
_HEADER = re.compile(r"^# pipetask config (?P<cls>\S+)(?: \(task (?P<task>[^)\s]+)\))?[ \t]*$")


def typePath(cls: type) -> str:
    """``module:QualName`` of a class."""
    return f"{cls.__module__}:{cls.__qualname__}"


def shownValue(value: Any) -> str:
    """A value as TOML when it has a TOML form, else as ``str``."""
    try:
        return tomlValue(value)
    except ConfigError:
        return str(value)


# -- writing -------------------------------------------------------------------------------
def _comment(text: str) -> list[str]:
    return [f"# {line}".rstrip() for line in text.strip().splitlines()] if text else []


def dumpConfig(config: Config, task: str | None = None) -> str:
    """The whole config as TOML text; ``task`` is named in the first line when given."""
    head = f"# pipetask config {typePath(type(config))}" + (f" (task {task})" if task else "")
    lines = [head]
    _dumpTable(config, (), lines)
    return "\n".join(lines).rstrip() + "\n"


def _header(path: tuple[str, ...]) -> str:
    return "[" + ".".join(tomlKey(p) for p in path) + "]"


def _dumpTable(config: Config, path: tuple[str, ...], lines: list[str]) -> None:
    nested, unset = [], []
    for field in config._fields.values():
        isUnset = field.isUnset(config)
        if isUnset:
            unset.append(field.name)
        if field.isNested:
            nested.append(field)
            continue
        lines.extend(_comment(field.doc))
        allowed = field.allowed
        if allowed:
            shown = [
                f"{tomlValue(v)}: {doc}" if doc else tomlValue(v) for v, doc in allowed.items()
            ]
            lines.extend(_comment("Allowed values: " + "; ".join(shown)))
        if isUnset:
            lines.append(f"# {field.name} is unset (listed in {UNSET})")
        else:
            lines.append(f"{tomlKey(field.name)} = {tomlValue(field.toDict(config))}")
    if unset:
        lines.append(f"{UNSET} = {tomlValue(unset)}")
    for field in nested:
        children = field.children(config, everything=True)
        if field.isUnset(config) and not children:
            continue
        sub = path + (field.name,)
        lines.append("")
        lines.extend(_comment(field.doc))
        lines.append(_header(sub))
        for key, value in field.tableEntries(config).items():
            lines.append(f"{tomlKey(key)} = {tomlValue(value)}")
        for key, child in children:
            if key:
                lines.append("")
                lines.append(_header(sub + (key,)))
                _dumpTable(child, sub + (key,), lines)
            else:
                _dumpTable(child, sub, lines)


# -- reading -------------------------------------------------------------------------------
class LocatedConfigError(ConfigError):
    """A config error whose message already names its file and line."""


_KEY_PART = re.compile(r'"((?:[^"\\]|\\.)*)"|\'([^\']*)\'|([^.\s]+)')
_TABLE_HEADER = re.compile(r"^\[\[?\s*([^\]]+?)\s*\]\]?")
_KEY = re.compile(
    r"""^((?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*')"""
    r"""(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*'))*)\s*="""
)


def _splitKey(key: str) -> tuple[str, ...]:
    return tuple(a or b or c for a, b, c in _KEY_PART.findall(key))


def keyLines(text: str) -> dict[tuple[str, ...], int]:
    """Line number of each key and table header of TOML text (best effort)."""
    lines: dict[tuple[str, ...], int] = {}
    table: tuple[str, ...] = ()
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        header = _TABLE_HEADER.match(stripped)
        if header:
            table = _splitKey(header.group(1))
            lines.setdefault(table, number)
            continue
        key = _KEY.match(stripped)
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


def readTextFile(path: str, what: str = "config file") -> str:
    """The UTF-8 text of ``path``, which must be a regular file of at most
    :data:`MAX_FILE_BYTES` (a FIFO, a device or a directory is refused, never read)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as exc:
        raise ConfigError(f"cannot read {what} {path!r}: {exc.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ConfigError(f"{what} {path!r} is not a regular file")
        if info.st_size > MAX_FILE_BYTES:
            raise ConfigError(
                f"{what} {path!r} is too large ({info.st_size} bytes; at most {MAX_FILE_BYTES})"
            )
        chunks, size = [], 0
        while size <= MAX_FILE_BYTES:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > MAX_FILE_BYTES:
            raise ConfigError(f"{what} {path!r} is too large (more than {MAX_FILE_BYTES} bytes)")
    except OSError as exc:
        raise ConfigError(f"cannot read {what} {path!r}: {exc.strerror}") from None
    finally:
        os.close(fd)
    try:
        return b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{what} {path!r} is not UTF-8 text") from None


def loadFile(config: Config, path: str, label: str = "", task: str | None = None) -> None:
    """Apply the TOML file at ``path`` to ``config`` (of task ``task``, if known)."""
    loadText(config, readTextFile(path), path, label, task=task)


def savedFor(text: str) -> tuple[str | None, str | None]:
    """``(config class path, task name)`` that saved TOML text names in its first line."""
    found = _HEADER.match(text.split("\n", 1)[0])
    return (found["cls"], found["task"]) if found else (None, None)


def _checkSavedFor(config: Config, text: str, source: str, task: str | None) -> None:
    savedClass, savedTask = savedFor(text)
    mine = typePath(type(config))
    if savedClass is None or savedClass == mine:
        return
    written = f"task {savedTask!r} ({savedClass})" if savedTask else f"config class {savedClass}"
    target = f"task {task!r} ({mine})" if task else f"config class {mine}"
    raise LocatedConfigError(f"{source}: this config was written for {written}, not for {target}")


def loadText(
    config: Config,
    text: str,
    source: str,
    label: str = "",
    withLines: bool = True,
    task: str | None = None,
) -> None:
    """Apply TOML ``text`` (from ``source``, a file name) to ``config``."""
    try:
        data = loadsToml(text)
    except tomllib.TOMLDecodeError as exc:
        raise LocatedConfigError(tomlSyntaxError(source, exc)) from None
    _checkSavedFor(config, text, source, task)
    loader = TableLoader(source, keyLines(text) if withLines else {}, label)
    loader.apply(config, data, ())


class TableLoader:
    """Applies TOML tables to configs through the field protocol, labelling each value
    with its file and line (``where``) for the history and for errors."""

    def __init__(self, source: str, lines: dict[tuple[str, ...], int], label: str = "") -> None:
        self.source, self.lines, self.prefix = source, lines, f"{label} " if label else ""

    def where(self, path: tuple[str, ...]) -> str:
        line = self.lines.get(path)
        return f"{self.prefix}{self.source}:{line}" if line else f"{self.prefix}{self.source}"

    def apply(self, config: Config, table: dict, path: tuple[str, ...]) -> None:
        for key, value in table.items():
            keyPath = path + (key,)
            try:
                if key == UNSET:
                    for name in _names(value, keyPath):
                        config._assign(name, None, self.where(keyPath))
                    continue
                field = config._fields.get(key)
                if field is None:
                    raise config._unknown(key)
                field.load(config, value, self, keyPath)
            except LocatedConfigError:
                raise
            except PipetaskError as exc:
                raise LocatedConfigError(f"{self.where(keyPath)}: {exc}") from None


def _names(value: Any, path: tuple[str, ...]) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{'.'.join(path)} must be a list of field names, not {value!r}")
    return value
