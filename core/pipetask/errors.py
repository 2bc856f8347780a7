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

    Two signatures: pex_config's ``FieldValidationError(field, config, msg)`` (a field
    object and the config holding it, as a task's ``Config.validate()`` raises it), and
    pipetask's own ``FieldValidationError(fullName, message, fieldType="Field")``. A
    single message (``FieldValidationError("why")``) is accepted too.

    Attributes
    ----------
    field : str
        Full dotted name of the field (empty when only a message was given).
    fieldType : str
        The kind of field (``Field``, ``RangeField``...), as in pex_config's messages.
    detail : str
        What was wrong.
    """

    def __init__(self, field: object, *args: object) -> None:
        if not args:
            name, message, fieldType = "", str(field), ""
        elif isinstance(field, str):
            name, message = field, str(args[0])
            fieldType = str(args[1]) if len(args) > 1 else "Field"
        else:
            config, message = args[0], str(args[1]) if len(args) > 1 else ""
            fieldName = getattr(field, "name", None) or str(field)
            fullName = getattr(config, "fieldFullName", None)
            name = fullName(fieldName) if callable(fullName) else fieldName
            fieldType = type(field).__name__
        self.field = name
        self.fieldType = fieldType
        self.detail = message
        if not name:
            super().__init__(message)
        else:
            super().__init__(f"{fieldType} {name!r} failed validation: {message}")


class UnexpectedProxyUsageError(ConfigError, TypeError):
    """A list, dict or choice value of a config was used as something it is not: an
    attribute set on it, or pickled (convert it to a built-in ``list`` or ``dict`` first).
    """


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


#: Exit status of a set-up problem (a user's mistake, an OS error before anything ran).
EXIT_USAGE = 2
#: A run's exit status is its number of failures, capped so it never wraps to 0.
MAX_FAILURE_STATUS = 100


def exitStatus(failures: int) -> int:
    """The exit status of a run with ``failures`` failed data IDs (0 when none)."""
    return min(failures, MAX_FAILURE_STATUS)
