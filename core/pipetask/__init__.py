"""pipetask: tasks, configs and data repositories for astronomical data processing.

The core is small and imports no numpy or astropy; images, statistics, cameras and
executors come from plugins found through the entry-point group ``pipetask``.
"""

from __future__ import annotations

import importlib

TYPE_CHECKING = False  # not typing's: importing typing costs the command's start-up

#: Public name -> submodule that defines it. Names load on first use, so that the
#: ``pipetask`` command (``pipetask.cli``) starts without loading the config machinery.
_EXPORTS = {
    **dict.fromkeys(
        [
            "ChoiceField",
            "Config",
            "ConfigChoiceField",
            "ConfigField",
            "ConfigurableField",
            "DictField",
            "Field",
            "ListField",
            "RangeField",
            "Registry",
            "RegistryField",
            "makeRegistry",
            "registerConfigurable",
        ],
        "config",
    ),
    **dict.fromkeys(
        [
            "ButlerError",
            "ConfigError",
            "DataIdError",
            "FieldValidationError",
            "PipetaskError",
            "PluginError",
            "TaskError",
        ],
        "errors",
    ),
    "Description": "plugins",
    "hookimpl": "plugins",
    "Struct": "struct",
    "Task": "task",
    "timeMethod": "timer",
    "Butler": "butler",
}

if TYPE_CHECKING:
    from typing import Any

    from .butler import Butler
    from .config import (
        ChoiceField,
        Config,
        ConfigChoiceField,
        ConfigField,
        ConfigurableField,
        DictField,
        Field,
        ListField,
        RangeField,
        Registry,
        RegistryField,
        makeRegistry,
        registerConfigurable,
    )
    from .errors import (
        ButlerError,
        ConfigError,
        DataIdError,
        FieldValidationError,
        PipetaskError,
        PluginError,
        TaskError,
    )
    from .plugins import Description, hookimpl
    from .struct import Struct
    from .task import Task
    from .timer import timeMethod

__version__ = "0.1.0"

__all__ = [
    "Butler",
    "ButlerError",
    "ChoiceField",
    "Config",
    "ConfigChoiceField",
    "ConfigError",
    "ConfigField",
    "ConfigurableField",
    "DataIdError",
    "Description",
    "DictField",
    "Field",
    "FieldValidationError",
    "ListField",
    "PipetaskError",
    "PluginError",
    "RangeField",
    "Registry",
    "RegistryField",
    "Struct",
    "Task",
    "TaskError",
    "hookimpl",
    "makeRegistry",
    "registerConfigurable",
    "timeMethod",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'pipetask' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
