"""Where each config value was set: a label per assignment, kept in the config's history."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
_CORE_FILES = {
    os.path.join(os.path.dirname(_PACKAGE_DIR), name) for name in ("task.py", "struct.py")
}

#: A label that overrides the caller's location for assignments made in its scope.
_label: ContextVar[str | None] = ContextVar("pipetask_config_label", default=None)


def callerLocation() -> str:
    """``file:line`` of the innermost frame outside the config machinery."""
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        # MutableSequence.append/extend and friends run in _collections_abc: skip them too.
        if (
            not filename.startswith(_PACKAGE_DIR)
            and filename not in _CORE_FILES
            and frame.f_globals.get("__name__") not in ("_collections_abc", "collections.abc")
        ):
            return f"{_shortPath(filename)}:{frame.f_lineno}"
        frame = frame.f_back
    return "<unknown>"


def _shortPath(path: str) -> str:
    """A path relative to the working directory when that is shorter."""
    try:
        rel = os.path.relpath(path)
    except ValueError:
        return path
    return rel if len(rel) < len(path) else path


def currentSource() -> str:
    """The label for an assignment happening now."""
    label = _label.get()
    if label is None:
        return callerLocation()
    if label == "setDefaults":
        return f"setDefaults ({callerLocation()})"
    return label


@contextmanager
def labelled(label: str) -> Iterator[None]:
    """Attribute every assignment in this scope to ``label``."""
    token = _label.set(label)
    try:
        yield
    finally:
        _label.reset(token)
