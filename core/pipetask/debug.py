"""Debug variables (``--debug``), distinct from log levels.

A task asks ``pipetask.debug.Info(self.getFullName()).display``; a variable never set is
``False``. Variables come from a TOML file::

    [exampleTask]
    display = true

    [exampleTask.stats]   # a subtask, by its full name
    display = true

or, as in the original, from a ``debug.py`` that sets ``Info(name).display = True`` or
replaces ``pipetask.debug.Info`` with its own function; the ``lsstDebug`` module shipped with
pipetask lets an LSST ``debug.py`` (``import lsstDebug``, ``lsstDebug.Info = DebugInfo``) run
unchanged. Tasks ask :func:`taskInfo`, which answers to the task's full name, its module and
any LSST module name the task declares in ``debugNames``. ``pipetask run --debug`` reads
``debug.toml`` (else ``debug.py``) from the working directory (else ``debug.py`` from
``$PYTHONPATH``, as the original did), or the file given with
``--debug-file``.
"""

from __future__ import annotations

import importlib.util
import os
import tomllib
from typing import Any

from .errors import ConfigError

DEFAULT_FILES = ("debug.toml", "debug.py")


class DebugInfo:
    """The debug variables of one task or module; unknown ones are ``False``."""

    def __init__(self, name: str) -> None:
        object.__setattr__(self, "_name", name)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return False

    def __repr__(self) -> str:
        items = {k: v for k, v in vars(self).items() if not k.startswith("_")}
        return f"DebugInfo({self._name!r}, {items})"


_infos: dict[str, DebugInfo] = {}


def getInfo(name: str) -> DebugInfo:
    """The debug variables of ``name`` (made on first use)."""
    info = _infos.get(name)
    if info is None:
        info = _infos[name] = DebugInfo(name)
    return info


#: What tasks call; a ``debug.py`` may replace it (``pipetask.debug.Info = myInfo``).
Info = getInfo


class TaskDebugInfo:
    """The debug variables of a task under each name it answers to: a variable is the first
    one set (not False) among ``Info(name)`` for its full name, its module, then the names
    in the task's ``debugNames`` (such as the LSST module an LSST ``debug.py`` tests for)."""

    def __init__(self, names: list[str]) -> None:
        object.__setattr__(self, "_names", names)

    def __getattr__(self, variable: str) -> Any:
        if variable.startswith("__"):
            raise AttributeError(variable)
        for name in self._names:
            value = getattr(Info(name), variable, False)
            if value is not False:
                return value
        return False


def taskInfo(task: Any) -> TaskDebugInfo:
    """The debug variables of ``task`` (see :class:`TaskDebugInfo`)."""
    names = [task.getFullName(), type(task).__module__, *getattr(task, "debugNames", ())]
    return TaskDebugInfo(list(dict.fromkeys(names)))


def reset() -> None:
    """Forget every debug variable (and any replacement of :data:`Info`)."""
    global Info
    _infos.clear()
    Info = getInfo


def findDefaultFile(directory: str = ".") -> str | None:
    """``debug.toml`` or ``debug.py`` in ``directory``, else a ``debug.py`` in a directory
    of ``$PYTHONPATH`` (where the original looked for it), if there is one."""
    for name in DEFAULT_FILES:
        path = os.path.join(directory, name)
        if os.path.isfile(path):
            return os.path.abspath(path)
    for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep):
        path = os.path.join(entry, "debug.py")
        if entry and os.path.isfile(path):
            return os.path.abspath(path)
    return None


def loadDebugFile(path: str) -> None:
    """Set debug variables from a TOML file or run a ``debug.py`` module."""
    if path.endswith(".py"):
        spec = importlib.util.spec_from_file_location("debug", path)
        if spec is None or spec.loader is None:
            raise ConfigError(f"cannot load debug file {path!r}")
        module = importlib.util.module_from_spec(spec)
        try:
            spec.loader.exec_module(module)
        except FileNotFoundError:
            raise ConfigError(f"debug file {path!r} not found") from None
        except Exception as exc:  # the user's debug.py failed
            raise ConfigError(f"debug file {path}: {type(exc).__name__}: {exc}") from None
        return
    try:
        with open(path, "rb") as stream:
            data = tomllib.load(stream)
    except FileNotFoundError:
        raise ConfigError(f"debug file {path!r} not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    for name, variables in data.items():
        if not isinstance(variables, dict):
            raise ConfigError(
                f"{path}: [{name}] must be a table of debug variables, not {variables!r}"
            )
        _setVariables(name, variables)


def runNames(taskName: str, taskClass: type, config: Any) -> list[str]:
    """Every name the tasks of a run answer to in a debug file: full names (``exampleTask``,
    ``exampleTask.stats``), modules and declared ``debugNames``."""
    from .config.nested import ConfigurableField

    names: list[str] = []

    def add(fullName: str, target: Any, cfg: Any) -> None:
        names.extend([fullName, target.__module__, *getattr(target, "debugNames", ())])
        for name, fieldObj in cfg._fields.items():
            if isinstance(fieldObj, ConfigurableField):
                instance = cfg._storage[name]
                add(f"{fullName}.{name}", instance.target, instance.value)

    add(taskName, taskClass, config)
    return list(dict.fromkeys(names))


def checkTables(path: str, names: list[str]) -> None:
    """Report the tables of a TOML debug file that name no task of the run.

    A table close to a task's name is a misspelling: :class:`ConfigError` with a "did you
    mean". Any other is left alone with a warning (a shared debug file may well hold the
    variables of other tasks).
    """
    if path.endswith(".py"):
        return
    import difflib
    import logging

    with open(path, "rb") as stream:
        data = tomllib.load(stream)
    for table in _tableNames(data):
        if table in names or any(n.startswith(table + ".") for n in names):
            continue
        close = difflib.get_close_matches(table, names, n=1, cutoff=0.75)
        if close:
            raise ConfigError(
                f"debug file {path}: [{table}] names no task of this run "
                f"(did you mean [{close[0]}]?)"
            )
        logging.getLogger("pipetask").warning(
            "debug file %s: [%s] names no task of this run; its variables are unused", path, table
        )


def _tableNames(data: dict[str, Any], prefix: str = "") -> list[str]:
    """Full names of the tables that set variables (``exampleTask``, ``exampleTask.stats``)."""
    found = []
    for key, value in data.items():
        if isinstance(value, dict):
            name = prefix + key
            if any(not isinstance(v, dict) for v in value.values()):
                found.append(name)
            found.extend(_tableNames(value, name + "."))
    return found


def _setVariables(name: str, table: dict[str, Any]) -> None:
    """Variables of task ``name``; a nested table (``[exampleTask.stats]``) is a subtask."""
    info = getInfo(name)
    for key, value in table.items():
        if isinstance(value, dict):
            _setVariables(f"{name}.{key}", value)
        else:
            setattr(info, key, value)
