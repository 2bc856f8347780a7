"""Setting up a run: where it reads and writes and which executor runs it, before anything
runs."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ButlerError, ConfigError

log = logging.getLogger("pipetask")

#: The one place inside an input repository meant for outputs: ``REPO/rerun/NAME``.
RERUN_DIR = "rerun"


@dataclass(frozen=True)
class RunPaths:
    """The absolute repository paths of a run; ``output`` is where it writes."""

    repo: str
    output: str
    calib: str | None
    outputGiven: bool


def rootedPath(path: str | None, envName: str) -> str | None:
    """``path`` under ``$envName`` when it is relative and the variable is set."""
    if path is None:
        return None
    from .butler.repository import checkPathEncoding

    base = os.environ.get(envName)
    if base and not os.path.isabs(path):
        path = os.path.join(base, path)
    checkPathEncoding(path)  # refused before anything is created under it
    return os.path.abspath(path)


def runPaths(repo: str, output: str | None, calib: str | None) -> RunPaths:
    """The run's repositories (under ``$PIPE_*_ROOT`` when relative), checked.

    ``--output`` may not be the input repository or lie inside it (the input is never
    modified by a run with ``--output``), except in the input's ``rerun/NAME`` area.
    """
    given = output
    repo = rootedPath(repo, "PIPE_INPUT_ROOT")  # type: ignore[assignment]
    output = rootedPath(output, "PIPE_OUTPUT_ROOT")
    calib = rootedPath(calib, "PIPE_CALIB_ROOT")
    assert repo is not None
    for what, path in (("repository", repo), ("calib repository", calib)):
        if path is not None and not os.path.isdir(path):
            raise ButlerError(f"{what} {path!r} not found")
    if output is not None:
        _checkOutputPlace(Path(repo).resolve(), Path(output).resolve(), given)
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


@dataclass(frozen=True)
class ExecutorRequest:
    """What the command line asks of the executor: ``--executor``, ``-j``, ``--timeout``,
    ``--scheduler``."""

    name: str | None = None
    processes: int = 1
    timeout: float | None = None
    scheduler: str | None = None


def chooseExecutor(request: ExecutorRequest, serialLabel: str | None = None) -> Any:
    """The executor the request asks for, exactly, or a one-line refusal.

    ``--executor`` names it; without it ``-j N > 1`` or ``--timeout`` choose the process
    pool (a timeout needs a worker process that can be stopped) and otherwise ``serial``.
    ``serialLabel`` names a label whose task cannot run in parallel: the run then uses one
    process (with a warning for ``-j``); an option the chosen executor does not honour is
    refused.
    """
    from .plugins import load_item

    processes = request.processes
    parallel = serialLabel is None
    if not parallel and processes > 1:
        log.warning("This task does not support multiprocessing; using one process")
        processes = 1
    name = request.name
    if name is None:
        name = "process" if processes > 1 or request.timeout is not None else "serial"
    executorClass = load_item("executor", name)
    if not parallel and name not in ("serial", "process"):
        raise ConfigError(
            f"task {serialLabel!r} cannot run in parallel, so not on --executor {name}; "
            f"leave --executor out"
        )
    supports = getattr(executorClass, "supports", frozenset({"processes", "timeout"}))
    asked = {
        "processes": (processes > 1, f"-j {processes}"),
        "timeout": (request.timeout is not None, "--timeout"),
        "scheduler": (request.scheduler is not None, "--scheduler"),
    }
    for setting, (given, option) in asked.items():
        if given and setting not in supports:
            hint = {
                "timeout": " (a timeout needs a worker process: use --executor process)",
                "scheduler": " (a scheduler address is for --executor dask)",
                "processes": "",
            }[setting]
            raise ConfigError(f"--executor {name} does not support {option}{hint}")
    settings: dict[str, Any] = {"timeout": request.timeout}
    if request.scheduler is not None:
        settings["scheduler"] = request.scheduler
    why = "--executor" if request.name else f"-j {request.processes}"
    if not parallel:
        why = f"{serialLabel} cannot run in parallel"
    elif name == "process" and not request.name and processes == 1:
        why = "--timeout needs a worker process that can be stopped"
    log.debug("executor %s (%s): %d process(es), settings %s", name, why, processes, settings)
    return executorClass(processes=processes, **settings)
