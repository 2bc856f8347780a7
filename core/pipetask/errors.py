"""Exception types for mistakes a user can make; the CLI turns each into one clear line."""

from __future__ import annotations

import errno
import os

#: Errors of the storage itself, not of one data ID: a run stops at the first.
STORAGE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG})


class PipetaskError(Exception):
    """Base of every error pipetask raises on purpose."""


class TaskError(PipetaskError):
    """An expected failure of a task on one data ID; logged without a traceback."""


class PluginError(PipetaskError):
    """An unknown, clashing or broken plugin."""


class ConfigError(PipetaskError):
    """A bad config file, override or command-line value."""


class FieldValidationError(ConfigError, ValueError):
    """A config field was given a value it does not accept.

    Parameters
    ----------
    field : str
        Full dotted name of the field.
    message : str
        What was wrong.
    fieldType : str
        The kind of field (``Field``, ``RangeField``...), as in pex_config's messages.
    """

    def __init__(self, field: str, message: str, fieldType: str = "Field") -> None:
        self.field = field
        self.fieldType = fieldType
        self.detail = message
        super().__init__(f"{fieldType} {field!r} failed validation: {message}")


class DataIdError(PipetaskError):
    """A malformed ``--id`` or a data ID that does not fit the camera's keys."""


class ButlerError(PipetaskError):
    """A missing or malformed repository, or a dataset that cannot be read or written."""


class NoResults(ButlerError, LookupError):
    """No dataset matches a data ID."""


def osErrorLine(exc: OSError) -> str:
    """One line for an operating-system error: what failed, and on which path."""
    what = exc.strerror or str(exc) or type(exc).__name__
    if exc.filename is not None:
        return f"{what}: {os.fsdecode(exc.filename)!r}"
    return what


def storageError(exc: BaseException) -> str | None:
    """One line when ``exc`` (or what caused it) is the storage failing (full, read-only,
    over quota or over the file size limit); None otherwise."""
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, OSError) and exc.errno in STORAGE_ERRNOS:
            return osErrorLine(exc)
        if "database or disk is full" in str(exc):
            return f"database or disk is full ({type(exc).__name__}: {exc})"
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return None
