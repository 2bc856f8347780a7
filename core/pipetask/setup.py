"""Setting up a run: where it reads and writes, and the effective config, before anything runs."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import applyOverride
from .errors import ButlerError, ConfigError

log = logging.getLogger("pipetask")

if TYPE_CHECKING:
    from .butler import Butler
    from .config import Config
    from .runner import RunOptions

#: The one place inside an input repository meant for outputs: ``REPO/rerun/NAME``.
RERUN_DIR = "rerun"


@dataclass(frozen=True)
class RunPaths:
    """The absolute repository paths of a run; ``output`` is where it writes."""

    repo: str
    output: str
    calib: str | None
    outputGiven: bool


def runPaths(options: RunOptions) -> RunPaths:
    """The run's repositories (under ``$PIPE_*_ROOT`` when relative), checked.

    ``--output`` may not be the input repository or lie inside it (the input is never
    modified by a run with ``--output``), except in the input's ``rerun/NAME`` area.
    """
    from .runner import rootedPath

    repo = rootedPath(options.repo, "PIPE_INPUT_ROOT")
    output = rootedPath(options.output, "PIPE_OUTPUT_ROOT")
    calib = rootedPath(options.calib, "PIPE_CALIB_ROOT")
    assert repo is not None
    for what, path in (("repository", repo), ("calib repository", calib)):
        if path is not None and not os.path.isdir(path):
            raise ButlerError(f"{what} {path!r} not found")
    if output is not None:
        _checkOutputPlace(Path(repo).resolve(), Path(output).resolve(), options.output)
    return RunPaths(repo, output or repo, calib, output is not None)


def _checkOutputPlace(repo: Path, output: Path, given: str | None) -> None:
    if output == repo:
        raise ConfigError(
            f"--output {given} is the input repository, which a run with --output never "
            f"modifies; leave --output out to write into the input, or name another place"
        )
    if output.is_relative_to(repo):
        parts = output.relative_to(repo).parts
        if parts[0] != RERUN_DIR or len(parts) < 2:
            raise ConfigError(
                f"--output {given} lies inside the input repository {str(repo)!r}, which a "
                f"run with --output never modifies; use a place outside it, or "
                f"{RERUN_DIR}/NAME inside it"
            )


def inputCamera(paths: RunPaths) -> Any:
    """The camera of the input repository (read from its ``repo.toml`` alone)."""
    from .butler.camera import loadCamera
    from .butler.repository import readRepoConfig

    return loadCamera(readRepoConfig(paths.repo)["camera"])


def openButler(paths: RunPaths) -> Butler:
    """The Butler of the run: reads the input chain, writes ``paths.output``."""
    from .butler import Butler

    output = paths.output if paths.outputGiven else None
    return Butler(paths.repo, output=output, calib=paths.calib)


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


def taskWrites(taskClass: type) -> bool:
    """Whether running ``taskClass`` writes into the output (datasets, config, metadata)."""
    return any(
        getattr(taskClass, attr, default)
        for attr, default in (("storeConfig", True), ("storeMetadata", True))
    ) or bool(getattr(taskClass, "outputDatasetTypes", ()))


def chooseExecutor(taskClass: type, options: RunOptions) -> Any:
    """The executor the options ask for, exactly, or a one-line refusal.

    ``--executor`` names it; without it ``-j N > 1`` or ``--timeout`` choose the process
    pool (a timeout needs a worker process that can be stopped) and otherwise ``serial``.
    A task that cannot run in parallel runs in one process (with a warning for ``-j``);
    an option the chosen executor does not honour is refused.
    """
    from .plugins import load_item

    processes = options.processes
    parallel = getattr(taskClass, "canMultiprocess", True)
    if not parallel and processes > 1:
        log.warning("This task does not support multiprocessing; using one process")
        processes = 1
    name = options.executor
    if name is None:
        name = "process" if processes > 1 or options.timeout is not None else "serial"
    executorClass = load_item("executor", name)
    if not parallel and name not in ("serial", "process"):
        raise ConfigError(
            f"task {options.task!r} cannot run in parallel, so not on --executor {name}; "
            f"leave --executor out"
        )
    supports = getattr(executorClass, "supports", frozenset({"processes", "timeout"}))
    asked = {
        "processes": (processes > 1, f"-j {processes}"),
        "timeout": (options.timeout is not None, "--timeout"),
        "scheduler": (options.scheduler is not None, "--scheduler"),
    }
    for setting, (given, option) in asked.items():
        if given and setting not in supports:
            hint = {
                "timeout": " (a timeout needs a worker process: use --executor process)",
                "scheduler": " (a scheduler address is for --executor dask)",
                "processes": "",
            }[setting]
            raise ConfigError(f"--executor {name} does not support {option}{hint}")
    settings: dict[str, Any] = {"timeout": options.timeout}
    if options.scheduler is not None:
        settings["scheduler"] = options.scheduler
    why = "--executor" if options.executor else f"-j {options.processes}"
    if not parallel:
        why = "the task cannot run in parallel"
    elif name == "process" and not options.executor and processes == 1:
        why = "--timeout needs a worker process that can be stopped"
    log.debug("executor %s (%s): %d process(es), settings %s", name, why, processes, settings)
    return executorClass(processes=processes, **settings)
