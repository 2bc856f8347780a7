"""``--clobber-output``: remove an output repository before a run, never its input."""

from __future__ import annotations

import logging
import os
import shutil

from .errors import ButlerError, ConfigError

log = logging.getLogger("pipetask")


def clobberOutput(repo: str, output: str) -> None:
    """Remove the output repository ``output`` of a run that reads ``repo``.

    Refused when the output is the input, holds it or chains to nothing pipetask made (a
    directory without ``repo.toml``), and while another run writes to it. The directory is
    first renamed aside, so an interruption never leaves a half-removed repository at
    ``output``.
    """
    from .butler.repository import isRepository
    from .runlock import outputLock

    repoReal, outputReal = os.path.realpath(repo), os.path.realpath(output)
    if repoReal == outputReal:
        raise ConfigError(
            "--clobber-output is not valid when the output and input repos are the same"
        )
    if repoReal.startswith(outputReal + os.sep):
        raise ConfigError(f"--clobber-output: the input {repo} lies inside the output {output}")
    if outputReal in _parents(repoReal):
        raise ConfigError(
            f"--clobber-output: the output {output} is a parent of the input {repo}; "
            "removing it would lose the input's data"
        )
    if not os.path.exists(output):
        return
    if not isRepository(output):
        raise ButlerError(
            f"--clobber-output: {output} is not a pipetask repository (no repo.toml); "
            "not removing it"
        )
    aside = f"{outputReal}.clobbered-{os.getpid()}"
    with outputLock(outputReal):
        try:
            os.rename(outputReal, aside)
        except OSError as exc:
            raise ButlerError(f"--clobber-output: cannot remove {output}: {exc.strerror}") from None
    shutil.rmtree(aside, ignore_errors=True)
    log.info("removed output repository %s (--clobber-output)", output)


def _parents(root: str, depth: int = 0) -> set[str]:
    """Real paths of every repository ``root`` chains to (its parents, theirs, ...)."""
    from .butler.repository import isRepository, readRepoConfig

    if depth > 32 or not isRepository(root):
        return set()
    found: set[str] = set()
    for parent in readRepoConfig(root).get("parents") or []:
        path = os.path.realpath(os.path.join(root, parent))
        found |= {path} | _parents(path, depth + 1)
    return found
