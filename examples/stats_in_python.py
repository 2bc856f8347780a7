"""Measure an image with the pipetask statistics tasks, straight from Python.

Usage::

    python examples/stats_in_python.py FILE.fits[.gz]

FILE may be an LSST multi-extension exposure or a plain raw, e.g.
``../shared/data/obs_test/raw/raw_v1_fg.fits.gz``.
"""

from __future__ import annotations

import logging
import sys

from pipetask import FieldValidationError
from pipetask_image import ImageError, MaskedImage
from pipetask_stats import SigmaClippedStatsTask, SimpleStatsTask


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    try:
        maskedImage = MaskedImage.readFits(argv[1])
    except ImageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    rows, columns = maskedImage.shape
    print(f"read {argv[1]}: {columns} x {rows} pixels")

    # Construct a task once, call it as often as you like.
    simple = SimpleStatsTask()
    print("simple:", simple.run(maskedImage))

    for numSigmaClip in (1.0, 3.0):
        config = SigmaClippedStatsTask.ConfigClass()
        config.numSigmaClip = numSigmaClip
        clipped = SigmaClippedStatsTask(config=config)
        result = clipped.run(maskedImage)
        print(f"sigma-clipped, numSigmaClip={numSigmaClip}:", result)
        print(f"  mean = {result.mean:.3f} +- {result.meanErr:.3f}")

    # Config values are checked when they are set.
    config = SigmaClippedStatsTask.ConfigClass()
    try:
        config.numSigmaClip = "ten"
    except FieldValidationError as exc:
        print(f"refused: {exc}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
