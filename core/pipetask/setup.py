"""Setting up a run: the repository and the effective config, before anything runs."""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

from .config import applyOverride
from .errors import ButlerError

log = logging.getLogger("pipetask")

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
    if options.clobberOutput and output and (not options.show or "run" in options.show):
        from .clobber_output import clobberOutput

        clobberOutput(repo, output)
    return Butler(repo, output=output, calib=calib)


def applyOverrides(taskClass: type, options: RunOptions, camera: Any) -> Config:
    """The task's config after camera overrides, then every -C and -c in order."""
    config = taskClass.ConfigClass()
    taskName = options.task
    if camera is not None:
        for path in camera.configOverrideCandidates(taskName):
            if not path.is_file():
                log.debug("no camera config override file %s (optional)", path)
                continue
            log.debug("applying camera config override file %s", path)
            config.loadToml(str(path), label="camera override")
    for kind, value in options.overrides:
        if kind == "file":
            log.debug("applying config file -C %s", value)
            config.loadToml(value, label="-C")
        else:
            log.debug("applying config override -c %s", value)
            applyOverride(config, value)
    return config
