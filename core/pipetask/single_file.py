"""``pipetask run TASK --file PATH [--file PATH ...]``: what a task on a bare file sees,
and the job that runs it.

Each FITS file is shown to the installed cameras (:func:`fileCamera`): the one that
recognises it (by its name and header, as ingest would) gives it a data ID and its config
override files, so a file gets the figures a repository run of it gets. The run says
which camera it took, or that none recognised the file (then only the task's defaults,
``-C`` and ``-c`` apply).

A ``--file`` run is a :class:`~pipetask.pipeline.plan.FilePlan` run by the same runner
loop and executors as any other run: the work items are :class:`FileItem` (one per file),
the job is a :class:`FileJob`, whose worker builds the task once per config and hands it
a :class:`FileDataRef`.
"""

from __future__ import annotations

import logging
import os
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .dataid import formatDataId
from .errors import ConfigError, NoResults, PipetaskError
from .execution.base import OK, Outcome
from .execution.failure import failureOutcome
from .logs import dataIdContext

if TYPE_CHECKING:
    from .butler.camera import Camera
    from .pipeline.plan import FilePlan

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
        #: the file's camera, None when no installed camera recognises it
        self.knownCamera = camera
        self.outputRoot = Path(outputDir)

    @property
    def camera(self) -> Camera:
        if self.knownCamera is None:
            raise ConfigError(
                "no installed camera recognises the --file, and this task needs the camera's "
                "description; ingest the file into a repository of its camera instead"
            )
        return self.knownCamera


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
        #: the files ``put`` wrote
        self.written: list[str] = []

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

        fmt = _formatOf(obj, datasetType, self._butler.knownCamera)
        suffix = {"fits": "fits"}.get(fmt, fmt)
        path = os.path.join(self.outputDir, f"{datasetType}.{suffix}")
        writer = load_item("format", fmt)()
        os.makedirs(self.outputDir, exist_ok=True)
        writeAtomic(path, lambda tmp: writer.write(obj, tmp))
        self.written.append(path)
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


def fileStem(path: str) -> str:
    """The file name without its FITS/TOML/JSON suffix (``raw_v1_fg``)."""
    name = os.path.basename(path)
    for suffix in sorted(FORMATS_BY_SUFFIX, key=len, reverse=True):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


class FileItem(dict):
    """The work item of one file: its data ID (a dict, so logs show it as usual) and its
    ``index`` in the plan's files."""

    def __init__(self, index: int, dataId: dict[str, Any]) -> None:
        super().__init__(dataId)
        self.index = index

    def __reduce__(self):
        return (FileItem, (self.index, dict(self)))


def fileItems(plan: FilePlan) -> list[FileItem]:
    """One work item per file of the plan, in command-line order."""
    return [
        FileItem(i, {**f.dataId, "file": os.path.basename(f.path)})
        for i, f in enumerate(plan.files)
    ]


@dataclass(frozen=True)
class FileJob:
    """What every worker of a ``--file`` run needs (picklable): the plan."""

    plan: FilePlan
    key: str = field(default_factory=lambda: uuid.uuid4().hex)

    def makeWorker(self) -> FileWorker:
        """The worker of this job (one per process)."""
        return FileWorker(self)


class FileWorker:
    """Runs a task on files: the task built once per config, a :class:`FileDataRef` per
    file."""

    def __init__(self, job: FileJob) -> None:
        from .debug import loadDebugFile
        from .plugins import load

        self.job = job
        if job.plan.settings.debugFile:
            loadDebugFile(job.plan.settings.debugFile)
        self.taskClass = load(job.plan.target)
        self.tasks: dict[str | None, Any] = {}
        self.cameras: dict[str, Camera] = {}

    def task(self, camera: str | None) -> Any:
        """The task with the config of ``camera``'s files, built once."""
        task = self.tasks.get(camera)
        if task is None:
            config = self.job.plan.configs[camera]
            task = self.tasks[camera] = self.taskClass(config=config)
        return task

    def camera(self, name: str | None) -> Camera | None:
        """The camera called ``name``, loaded once."""
        if name is None:
            return None
        camera = self.cameras.get(name)
        if camera is None:
            from .butler.camera import loadCamera

            camera = self.cameras[name] = loadCamera(name)
        return camera

    def process(self, item: FileItem) -> Outcome:
        """Run the task on one file; never raises for a failure of the task."""
        plan = self.job.plan
        entry = plan.files[item.index]
        start = time.perf_counter()
        taskTime = 0.0
        with dataIdContext(dict(item)):
            try:
                task = self.task(entry.camera)
                ref = FileDataRef(
                    entry.path, entry.outputDir, entry.dataId, self.camera(entry.camera),
                    plan.inputType,
                )  # fmt: skip
                t0 = time.perf_counter()
                try:
                    task.runDataRef(ref)
                finally:
                    taskTime = time.perf_counter() - t0
                outcome = Outcome(item, OK, extra={"written": ref.written})
            except Exception as exc:  # a failing file must not stop the run
                where = f"file {entry.given}"
                doraise = plan.settings.doraise
                outcome = failureOutcome(item, exc, where, entry.outputDir, doraise)
        outcome.taskTime = taskTime
        outcome.duration = time.perf_counter() - start
        return outcome
