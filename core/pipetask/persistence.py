"""What a run stores in its output repository besides results: its config and the versions
of the packages it used, each compared with what an earlier run stored."""

from __future__ import annotations

import logging
import sys
from importlib import metadata
from typing import TYPE_CHECKING

from .errors import ConfigError, PipetaskError

if TYPE_CHECKING:
    from .butler import Butler
    from .config import Config

log = logging.getLogger("pipetask")

CLOBBER_HINT = "use --clobber-config to replace it, or write to another --output"


def checkStoredConfig(
    butler: Butler, taskName: str, config: Config, clobber: bool, backup: bool = True
) -> None:
    """Store ``config`` as ``<task>_config``; refuse if a different one is stored.

    Raises
    ------
    ConfigError
        The stored config differs (every difference is listed) or cannot be read,
        and ``clobber`` is false.
    """
    name = f"{taskName}_config"
    if butler.datasetExists(name, {}, write=True):
        path = butler.getUri(name, {}, write=True)
        try:
            with open(path, encoding="utf-8") as stream:
                stored = type(config).fromToml(stream.read(), source=str(path))
            differences = stored.compare(config)
        except (OSError, PipetaskError) as exc:
            if not clobber:
                raise ConfigError(
                    f"cannot read the stored config {path}: {exc}; {CLOBBER_HINT}"
                ) from None
            differences = ["(unreadable)"]
        if not differences:
            return
        if not clobber:
            listed = "\n".join(f"  {line}" for line in differences)
            raise ConfigError(
                f"the config differs from the one stored in {path} (stored != new):\n"
                f"{listed}\n{CLOBBER_HINT}"
            )
        log.info("replacing the stored config %s (--clobber-config)", path)
    butler.put(config, name, {}, doBackup=backup)


def packageVersions(taskClass: type) -> dict[str, str]:
    """Versions of Python, the core, and the distributions the task's modules come from."""
    versions = {"python": sys.version.split()[0]}
    modules = {taskClass.__module__.split(".")[0], "pipetask"}
    owners = metadata.packages_distributions()
    for module in sorted(modules):
        for dist in owners.get(module, []):
            try:
                versions[dist] = metadata.version(dist)
            except metadata.PackageNotFoundError:
                continue
    return versions


def checkStoredVersions(butler: Butler, taskClass: type, clobber: bool, backup: bool = True):
    """Store package versions as ``packages``; refuse if a stored version differs."""
    current = packageVersions(taskClass)
    merged = dict(current)
    if butler.datasetExists("packages", {}, write=True):
        stored = butler.get("packages", {})
        if isinstance(stored, dict):
            changed = [
                f"  {name}: {stored[name]} != {version}"
                for name, version in current.items()
                if name in stored and stored[name] != version
            ]
            if changed and not clobber:
                raise ConfigError(
                    "package versions differ from those stored in the output repository "
                    "(stored != new):\n"
                    + "\n".join(changed)
                    + f"\n{CLOBBER_HINT}, or --no-versions"
                )
            if not changed and all(name in stored for name in current):
                return
            merged = {**stored, **current}
    butler.put(merged, "packages", {}, doBackup=backup)
