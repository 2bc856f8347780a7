"""Calibration repositories: calibration products with validity ranges.

A calibration repository is a repository (``repo.toml`` names its camera) that also holds
``calibRegistry.sqlite3``: one row per calibration product (bias, flat, defects...) with
its detector, its filter (empty when the product does not depend on one), the date it was
made (``calibDate``) and the dates it is valid for (``validStart`` .. ``validEnd``,
inclusive, ``YYYY-MM-DD``), as LSST's ``ingestCalibs`` recorded them. Files live at
``<type>/<calibDate>/<type>-<detector>[-<filter>].<ext>``.

A product is valid for ``validity`` days either side of its calib date; where two products
of one type, detector and filter overlap, the boundary moves to the midpoint between their
calib dates (the earlier one keeps the midpoint day).

Calibration files name themselves by header keywords: ``OBSTYPE`` (the dataset type),
``CALIBDATE``, ``DETECTOR`` (default 0) and ``FILTER`` (for filter-dependent types).
"""

from __future__ import annotations

import contextlib
import datetime
import os
import shutil
import sqlite3
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import ButlerError, NoResults
from . import atomic
from .camera import BadFile, Camera, UnidentifiedFile
from .sqlite_read import connectReadOnly

FILENAME = "calibRegistry.sqlite3"
#: Days either side of its calib date a product is valid for, unless told otherwise.
DEFAULT_VALIDITY = 30
_MJD_ZERO = datetime.date(1858, 11, 17)
_COLUMNS = "datasetType, detector, filter, calibDate, validStart, validEnd, path"


@dataclass
class CalibEntry:
    """One calibration product of a calibration repository."""

    datasetType: str
    detector: int
    filter: str
    calibDate: str
    validStart: str
    validEnd: str
    path: str

    def describe(self) -> str:
        """``bias detector 1 (2023-02-25, valid 2023-01-26..2023-03-27)``."""
        what = f"{self.datasetType} detector {self.detector}"
        if self.filter:
            what += f" filter {self.filter}"
        return f"{what} ({self.calibDate}, valid {self.validStart}..{self.validEnd})"


def mjdToDate(mjd: float) -> str:
    """The UTC calendar date (``YYYY-MM-DD``) of a Modified Julian Date."""
    return (_MJD_ZERO + datetime.timedelta(days=float(mjd))).isoformat()


def parseDate(text: str, what: str = "date") -> datetime.date:
    """A ``YYYY-MM-DD`` date (a longer ISO timestamp is cut to its date)."""
    try:
        return datetime.date.fromisoformat(str(text).strip()[:10])
    except ValueError:
        raise ButlerError(f"bad {what} {text!r} (expected YYYY-MM-DD)") from None


def isCalibRepository(root: str | Path) -> bool:
    """Whether ``root`` holds a calibration registry."""
    return (Path(root) / FILENAME).is_file()


class CalibRegistry:
    """The calibration registry of one repository (created on first write)."""

    def __init__(self, root: str | Path, writable: bool = False) -> None:
        self.root = Path(root)
        self.path = self.root / FILENAME
        if not writable and not self.path.is_file():
            raise ButlerError(f"{str(self.root)!r} holds no calibration registry ({FILENAME})")
        try:
            if writable:
                self._db = sqlite3.connect(str(self.path), timeout=30.0)
            else:
                self._db = connectReadOnly(str(self.path), timeout=30.0)
            if writable:
                self._db.execute(
                    "CREATE TABLE IF NOT EXISTS calib (datasetType TEXT NOT NULL, "
                    "detector INTEGER NOT NULL, filter TEXT NOT NULL, calibDate TEXT NOT NULL, "
                    "validStart TEXT NOT NULL, validEnd TEXT NOT NULL, path TEXT NOT NULL, "
                    "UNIQUE (datasetType, detector, filter, calibDate))"
                )
                self._db.commit()
            self._db.execute("SELECT count(*) FROM calib").fetchone()
        except sqlite3.DatabaseError as exc:
            raise ButlerError(f"{self.path}: unreadable calibration registry: {exc}") from None

    def close(self) -> None:
        """Close the database connection."""
        self._db.close()

    def entries(self, datasetType: str | None = None) -> list[CalibEntry]:
        """Every product (of one type), by type, detector, filter and date."""
        sql = f"SELECT {_COLUMNS} FROM calib"
        params: list[Any] = []
        if datasetType is not None:
            sql += " WHERE datasetType = ?"
            params.append(datasetType)
        sql += " ORDER BY datasetType, detector, filter, calibDate"
        return [CalibEntry(*row) for row in self._db.execute(sql, params)]

    def find(
        self, datasetType: str, date: str, detector: int, filterName: str | None
    ) -> CalibEntry | None:
        """The product valid on ``date`` for a detector (and filter), or None."""
        sql = (
            f"SELECT {_COLUMNS} FROM calib WHERE datasetType = ? AND detector = ? "
            "AND validStart <= ? AND validEnd >= ?"
        )
        params: list[Any] = [datasetType, detector, date, date]
        if filterName is not None:
            sql += " AND filter = ?"
            params.append(filterName)
        rows = [CalibEntry(*row) for row in self._db.execute(sql + " ORDER BY calibDate", params)]
        return rows[-1] if rows else None

    def add(self, entry: CalibEntry, validity: int, write: Callable[[], None]) -> CalibEntry:
        """Register ``entry`` (``write()`` puts its file in place inside the transaction),
        then split overlapping validity ranges of its type, detector and filter."""
        with self._db:
            self._db.execute(
                f"INSERT INTO calib ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    entry.datasetType,
                    entry.detector,
                    entry.filter,
                    entry.calibDate,
                    entry.validStart,
                    entry.validEnd,
                    entry.path,
                ],
            )
            self._splitOverlaps(entry.datasetType, entry.detector, entry.filter, validity)
            write()
        return self.find(entry.datasetType, entry.calibDate, entry.detector, entry.filter) or entry

    def _splitOverlaps(self, datasetType: str, detector: int, filterName: str, validity: int):
        rows = self._db.execute(
            "SELECT rowid, calibDate, validStart, validEnd FROM calib WHERE datasetType = ? "
            "AND detector = ? AND filter = ? ORDER BY calibDate",
            [datasetType, detector, filterName],
        ).fetchall()
        dates = [datetime.date.fromisoformat(r[1]) for r in rows]
        span = datetime.timedelta(days=validity)
        starts = [d - span for d in dates]
        ends = [d + span for d in dates]
        for i in range(1, len(dates)):
            if ends[i - 1] >= starts[i]:
                middle = dates[i - 1] + (dates[i] - dates[i - 1]) / 2
                middle = datetime.date.fromordinal(middle.toordinal())
                ends[i - 1] = middle
                starts[i] = middle + datetime.timedelta(days=1)
        for (rowid, *_), start, end in zip(rows, starts, ends, strict=True):
            self._db.execute(
                "UPDATE calib SET validStart = ?, validEnd = ? WHERE rowid = ?",
                [start.isoformat(), end.isoformat(), rowid],
            )

    def describe(self) -> str:
        """What the repository holds, one product per clause (``nothing`` when empty)."""
        entries = self.entries()
        return "; ".join(e.describe() for e in entries) if entries else "nothing"

    def describeFor(self, datasetType: str, detector: int, filterName: str | None) -> str:
        """The products of ``datasetType`` for a detector (and filter), one per clause,
        and how many others the repository holds: what a failed lookup needs to show."""
        entries = self.entries()
        if not entries:
            return "nothing"
        mine = [
            e
            for e in entries
            if e.datasetType == datasetType
            and e.detector == detector
            and (filterName is None or e.filter == filterName)
        ]
        text = "; ".join(e.describe() for e in mine) or f"no {datasetType} for it"
        others = len(entries) - len(mine)
        if others:
            text += f" (and {others} other product{'s' if others != 1 else ''})"
        return text


# -- ingest ------------------------------------------------------------------------------
@dataclass
class CalibIngestResult:
    """What happened to one file given to :func:`ingestCalibs`."""

    source: str
    status: str  # ingested, duplicate, bad, unidentified
    detail: str = ""
    entry: CalibEntry | None = None

    def line(self) -> str:
        """One report line: status, file, and what or why."""
        if self.status == "ingested" and self.entry is not None:
            return f"{self.status:<13} {self.source} -> {self.entry.describe()}"
        return f"{self.status:<13} {self.source}: {self.detail}"


def identifyCalib(camera: Camera, path: str) -> dict[str, Any]:
    """Dataset type, detector, filter and calib date of a calibration file, from its header.

    Raises
    ------
    BadFile
        The file cannot be read as the camera's format.
    UnidentifiedFile
        A header keyword is missing or names an unknown dataset type.
    """
    header = camera.readHeader(path, 0)
    obstype = str(header.get("OBSTYPE", "")).strip().lower()
    if not obstype:
        raise UnidentifiedFile("no OBSTYPE in the header (bias, flat, defects...)")
    dsType = camera.datasetType(obstype)
    if dsType is None or not dsType.calib:
        calibs = sorted(n for n, t in camera.datasetTypes.items() if t.calib)
        raise UnidentifiedFile(
            f"OBSTYPE {obstype!r} is not a calibration type of camera {camera.name!r} "
            f"({', '.join(calibs) or 'none declared'})"
        )
    calibDate = header.get("CALIBDATE")
    if calibDate is None:
        raise UnidentifiedFile("no CALIBDATE in the header")
    try:
        date = parseDate(calibDate, "CALIBDATE").isoformat()
    except ButlerError as exc:
        raise UnidentifiedFile(str(exc)) from None
    detector = header.get("DETECTOR", 0)
    if isinstance(detector, bool) or not isinstance(detector, int):
        raise UnidentifiedFile(f"DETECTOR {detector!r} is not an integer")
    known = {d.id for d in camera.detectors}
    if known and detector not in known:
        raise UnidentifiedFile(
            f"camera {camera.name!r} has no detector {detector} "
            f"(detectors {', '.join(str(k) for k in sorted(known))})"
        )
    filterName = ""
    if obstype in camera.calibSpec.filterTypes:
        filterName = str(header.get("FILTER", "")).strip()
        if not filterName:
            raise UnidentifiedFile(f"no FILTER in the header of this {obstype}")
    return {"datasetType": obstype, "detector": detector, "filter": filterName, "date": date}


def calibPath(datasetType: str, calibDate: str, detector: int, filterName: str, ext: str) -> str:
    """Relative path of a product in a calibration repository."""
    name = f"{datasetType}-{detector}" + (f"-{filterName}" if filterName else "")
    return f"{datasetType}/{calibDate}/{name}{ext}"


def _extension(path: str) -> str:
    base = os.path.basename(path)
    for ext in (".fits.gz", ".fits.fz", ".fits", ".fit"):
        if base.lower().endswith(ext):
            return ext
    return os.path.splitext(base)[1]


def ingestCalibs(
    root: str | Path,
    files: Iterable[str | Path],
    camera: str | None = None,
    validity: int = DEFAULT_VALIDITY,
    mode: str = "copy",
    report: Callable[[CalibIngestResult], None] | None = None,
) -> list[CalibIngestResult]:
    """Ingest calibration files into the calibration repository ``root``.

    Parameters
    ----------
    root : str or Path
        The calibration repository; created when missing (then ``camera`` is required).
    files : iterable of paths
        Files or directories (searched).
    camera : str, optional
        Camera name; checked against an existing repository's.
    validity : int
        Days either side of each product's calib date it is valid for.
    mode : {"copy", "link", "move"}
        How files get into the repository.
    report : callable, optional
        Called with each result as soon as it is known.
    """
    from .ingest import MODES, expandFiles, openForIngest

    if mode not in MODES:
        raise ButlerError(f"unknown ingest mode {mode!r}; choose from {', '.join(MODES)}")
    if validity < 0:
        raise ButlerError(f"--validity must be 0 or more days, not {validity}")
    repo, cam, _ = openForIngest(root, camera)
    repo.registry.close()
    registry = CalibRegistry(repo.root, writable=True)
    results = []
    try:
        for source in expandFiles(files):
            result = _ingestOne(registry, cam, source, validity, mode)
            results.append(result)
            if report is not None:
                report(result)
    finally:
        registry.close()
    return results


def _ingestOne(
    registry: CalibRegistry, camera: Camera, source: str, validity: int, mode: str
) -> CalibIngestResult:
    if not os.path.isfile(source):
        return CalibIngestResult(source, "bad", "no such file")
    try:
        info = identifyCalib(camera, source)
        camera.verifyFile(source)
    except UnidentifiedFile as exc:
        return CalibIngestResult(source, "unidentified", str(exc))
    except BadFile as exc:
        return CalibIngestResult(source, "bad", str(exc))
    except OSError as exc:
        return CalibIngestResult(source, "bad", f"cannot read: {exc.strerror or exc}")
    relative = calibPath(
        info["datasetType"], info["date"], info["detector"], info["filter"], _extension(source)
    )
    span = datetime.timedelta(days=validity)
    date = datetime.date.fromisoformat(info["date"])
    entry = CalibEntry(
        info["datasetType"],
        info["detector"],
        info["filter"],
        info["date"],
        (date - span).isoformat(),
        (date + span).isoformat(),
        relative,
    )
    final = registry.root / relative
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = atomic.tempPath(final)
    try:
        if mode == "link":
            os.symlink(os.path.abspath(source), tmp)
        else:
            shutil.copyfile(source, tmp)
            atomic.fsyncFile(tmp)
        entry = registry.add(entry, validity, lambda: atomic.replace(tmp, final))
    except sqlite3.IntegrityError:
        return CalibIngestResult(
            source, "duplicate", f"the repository already holds {entry.describe()}"
        )
    except OSError as exc:
        return CalibIngestResult(source, "bad", f"cannot copy: {exc.strerror or exc}")
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    if mode == "move":
        os.unlink(source)
    return CalibIngestResult(source, "ingested", entry=entry)


# -- lookup ------------------------------------------------------------------------------
def findCalib(
    roots: Iterable[Path],
    datasetType: str,
    attributes: Mapping[str, Any],
    describeRaw: str,
) -> Path:
    """The file of the product of ``datasetType`` valid for a raw, searching ``roots``.

    ``attributes`` holds the raw's ``date`` (``YYYY-MM-DD``), ``detector`` and ``filter``
    (None when the type does not depend on the filter).

    Raises
    ------
    NoResults
        No product is valid; the message lists what the calibration repositories hold.
    """
    held = []
    for root in roots:
        registry = CalibRegistry(root)
        try:
            entry = registry.find(
                datasetType, attributes["date"], attributes["detector"], attributes["filter"]
            )
            if entry is not None:
                path = root / entry.path
                if not os.path.lexists(path):
                    raise ButlerError(
                        f"calibration registry of {str(root)!r} lists {entry.path} "
                        "but the file is missing"
                    )
                return path
            held.append(
                f"{str(root)!r} holds "
                + registry.describeFor(datasetType, attributes["detector"], attributes["filter"])
            )
        finally:
            registry.close()
    wanted = f"detector {attributes['detector']}"
    if attributes["filter"] is not None:
        wanted += f", filter {attributes['filter']}"
    raise NoResults(
        f"no {datasetType} valid on {attributes['date']} for {describeRaw} ({wanted}): "
        + "; ".join(held)
    )
