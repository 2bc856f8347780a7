"""The core's own plugin: built-ins registered through the same hooks as any third party."""

from __future__ import annotations

from .plugins import Description, hookimpl


@hookimpl
def pipetask_formats():
    """TOML and JSON storage formats for configs, metadata and small results."""
    return [
        Description("toml", "pipetask.butler.formats:TomlFormat", "TOML documents"),
        Description("json", "pipetask.butler.formats:JsonFormat", "JSON documents"),
    ]


@hookimpl
def pipetask_executors():
    """Serial execution and a pool of local processes (``-j N``)."""
    return [
        Description("serial", "pipetask.execution.serial:SerialExecutor", "one data ID at a time"),
        Description(
            "process", "pipetask.execution.pool:ProcessExecutor", "a pool of local processes (-j N)"
        ),
    ]
