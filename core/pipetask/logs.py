"""Logging: stdlib loggers named by task, rendered by structlog.

Tasks log through ``self.log`` (a :class:`logging.Logger` named by the task's full name),
so levels can be set per component (``exampleTask.stats=DEBUG``) and a parent's level
applies to its subtasks. :func:`configureLogging` picks one of three renderings:

- ``console`` (default): ``exampleTask.stats: clipped mean=...``
- ``long``: time, level, logger, data ID and source location before the message
- ``json``: one JSON object per line, for machines
"""

from __future__ import annotations

import logging
import sys
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TextIO

from .errors import ConfigError

LEVELS = {
    "TRACE": 5,
    "DEBUG": logging.DEBUG,
    "INFO": logging.INFO,
    "WARN": logging.WARNING,
    "WARNING": logging.WARNING,
    "ERROR": logging.ERROR,
    "FATAL": logging.CRITICAL,
    "CRITICAL": logging.CRITICAL,
}
FORMATS = ("console", "long", "json")

#: The data ID being processed, shown by the long and JSON formats.
currentDataId: ContextVar[Any] = ContextVar("pipetask_data_id", default=None)


@contextmanager
def dataIdContext(dataId: Any):
    """Label every log line in this scope with ``dataId``."""
    token = currentDataId.set(dataId)
    try:
        yield
    finally:
        currentDataId.reset(token)


def parseLevel(text: str) -> tuple[str, int]:
    """Read one ``-L`` value: ``"INFO"`` -> ``("", 20)``; ``"a.b=DEBUG"`` -> ``("a.b", 10)``."""
    component, sep, level = text.rpartition("=")
    if not sep:
        component, level = "", text
    value = LEVELS.get(level.strip().upper())
    if value is None:
        raise ConfigError(
            f"bad log level {level!r} in -L {text}: choose from DEBUG, INFO, WARN, ERROR, FATAL"
        )
    return component.strip(), value


def _addContext(logger: Any, method: str, eventDict: dict) -> dict:
    record = eventDict.get("_record")
    if record is not None:
        eventDict.setdefault("logger", record.name)
        eventDict.setdefault("level", record.levelname)
        eventDict.setdefault("file", record.filename)
        eventDict.setdefault("line", record.lineno)
    dataId = getattr(record, "dataId", None) or currentDataId.get()
    if dataId is not None:
        eventDict["dataId"] = dataId
    return eventDict


def _console(logger: Any, method: str, eventDict: dict) -> str:
    text = f"{eventDict.get('logger', 'root')}: {eventDict.get('event', '')}"
    return _withException(text, eventDict)


def _consoleWithDataId(logger: Any, method: str, eventDict: dict) -> str:
    """The console line with its data ID after the logger name (runs of several processes)."""
    dataId = eventDict.get("dataId")
    if not isinstance(dataId, dict):
        return _console(logger, method, eventDict)
    label = " ".join(f"{k}={v}" for k, v in dataId.items())
    text = f"{eventDict.get('logger', 'root')} ({label}): {eventDict.get('event', '')}"
    return _withException(text, eventDict)


#: Third-party loggers that -L DEBUG (global) leaves at INFO: their DEBUG output is about
#: their own internals (compilers, event loops, schedulers), not what a task does. Naming one
#: with -L COMPONENT=LEVEL still sets it.
QUIET_LIBRARIES = ("numba", "asyncio", "matplotlib", "PIL", "fsspec", "distributed", "tornado")


def _long(logger: Any, method: str, eventDict: dict) -> str:
    label = f" ({eventDict['dataId']})" if "dataId" in eventDict else ""
    where = f"({eventDict.get('file', '?')}:{eventDict.get('line', '?')})"
    text = (
        f"{eventDict.get('level', ''):<5} {eventDict.get('timestamp', '')} "
        f"{eventDict.get('logger', 'root')}{label} {where} - {eventDict.get('event', '')}"
    )
    return _withException(text, eventDict)


def _withException(text: str, eventDict: dict) -> str:
    exception = eventDict.get("exception")
    return f"{text}\n{exception.rstrip()}" if exception else text


class _ConsoleFormatter(logging.Formatter):
    """The console renderings without structlog, whose import (asyncio included) a run
    that logs only to the console does not need."""

    def __init__(self, renderer: Any) -> None:
        super().__init__()
        self.renderer = renderer

    def format(self, record: logging.LogRecord) -> str:
        eventDict = _addContext(None, "", {"_record": record, "event": record.getMessage()})
        if record.exc_info:
            eventDict["exception"] = self.formatException(record.exc_info)
        return self.renderer(None, "", eventDict)


def _formatter(fmt: str, labelDataIds: bool = False) -> logging.Formatter:
    if fmt == "console":
        return _ConsoleFormatter(_consoleWithDataId if labelDataIds else _console)
    import structlog

    pre = [
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _addContext,
        structlog.processors.format_exc_info,
    ]
    if fmt == "json":
        renderer: Any = structlog.processors.JSONRenderer(sort_keys=False)
        pre.append(structlog.processors.EventRenamer("message"))
    else:
        renderer = _long
    return structlog.stdlib.ProcessorFormatter(
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        foreign_pre_chain=pre,
    )


def configureLogging(
    levels: list[str] | tuple[str, ...] = (),
    fmt: str = "console",
    logFile: str | None = None,
    stream: TextIO | None = None,
    labelDataIds: bool = False,
) -> None:
    """Send log lines to ``stream`` (stderr) and optionally ``logFile``, at ``levels``.

    ``levels`` are ``-L`` values: ``LEVEL`` for everything or ``COMPONENT=LEVEL``; later
    values win. The default level is INFO. With ``labelDataIds`` (runs of several
    processes), console lines carry their data ID: ``exampleTask.stats (visit=1 filter=g): ...``.
    """
    if fmt not in FORMATS:
        raise ConfigError(f"unknown log format {fmt!r}: choose from {', '.join(FORMATS)}")
    parsed = [parseLevel(text) for text in levels]
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_pipetask", False):
            root.removeHandler(handler)
            handler.close()
    handlers: list[logging.Handler] = [logging.StreamHandler(stream or sys.stderr)]
    if logFile:
        try:
            handlers.append(logging.FileHandler(logFile, encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"cannot open log file {logFile!r}: {exc.strerror}") from None
    formatter = _formatter(fmt, labelDataIds)
    for handler in handlers:
        handler.setFormatter(formatter)
        handler._pipetask = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(logging.INFO)
    for component, level in parsed:
        logging.getLogger(component or None).setLevel(level)
    named = {component.partition(".")[0] for component, _ in parsed}
    if root.level < logging.INFO:
        for name in QUIET_LIBRARIES:
            if name not in named:
                logging.getLogger(name).setLevel(logging.INFO)


def currentLevels(skip: tuple[str, ...] = ()) -> dict[str, int]:
    """The log levels set in this process (``-L``), by logger name, to repeat in workers.

    Only plain loggers count: a library with a logger class of its own (astropy's) sets
    its level itself, and a plain logger made under its name in a worker before the
    library is imported would break the library's import there. Loggers under the
    top-level names in ``skip`` are left out too.
    """
    levels = {"": logging.getLogger().level}
    for name, logger in logging.Logger.manager.loggerDict.items():
        plain = type(logger) is logging.Logger and logger.level != logging.NOTSET
        if plain and name.partition(".")[0] not in skip:
            levels[name] = logger.level
    return levels
