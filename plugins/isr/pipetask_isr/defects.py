"""Defects: a list of bad pixel boxes of a detector, and their FITS table format.

Boxes are in the assembled, trimmed detector's pixels: ``x0``, ``y0`` (0-based column
and row of the lower-left pixel), ``width`` and ``height``. The file is a FITS binary
table whose primary header names it as a calibration product (``OBSTYPE = 'defects'``,
``CALIBDATE``, ``DETECTOR``), so ``pipetask ingestCalibs`` takes it like a bias.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

import numpy as np
from pipetask import TaskError


class Defects:
    """Bad pixel boxes ``(x0, y0, width, height)`` of one detector."""

    def __init__(
        self, boxes: Iterable[tuple[int, int, int, int]] = (), metadata: dict | None = None
    ) -> None:
        self.boxes = [tuple(int(v) for v in box) for box in boxes]
        for box in self.boxes:
            if len(box) != 4 or box[2] < 1 or box[3] < 1 or box[0] < 0 or box[1] < 0:
                raise TaskError(f"bad defect box {box}: need x0, y0 >= 0 and a positive size")
        self.metadata = dict(metadata or {})

    def __len__(self) -> int:
        return len(self.boxes)

    def __repr__(self) -> str:
        return f"Defects({len(self.boxes)} boxes)"

    @classmethod
    def fromMask(cls, bad: np.ndarray, metadata: dict | None = None) -> Defects:
        """Boxes covering the True pixels of ``bad``: one per vertical run in a column."""
        boxes = []
        for x in np.nonzero(bad.any(axis=0))[0]:
            rows = np.nonzero(bad[:, x])[0]
            breaks = np.nonzero(np.diff(rows) > 1)[0]
            starts = np.concatenate([[rows[0]], rows[breaks + 1]])
            ends = np.concatenate([rows[breaks], [rows[-1]]])
            boxes.extend(
                (int(x), int(s), 1, int(e - s + 1)) for s, e in zip(starts, ends, strict=True)
            )
        return cls(sorted(boxes, key=lambda b: (b[1], b[0])), metadata)

    def toMask(self, shape: tuple[int, int]) -> np.ndarray:
        """A boolean image of ``shape``, True on the defects.

        Raises
        ------
        TaskError
            A box reaches outside the image.
        """
        bad = np.zeros(shape, bool)
        for x0, y0, width, height in self.boxes:
            if x0 + width > shape[1] or y0 + height > shape[0]:
                raise TaskError(
                    f"defect box x0={x0} y0={y0} {width}x{height} is outside the "
                    f"{shape[1]}x{shape[0]} image"
                )
            bad[y0 : y0 + height, x0 : x0 + width] = True
        return bad

    def writeFits(self, path: str | os.PathLike[str]) -> None:
        """Write the FITS table (metadata in the primary header)."""
        from astropy.io import fits

        array = np.array(self.boxes, dtype=np.int32).reshape(-1, 4)
        columns = [
            fits.Column(name=name, format="J", array=array[:, i])
            for i, name in enumerate(("x0", "y0", "width", "height"))
        ]
        primary = fits.PrimaryHDU()
        primary.header["OBSTYPE"] = "defects"
        for key, value in self.metadata.items():
            primary.header[key if len(key) <= 8 else f"HIERARCH {key}"] = value
        hdus = fits.HDUList([primary, fits.BinTableHDU.from_columns(columns, name="DEFECTS")])
        hdus.writeto(path, overwrite=True)

    def writeText(self, path: str | os.PathLike[str]) -> None:
        """Write the boxes as an ECSV table (the text form LSST's obs data packages use
        for defects), the metadata in its header."""
        from astropy.table import Table

        array = np.array(self.boxes, dtype=np.int32).reshape(-1, 4)
        table = Table(array, names=("x0", "y0", "width", "height"))
        table.meta.update({"OBSTYPE": "defects", **self.metadata})
        table.write(path, format="ascii.ecsv", overwrite=True)

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> Defects:
        """Read a defects file: ECSV text (``.ecsv``) or a FITS table."""
        if not str(path).endswith(".ecsv"):
            return cls.readFits(path)
        from astropy.table import Table

        try:
            table = Table.read(path, format="ascii.ecsv")
            boxes = [tuple(int(row[n]) for n in ("x0", "y0", "width", "height")) for row in table]
        except (OSError, KeyError, TypeError, ValueError) as exc:
            raise TaskError(f"{path}: not a defects table: {exc}") from None
        return cls(boxes, {k: v for k, v in table.meta.items() if k != "OBSTYPE"})

    @classmethod
    def readFits(cls, path: str | os.PathLike[str]) -> Defects:
        """Read a defects FITS table.

        Raises
        ------
        TaskError
            The file is not a defects table.
        """
        from astropy.io import fits

        try:
            with fits.open(path) as hdus:
                table = hdus[1].data
                boxes = [
                    (int(r["x0"]), int(r["y0"]), int(r["width"]), int(r["height"])) for r in table
                ]
                skip = {"SIMPLE", "BITPIX", "NAXIS", "EXTEND", "COMMENT", "HISTORY", ""}
                metadata = {k: v for k, v in hdus[0].header.items() if k not in skip}
        except (OSError, IndexError, KeyError, TypeError, ValueError) as exc:
            raise TaskError(f"{path}: not a defects table: {exc}") from None
        return cls(boxes, metadata)


class DefectsFormat:
    """Butler storage format ``defects``: :class:`Defects` as a FITS table."""

    extension = ".fits"

    def read(self, path: str) -> Any:
        """Read a :class:`Defects`."""
        return Defects.readFits(path)

    def write(self, obj: Any, path: str) -> None:
        """Write a :class:`Defects`."""
        if not isinstance(obj, Defects):
            raise TaskError(f"the defects format writes Defects, not {type(obj).__name__}")
        obj.writeFits(path)
