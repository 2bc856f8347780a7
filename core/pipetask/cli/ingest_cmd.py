"""``pipetask ingest REPO FILES... --camera NAME [--mode copy|link|move]``."""

from __future__ import annotations

import argparse
import sys

TYPE_CHECKING = False  # not typing's: importing typing costs `pipetask --help` start-up
if TYPE_CHECKING:
    from typing import Any

DESCRIPTION = """\
Register raw files in a data repository, creating it if it does not exist. The camera's
ingest rules read each file's name and header into a data ID; the file is copied, linked
or moved to the camera's path template. Directories are searched for files.

One line is printed per file, starting with its status:
  ingested      registered in the repository
  duplicate     the repository already holds that data ID (skipped; the line says
                whether the registered file is identical or has other content)
  bad           missing, unreadable, truncated or corrupt (skipped)
  unidentified  the camera's rules cannot tell its data ID (skipped)
then a summary line. Ingesting a directory that contains the repository skips the
repository. Several ingests may run into one repository at once: each file is registered
once, and the others report it as a duplicate.
"""

EPILOG = """\
exit status: 0 every file was ingested or is already in the repository with identical
content (resuming an interrupted ingest); 1 some files were skipped (bad, unidentified,
or a duplicate with other content); 2 bad command line, unknown camera or unusable
repository.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``ingest`` subcommand."""
    p = subparsers.add_parser(
        "ingest",
        help="register raw files in a repository (creating it if needed)",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("repo", metavar="REPO", help="repository directory (created if missing)")
    p.add_argument("files", metavar="FILES", nargs="+", help="files or directories to ingest")
    p.add_argument(
        "--camera",
        metavar="NAME",
        help="camera of the repository (required to create one; see 'pipetask list')",
    )
    p.add_argument(
        "--mode",
        choices=("copy", "link", "move"),
        default="copy",
        help="copy the files (default), symlink them, or move them into the repository",
    )
    p.add_argument(
        "--no-verify",
        dest="verify",
        action="store_false",
        help="do not read files through to reject truncated ones (faster)",
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Ingest, print one line per file and a summary; return the exit status."""
    from ..butler.ingest import STATUSES, ingest, printable
    from ..setup import rootedPath

    root = rootedPath(args.repo, "PIPE_INPUT_ROOT")
    results = ingest(root, args.files, args.camera, args.mode, args.verify, printLine)
    return summarize("ingest", printable(root), results, STATUSES)


def printLine(result: Any) -> None:
    """Print one file's line as soon as it is decided."""
    print(result.line(), flush=True)


def summarize(command: str, root: str, results: list, statuses: tuple[str, ...]) -> int:
    """Print the summary of an ingest (``command`` names it); the exit status: 1 when
    files were skipped, a duplicate with identical content not counting as skipped."""
    counts = {status: 0 for status in statuses}
    for result in results:
        counts[result.status] += 1
    summary = ", ".join(f"{n} {status}" for status, n in counts.items())
    print(f"{command} into {root}: {summary} (of {len(results)} files)")
    identical = sum(1 for result in results if getattr(result, "identical", False))
    skipped = len(results) - counts["ingested"] - identical
    if skipped:
        print(f"pipetask {command}: {skipped} file(s) skipped", file=sys.stderr)
        return 1
    if identical:
        print(f"{identical} file(s) were already in the repository with identical content")
    return 0
