"""The options of ``pipetask run`` that LSST's command-line tasks had, and ``@file``.

``--rerun [IN:]OUT``, ``--clobber-output``, ``--clobber-versions`` and ``--profile FILE``
keep the original's meaning and error texts; ``@FILE`` arguments are read as the original
read them: any number of options a line, ``#`` starting a comment, shell quoting.
:func:`resolve` turns ``--rerun`` into the input and output repositories before the run
starts; nothing here runs anything.
"""

from __future__ import annotations

import argparse
import os
import shlex
from collections.abc import Callable, Iterator

from ..errors import ConfigError

RERUN_DIR = "rerun"


def addOptions(parser: argparse.ArgumentParser) -> None:
    """Add the LSST command-line task options to the ``pipetask run`` parser."""
    group = parser.add_argument_group("options of LSST command-line tasks")
    group.add_argument(
        "--rerun",
        metavar="[IN:]OUT",
        help="write to REPO/rerun/OUT, chained to REPO (or to REPO/rerun/IN); "
        "an existing rerun keeps the input it was made from",
    )
    group.add_argument(
        "--clobber-output",
        action="store_true",
        help="remove the output repository before running (never the input)",
    )
    group.add_argument(
        "--clobber-versions",
        action="store_true",
        help="replace stored package versions that differ (the config is still compared)",
    )
    group.add_argument(
        "--profile",
        metavar="FILE",
        help="write a cProfile of the processing loop to FILE (the main process only)",
    )


def argFileReader(parser: argparse.ArgumentParser) -> Callable[[str], Iterator[str]]:
    """How ``@FILE`` lines become arguments: shell words, ``#`` comments, blank lines skipped."""

    def convert(line: str) -> Iterator[str]:
        try:
            words = shlex.split(line, comments=True)
        except ValueError as exc:
            parser.error(f"@file line {line.strip()!r}: {exc}")
        yield from words

    return convert


def resolve(args: argparse.Namespace) -> None:
    """Check the option combinations and turn ``--rerun`` into ``repo`` and ``output``."""
    if args.rerun is not None:
        if args.output is not None:
            raise ConfigError("cannot specify both --output and --rerun")
        args.repo, args.output = rerunDirectories(args.repo, args.rerun)
    if args.clobber_output and args.output is None:
        raise ConfigError("--clobber-output is only valid with --output or --rerun")
    if args.profile:
        _checkWritable(args.profile)


def _checkWritable(path: str) -> None:
    """Refuse a ``--profile`` path that cannot be written, before anything runs."""
    full = os.path.abspath(path)
    if os.path.isdir(full):
        raise ConfigError(f"--profile {path}: is a directory")
    parent = os.path.dirname(full)
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.access(parent, os.W_OK):
        raise ConfigError(f"--profile {path}: cannot write into {parent}")


def rerunDirectories(repo: str | None, rerun: str) -> tuple[str, str]:
    """``(input, output)`` of ``--rerun [IN:]OUT`` on repository ``repo``.

    ``OUT`` writes to ``REPO/rerun/OUT``, chained to REPO; when that rerun exists already
    it is chained to the input it was made from. ``IN:OUT`` reads ``REPO/rerun/IN``.
    """
    from ..setup import rootedPath

    parts = rerun.split(":")
    if len(parts) > 2 or not all(parts):
        raise ConfigError(f"invalid argument for --rerun: {parts} (expected OUT or IN:OUT)")
    if not repo:
        raise ConfigError("--rerun needs a repository: pipetask run TASK REPO --rerun OUT")
    root = rootedPath(repo, "PIPE_INPUT_ROOT")
    output = os.path.join(root, RERUN_DIR, parts[-1])
    if len(parts) == 2:
        return os.path.join(root, RERUN_DIR, parts[0]), output
    return _existingParent(output) or root, output


def _existingParent(output: str) -> str | None:
    """The first parent an existing repository ``output`` chains to, or None."""
    from ..butler.repository import isRepository, readRepoConfig

    if not isRepository(output):
        return None
    parents = readRepoConfig(output).get("parents") or []
    return os.path.realpath(os.path.join(output, parents[0])) if parents else None
