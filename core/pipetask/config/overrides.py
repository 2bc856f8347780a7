"""``NAME=VALUE`` overrides, as given to ``pipetask run -c``.

VALUE is read by the field it sets (``Field.parseText``): a TOML value (``10``, ``true``,
``["EDGE", "NO_DATA"]``, ``"text"``); a bare word for a field that holds text
(``-c filterName=g``); Python's ``True``/``False`` for a bool field. A subtask is
retargeted with ``NAME._target=TASK`` or ``NAME=TASK`` (a registered task name or
``module:Class``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import ConfigError, PipetaskError
from .config import resolveField

if TYPE_CHECKING:
    from .config import Config


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
            node = resolveField(config, name[: -len("._target")] or "_target")
            if not node.targets or node.field.keyed:
                raise ConfigError(f"{name!r}: only a subtask field can be retargeted")
            node.value.retarget(node.field.parseText(raw, name), source=source)
            return
        node = resolveField(config, name)
        node.set(node.field.fromPlain(node.owner, node.field.parseText(raw, name)), source)
    except PipetaskError as exc:
        raise ConfigError(f"-c {text}: {exc}") from None
