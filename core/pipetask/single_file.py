"""``pipetask run TASK --file PATH [--file PATH ...]``: run a task on files, without a
repository.

Each FITS file is shown to the installed cameras: the one that recognises it (by its name
and header, as ingest would) gives it a data ID and its config override files, so a file
gets the figures a repository run of it gets. The run says which camera it took, or that
none recognised the file (then only the task's defaults, ``-C`` and ``-c`` apply).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import validateForTask
from .dataid import formatDataId
from .errors import ButlerError, ConfigError, NoResults, PipetaskError

if TYPE_CHECKING:
    from .butler.camera import Camera
    from .config import Config
    from .runner import RunOptions

log = logging.getLogger("pipetask")

#: Storage format used for a file, by the end of its name.
FORMATS_BY_SUFFIX = {
    ".fits": "fits",
    ".fits.gz": "fits",
    ".fit": "fits",
    ".fz": "fits",
    ".toml": "toml",
    ".json": "json",
}


def formatFor(path: str) -> str:
    """The storage format name of ``path`` from its suffix."""
    for suffix in sorted(FORMATS_BY_SUFFIX, key=len, reverse=True):
        if path.lower().endswith(suffix):
            return FORMATS_BY_SUFFIX[suffix]
    raise ConfigError(
        f"--file {path}: unknown file type; expected one of {', '.join(FORMATS_BY_SUFFIX)}"
    )


class FileButler:
    """What a task on a bare file sees of "its Butler": the file's camera (or none) and
    the output directory; there is no registry and no calibration repository."""

    def __init__(self, camera: Camera | None, outputDir: str) -> None:
        self._camera = camera
        self.outputRoot = Path(outputDir)

    @property
    def camera(self) -> Camera:
        if self._camera is None:
            raise ConfigError(
                "no installed camera recognises the --file, and this task needs the camera's "
                "description; ingest the file into a repository of its camera instead"
            )
        return self._camera


class FileDataRef:
    """A data reference to one file: ``get`` of the task's input dataset type reads the
    file (any other dataset type does not exist here); ``put`` writes
    ``<datasetType>.<ext>`` into the output directory (FITS for an image, TOML for a
    config, else JSON).

    ``dataId`` is the data ID the file's camera gives it, with the file's name.
    """

    def __init__(
        self,
        path: str,
        outputDir: str,
        dataId: dict[str, Any] | None = None,
        camera: Camera | None = None,
        inputType: str | None = None,
    ) -> None:
        self.path = path
        self.outputDir = outputDir
        self.dataId = {**(dataId or {}), "file": os.path.basename(path)}
        self._butler = FileButler(camera, outputDir)
        self._inputs = {None, inputType or (camera.rawDatasetType if camera else "raw")}

    def getButler(self) -> FileButler:
        """The file's camera and output directory (see :class:`FileButler`)."""
        return self._butler

    def get(self, datasetType: str | None = None, **kw: Any) -> Any:
        from .plugins import load_item

        if datasetType not in self._inputs:
            raise NoResults(
                f"no {datasetType!r} for --file {os.path.basename(self.path)}: a file "
                "given alone has no repository to hold it; run on a repository (with "
                "--calib for calibrations) or turn off what needs it"
            )
        start = time.perf_counter()
        obj = load_item("format", formatFor(self.path))().read(self.path)
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "read %s %s: %s (%d bytes) in %.4f s",
                datasetType,
                self.dataId,
                self.path,
                os.path.getsize(self.path),
                time.perf_counter() - start,
            )
        return obj

    def getUri(self, datasetType: str | None = None, write: bool = False) -> Path:
        if datasetType in self._inputs:
            return Path(self.path)
        self.get(datasetType)  # raises: nothing else exists here
        return Path(self.path)

    def put(self, obj: Any, datasetType: str | None = None, **kw: Any) -> str:
        from .butler.atomic import writeAtomic
        from .plugins import load_item

        fmt = _formatOf(obj, datasetType, self._butler._camera)
        suffix = {"fits": "fits"}.get(fmt, fmt)
        path = os.path.join(self.outputDir, f"{datasetType}.{suffix}")
        writer = load_item("format", fmt)()
        os.makedirs(self.outputDir, exist_ok=True)
        writeAtomic(path, lambda tmp: writer.write(obj, tmp))
        log.info("wrote %s", path)
        log.debug(
            "wrote %s %s: %s (%d bytes)", datasetType, self.dataId, path, os.path.getsize(path)
        )
        return path

    def datasetExists(self, datasetType: str | None = None, **kw: Any) -> bool:
        return datasetType in self._inputs and os.path.exists(self.path)


def _formatOf(obj: Any, datasetType: str | None, camera: Camera | None) -> str:
    """The storage format of an output: the camera's for its dataset type, else TOML for
    a config and JSON for anything else."""
    declared = camera.datasetType(datasetType) if camera and datasetType else None
    if declared is not None:
        return declared.format
    return "toml" if callable(getattr(obj, "toToml", None)) else "json"


def fileCamera(path: str, taskName: str) -> tuple[Camera | None, dict[str, Any] | None]:
    """The installed camera that recognises ``path`` (by its name and header) and the data
    ID it gives the file; ``(None, None)`` when none does. Says which camera it took."""
    from .butler.camera import loadCamera
    from .plugins import catalog

    if not os.path.isfile(path) or formatFor(path) != "fits":
        return None, None
    found = []
    for name in catalog().names("camera"):
        try:
            camera = loadCamera(name)
            _, dataId = camera.identify(path)
        except PipetaskError:
            continue
        found.append((camera, dataId))
    if not found:
        log.info(
            "--file %s: no installed camera recognises it; no camera overrides apply",
            os.path.basename(path),
        )
        return None, None
    camera, dataId = found[0]
    others = f" (also recognised by {', '.join(c.name for c, _ in found[1:])})" if found[1:] else ""
    overrides = [str(p) for p in camera.configOverrideFiles(taskName)]
    log.info(
        "--file %s: camera %r%s, data ID %s; camera override files: %s",
        os.path.basename(path),
        camera.name,
        others,
        formatDataId(dataId),
        ", ".join(overrides) or "none",
    )
    return camera, dataId


def runOnFiles(
    taskClass: type, options: RunOptions, makeConfig: Callable[[Camera | None], Config]
) -> int:
    """Run the task once on each ``--file``, with the config ``makeConfig`` builds for the
    file's camera; the number of failures (0 when all succeeded)."""
    from .debug import checkTables, findDefaultFile, loadDebugFile, runNames
    from .profiling import profiling

    paths = [os.path.abspath(p) for p in options.file or []]
    for given, path in zip(options.file or [], paths, strict=True):
        if not os.path.isfile(path):
            raise ButlerError(f"--file {given}: no such file")
    if len(set(paths)) != len(paths):
        raise ConfigError("--file: the same file is given more than once")
    prepared = []
    cameras: dict[str, Camera | None] = {}
    inputType = getattr(taskClass, "inputDatasetType", None)
    configs: dict[str | None, Config] = {}
    for path in paths:
        camera, dataId = fileCamera(path, options.task)
        cameras[path] = camera
        key = None if camera is None else camera.name
        if key not in configs:
            config = makeConfig(camera)
            validateForTask(config, options.task)
            config.freeze()
            configs[key] = config
        prepared.append((path, dataId, configs[key]))
    debugFile = options.debugFile or findDefaultFile() if options.debug else None
    if debugFile:
        loadDebugFile(debugFile)
        checkTables(debugFile, runNames(options.task, taskClass, prepared[0][2]))
    output = os.path.abspath(options.output or ".")
    tasks: dict[int, Any] = {}
    failures = 0
    with profiling(options.profile):
        for given, (path, dataId, config) in zip(options.file or [], prepared, strict=True):
            task = tasks.get(id(config))
            if task is None:
                task = tasks[id(config)] = taskClass(config=config)
            outputDir = output if len(paths) == 1 else os.path.join(output, _stem(path))
            ref = FileDataRef(path, outputDir, dataId, cameras.get(path), inputType)
            failures += _runOne(task, ref, given, options)
    if len(paths) > 1:
        log.info("%s: %d of %d files succeeded", options.task, len(paths) - failures, len(paths))
    return min(failures, 100)


def _stem(path: str) -> str:
    """The file name without its FITS/TOML/JSON suffix (``raw_v1_fg``)."""
    name = os.path.basename(path)
    for suffix in sorted(FORMATS_BY_SUFFIX, key=len, reverse=True):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def _runOne(task: Any, ref: FileDataRef, given: str, options: RunOptions) -> int:
    """Run ``task`` on one file; 1 if it failed (logged), 0 otherwise."""
    start = time.perf_counter()
    try:
        task.runDataRef(ref)
    except Exception as exc:
        if options.doraise:
            raise
        log.error("Failed on file %s: %s: %s", given, type(exc).__name__, exc)
        return 1
    log.info("%s: processed %s in %.2f s", options.task, given, time.perf_counter() - start)
    return 0
