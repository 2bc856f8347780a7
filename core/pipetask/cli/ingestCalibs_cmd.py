"""``pipetask ingestCalibs CALIB FILES... [--camera NAME] [--validity DAYS]``."""

from __future__ import annotations

import argparse

DESCRIPTION = """\
Register calibration products (master bias, flats, defects) in a calibration repository,
creating it if it does not exist, as LSST's ingestCalibs.py did. Each file's header names
it: OBSTYPE (bias, flat, defects...), CALIBDATE (YYYY-MM-DD), DETECTOR and, for flats,
FILTER; makeBias and makeFlat write them so. A product is valid for --validity days either
side of its calib date; where two products of one type, detector and filter overlap, the
boundary moves to the midpoint between their dates. Directories are searched for files.
'pipetask run TASK REPO --calib CALIB' then uses, for each raw, the product valid at the
raw's date for its detector (and filter).

One line is printed per file, starting with its status:
  ingested      registered, with its validity range
  duplicate     the repository already holds that product and date (skipped)
  bad           missing, unreadable or not a FITS file (skipped)
  unidentified  a header keyword is missing or wrong (skipped)
then a summary line.
"""

EPILOG = """\
exit status: 0 every file was ingested; 1 some files were skipped; 2 bad command line,
unknown camera or unusable repository.
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``ingestCalibs`` subcommand."""
    p = subparsers.add_parser(
        "ingestCalibs",
        help="register calibration products with validity ranges in a calibration repository",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("calib", metavar="CALIB", help="calibration repository (created if missing)")
    p.add_argument("files", metavar="FILES", nargs="+", help="files or directories to ingest")
    p.add_argument(
        "--camera", metavar="NAME", help="camera of the repository (required to create one)"
    )
    p.add_argument(
        "--validity",
        metavar="DAYS",
        type=int,
        default=30,
        help="days either side of the calib date a product is valid for (default 30)",
    )
    p.add_argument(
        "--mode",
        choices=("copy", "link", "move"),
        default="copy",
        help="copy the files (default), symlink them, or move them into the repository",
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    """Ingest, print one line per file and a summary; return the exit status."""
    from ..butler.calibs import ingestCalibs
    from ..butler.ingest import STATUSES
    from ..setup import rootedPath
    from .ingest_cmd import printLine, summarize

    root = rootedPath(args.calib, "PIPE_CALIB_ROOT")
    results = ingestCalibs(root, args.files, args.camera, args.validity, args.mode, printLine)
    return summarize("ingestCalibs", root, results, STATUSES)
