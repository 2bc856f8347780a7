"""Declarative, validated task configuration stored as TOML (never executed).

The names and behaviour follow LSST's pex_config, so a config class written for it works
with the import changed (``import pipetask.config as pexConfig``); see the porting guide
in ``docs/writing_a_task.md``.
"""

from ..errors import FieldValidationError, UnexpectedProxyUsageError
from .choice import (
    ConfigChoiceField,
    ConfigurableWrapper,
    Registry,
    RegistryError,
    RegistryField,
    makeRegistry,
    registerConfigurable,
)
from .config import (
    Config,
    FieldNode,
    UnknownFieldError,
    compareConfigs,
    resolveField,
    validateForTask,
    walk,
)
from .configdict import ConfigDictField
from .containers import DictField, ListField
from .fields import ChoiceField, Field, RangeField
from .nested import ConfigField, ConfigurableField, ConfigurableInstance
from .overrides import applyOverride

__all__ = [
    "ChoiceField",
    "Config",
    "ConfigChoiceField",
    "ConfigDictField",
    "ConfigField",
    "ConfigurableField",
    "ConfigurableInstance",
    "ConfigurableWrapper",
    "DictField",
    "Field",
    "FieldNode",
    "FieldValidationError",
    "ListField",
    "RangeField",
    "Registry",
    "RegistryError",
    "RegistryField",
    "UnexpectedProxyUsageError",
    "UnknownFieldError",
    "applyOverride",
    "compareConfigs",
    "makeRegistry",
    "registerConfigurable",
    "resolveField",
    "validateForTask",
    "walk",
]
