"""``pipetask run TASK --file PATH``: run a task on one file, without a repository."""

from __future__ import annotations

import logging
import os
import time
from typing import TYPE_CHECKING, Any

from .errors import ButlerError, ConfigError

if TYPE_CHECKING:
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


class FileDataRef:
    """A data reference to one file: ``get`` reads it whatever dataset type is asked for;
    ``put`` writes ``<datasetType>.json`` (or ``.toml``) into the output directory."""

    def __init__(self, path: str, outputDir: str) -> None:
        self.path = path
        self.outputDir = outputDir
        self.dataId = {"file": os.path.basename(path)}

    def get(self, datasetType: str | None = None, **kw: Any) -> Any:
        from .plugins import load_item

        return load_item("format", formatFor(self.path))().read(self.path)

    def put(self, obj: Any, datasetType: str | None = None, **kw: Any) -> str:
        from .plugins import load_item

        fmt = "toml" if callable(getattr(obj, "toToml", None)) else "json"
        from .butler.atomic import writeAtomic

        path = os.path.join(self.outputDir, f"{datasetType}.{fmt}")
        writer = load_item("format", fmt)()
        writeAtomic(path, lambda tmp: writer.write(obj, tmp))
        log.info("wrote %s", path)
        return path

    def datasetExists(self, datasetType: str | None = None, **kw: Any) -> bool:
        return os.path.exists(self.path)


def runOnFile(taskClass: type, config: Config, options: RunOptions) -> int:
    """Run the task once on ``options.file``; 0 on success, 1 on failure."""
    from .debug import findDefaultFile, loadDebugFile

    path = os.path.abspath(options.file)
    if not os.path.isfile(path):
        raise ButlerError(f"--file {options.file}: no such file")
    from .setup import validateConfig

    validateConfig(config, options.task)
    config.freeze()
    if options.debug:
        debugFile = options.debugFile or findDefaultFile()
        if debugFile:
            loadDebugFile(debugFile)
    outputDir = os.path.abspath(options.output or ".")
    task = taskClass(config=config)
    start = time.perf_counter()
    try:
        task.runDataRef(FileDataRef(path, outputDir))
    except Exception as exc:
        if options.doraise:
            raise
        log.error("Failed on file %s: %s: %s", options.file, type(exc).__name__, exc)
        return 1
    log.info("%s: processed %s in %.2f s", options.task, options.file, time.perf_counter() - start)
    return 0
