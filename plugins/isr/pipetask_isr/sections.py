"""FITS sections (``[x0:x1,y0:y1]``, 1-based, inclusive) as numpy slices, checked."""

from __future__ import annotations

import re

from pipetask import TaskError

_SECTION = re.compile(r"^\[\s*(\d+)\s*:\s*(\d+)\s*,\s*(\d+)\s*:\s*(\d+)\s*\]$")

Box = tuple[slice, slice]


def parseSection(text: str, what: str = "section") -> Box:
    """``(rows, columns)`` slices of a FITS section string.

    Raises
    ------
    TaskError
        The text is not a section or runs backwards.
    """
    found = _SECTION.match(str(text).strip())
    if found is None:
        raise TaskError(f"{what} {text!r} is not a FITS section [x0:x1,y0:y1]")
    x0, x1, y0, y1 = (int(v) for v in found.groups())
    if x0 < 1 or y0 < 1 or x1 < x0 or y1 < y0:
        raise TaskError(f"{what} {text!r} is empty or starts before pixel 1")
    return slice(y0 - 1, y1), slice(x0 - 1, x1)


def checkInside(box: Box, shape: tuple[int, int], what: str) -> None:
    """Raise :class:`TaskError` if ``box`` reaches outside an array of ``shape``."""
    rows, cols = box
    if rows.stop > shape[0] or cols.stop > shape[1]:
        raise TaskError(
            f"{what} [{cols.start + 1}:{cols.stop},{rows.start + 1}:{rows.stop}] is outside "
            f"the {shape[1]}x{shape[0]} image"
        )


def boxShape(box: Box) -> tuple[int, int]:
    """Rows and columns of a box."""
    return box[0].stop - box[0].start, box[1].stop - box[1].start
