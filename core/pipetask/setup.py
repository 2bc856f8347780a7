"""Setting up a run: the repository and the effective config, before anything runs."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from .config import applyOverride
from .errors import ButlerError, ConfigError, PipetaskError

if TYPE_CHECKING:
    from .butler import Butler
    from .config import Config
    from .runner import RunOptions


def openButler(options: RunOptions) -> Butler:
    """The Butler of ``options.repo`` (with output and calib), or a clear error."""
    from .butler import Butler
    from .runner import rootedPath

    repo = rootedPath(options.repo, "PIPE_INPUT_ROOT")
    output = rootedPath(options.output, "PIPE_OUTPUT_ROOT")
    calib = rootedPath(options.calib, "PIPE_CALIB_ROOT")
    for what, path in (("repository", repo), ("calib repository", calib)):
        if path is not None and not os.path.isdir(path):
            raise ButlerError(f"{what} {path!r} not found")
    return Butler(repo, output=output, calib=calib)


def applyOverrides(taskClass: type, options: RunOptions, camera: Any) -> Config:
    """The task's config after camera overrides, then every -C and -c in order."""
    config = taskClass.ConfigClass()
    taskName = options.task
    if camera is not None:
        for path in camera.configOverrideFiles(taskName):
            config.loadToml(str(path), label="camera override", task=taskName)
    for kind, value in options.overrides:
        if kind == "file":
            config.loadToml(value, label="-C", task=taskName)
        else:
            applyOverride(config, value)
    return config


def validateConfig(config: Config, taskName: str) -> None:
    """``config.validate()``; a ``ValueError`` or ``TypeError`` raised by a task's own
    ``validate()`` (as pex_config configs raise them) is a config error of that task."""
    try:
        config.validate()
    except (PipetaskError, ValueError, TypeError) as exc:
        raise ConfigError(f"invalid config of task {taskName!r}: {exc}") from None
