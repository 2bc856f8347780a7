"""pipetask: tasks, configs and data repositories for astronomical data processing.

The core is small and imports no numpy or astropy; images, statistics, cameras and
executors come from plugins found through the entry-point group ``pipetask``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

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

if TYPE_CHECKING:
    from .butler import Butler

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
    # The Butler pulls in sqlite3; load it only when asked for.
    if name == "Butler":
        from .butler import Butler

        return Butler
    raise AttributeError(f"module 'pipetask' has no attribute {name!r}")
