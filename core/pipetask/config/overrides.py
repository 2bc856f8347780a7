"""``NAME=VALUE`` overrides, as given to ``pipetask run -c``.

VALUE is read as a TOML value (``10``, ``true``, ``["EDGE", "NO_DATA"]``, ``"text"``); for
a field that holds strings a bare word is taken as is (``-c filterName=g``). A subtask is
retargeted with ``NAME._target=TASK`` or ``NAME=TASK`` (a registered task name or
``module:Class``).
"""

from __future__ import annotations

import tomllib
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, PipetaskError
from .choice import ConfigChoiceField
from .fields import ListField
from .nested import ConfigField, ConfigurableField

if TYPE_CHECKING:
    from .config import Config


def parseValue(raw: str, field: Any, name: str) -> Any:
    """The Python value of ``raw`` for ``field`` (named ``name`` in errors)."""
    try:
        value, parsed = tomllib.loads(f"v = {raw}")["v"], True
    except tomllib.TOMLDecodeError:
        value, parsed = None, False
    takesWord = isinstance(field, ConfigurableField | ConfigChoiceField) or (
        not isinstance(field, ListField) and getattr(field, "dtype", None) is str
    )
    if takesWord:
        return value if parsed and isinstance(value, str | list) else raw.strip()
    if not parsed:
        hint = ' (write a list as ["A", "B"])' if isinstance(field, ListField) else ""
        expected = field.describe() if hasattr(field, "describe") else "a TOML value"
        raise ConfigError(f"cannot parse {raw!r} as a value for {name} ({expected}){hint}")
    return value


def applyOverride(config: Config, text: str, source: str | None = None) -> None:
    """Apply one ``NAME=VALUE`` override; ``source`` labels it in the history."""
    source = source or f"-c {text}"
    name, sep, raw = text.partition("=")
    name = name.strip()
    if not sep or not name:
        raise ConfigError(f"-c value {text!r} must be in form name=value")
    if name.startswith("config."):
        name = name[len("config.") :]
    try:
        if name == "_target" or name.endswith("._target"):
            owner, leaf = config.resolve(name[: -len("._target")] or "_target")
            field = owner._fields.get(leaf)
            if not isinstance(field, ConfigurableField):
                raise ConfigError(f"{name!r}: only a subtask field can be retargeted")
            owner._storage[leaf].retarget(raw.strip(), source=source)
            return
        owner, leaf = config.resolve(name)
        field = owner._fields.get(leaf)
        if field is None:
            raise owner._unknown(leaf)
        if isinstance(field, ConfigField):
            raise ConfigError(f"{name!r} is a nested config; set its fields ({name}.FIELD=VALUE)")
        value = parseValue(raw, field, name)
        owner._assign(leaf, field.fromPlain(owner, value), source)
    except PipetaskError as exc:
        raise ConfigError(f"-c {text}: {exc}") from None
