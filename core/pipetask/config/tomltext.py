"""TOML text of single values: writing keys and values, reading one value safely."""

from __future__ import annotations

import json
import math
import re
import tomllib
from typing import Any

from ..errors import ConfigError

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


def tomlKey(key: str) -> str:
    """A TOML key, quoted when it is not a bare key."""
    return key if _BARE_KEY.match(key) else tomlString(key)


def tomlString(text: str) -> str:
    """A TOML basic string."""
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
        return tomlString(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(tomlValue(v) for v in value) + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = ", ".join(f"{tomlKey(str(k))} = {tomlValue(v)}" for k, v in value.items())
        return "{ " + items + " }"
    raise ConfigError(f"cannot write {value!r} of type {type(value).__name__} to TOML")


def loadsToml(text: str) -> dict[str, Any]:
    """``tomllib.loads``, with the errors it lets through (nesting too deep for the
    recursion limit, integers of more than 4,300 digits) as ``tomllib.TOMLDecodeError``."""
    try:
        return tomllib.loads(text)
    except RecursionError:
        raise tomllib.TOMLDecodeError("arrays or tables nested too deeply") from None
    except ValueError as exc:
        if isinstance(exc, tomllib.TOMLDecodeError):
            raise
        raise tomllib.TOMLDecodeError(str(exc)) from None


def parseTomlValue(text: str) -> tuple[bool, Any]:
    """``(True, value)`` when ``text`` is one TOML value, else ``(False, None)``."""
    if "\n" in text or "\r" in text:
        return False, None
    try:
        return True, loadsToml(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return False, None
