"""Declarative, validated task configuration stored as TOML (never executed)."""

from .choice import ConfigChoiceField, Registry, RegistryField, makeRegistry, registerConfigurable
from .config import Config, UnknownFieldError
from .fields import ChoiceField, DictField, Field, ListField, RangeField
from .nested import ConfigField, ConfigurableField, ConfigurableInstance
from .overrides import applyOverride

__all__ = [
    "ChoiceField",
    "Config",
    "ConfigChoiceField",
    "ConfigField",
    "ConfigurableField",
    "ConfigurableInstance",
    "DictField",
    "Field",
    "ListField",
    "RangeField",
    "Registry",
    "RegistryField",
    "UnknownFieldError",
    "applyOverride",
    "makeRegistry",
    "registerConfigurable",
]
