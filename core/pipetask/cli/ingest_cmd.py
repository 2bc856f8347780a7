"""``pipetask ingest REPO FILES... --camera NAME [--mode copy|link|move]``."""

from __future__ import annotations

import argparse
import sys

DESCRIPTION = """\
Register raw files in a data repository, creating it if it does not exist. The camera's
ingest rules read each file's name and header into a data ID; the file is copied, linked
or moved to the camera's path template. Directories are searched for files.

One line is printed per file, starting with its status:
  ingested      registered in the repository
  duplicate     the repository already holds that data ID (skipped)
  bad           missing, unreadable, truncated or corrupt (skipped)
  unidentified  the camera's rules cannot tell its data ID (skipped)
then a summary line.
"""

EPILOG = """\
exit status: 0 every file was ingested; 1 some files were skipped (duplicate, bad or
unidentified); 2 bad command line, unknown camera or unusable repository.
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
    from ..butler.ingest import STATUSES, ingest
    from ..runner import rootedPath

    root = rootedPath(args.repo, "PIPE_INPUT_ROOT")

    def report(result) -> None:
        print(result.line(), flush=True)

    results = ingest(root, args.files, args.camera, args.mode, args.verify, report)
    counts = {status: 0 for status in STATUSES}
    for result in results:
        counts[result.status] += 1
    summary = ", ".join(f"{n} {status}" for status, n in counts.items())
    print(f"ingest into {root}: {summary} (of {len(results)} files)")
    skipped = len(results) - counts["ingested"]
    if skipped:
        print(f"pipetask ingest: {skipped} file(s) skipped", file=sys.stderr)
        return 1
    return 0
