"""Cameras: what an obs package declares about an instrument.

A :class:`Camera` names its data-ID keys and their types, its dataset types (path
template, Python type, storage format), the rules that turn a file into a data ID, the
directory of per-task config overrides and a minimal geometry. Obs packages instantiate
it or subclass it (to read file headers, for instance); the core never imports astropy.
"""

from __future__ import annotations

import os
import re
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..dataid import castValue, checkSafeValue
from ..errors import ButlerError, DataIdError

#: Python types a data-ID key may have.
KEY_TYPES = (int, str)
#: Names a data-ID key may not take (they are registry columns).
RESERVED_KEYS = frozenset({"id", "path", "dataset_type", "datasetType", "owner", "created"})
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class UnidentifiedFile(ButlerError):
    """A file the camera's ingest rules cannot turn into a data ID."""


class BadFile(ButlerError):
    """A file that is unreadable, truncated or not of the expected kind."""


def templateKeys(template: str) -> tuple[str, ...]:
    """The data-ID keys a path template uses, in order of first appearance."""
    keys: list[str] = []
    for _, name, _, _ in string.Formatter().parse(template):
        if name is None:
            continue
        if not _IDENTIFIER.match(name):
            raise ButlerError(f"bad field {{{name}}} in path template {template!r}")
        if name not in keys:
            keys.append(name)
    return tuple(keys)


@dataclass(frozen=True)
class DatasetType:
    """A kind of dataset: where its files go and how they are read and written.

    Parameters
    ----------
    name : str
        Dataset type name (``raw``, ``calexp``, ``exampleTask_config``).
    template : str
        Path relative to the repository root, with ``{key}`` fields
        (``raw/raw_v{visit}_f{filter}.fits.gz``); it includes the file extension.
    python : str
        Import path of the Python type (``"pipetask_image:Exposure"``), informational.
    format : str
        Name of the storage format plugin (``fits``, ``toml``, ``json``).
    calib : bool
        Whether the dataset is a calibration product, read from the ``calib`` repository.
    """

    name: str
    template: str
    python: str = ""
    format: str = "json"
    calib: bool = False

    @property
    def keys(self) -> tuple[str, ...]:
        """Data-ID keys the template needs."""
        return templateKeys(self.template)

    def path(self, dataId: Mapping[str, Any]) -> str:
        """The relative path of the dataset for ``dataId`` (checked not to escape the repo)."""
        missing = [k for k in self.keys if k not in dataId]
        if missing:
            raise DataIdError(
                f"data ID {dict(dataId)} lacks {', '.join(missing)} needed by dataset type "
                f"{self.name!r} (template {self.template!r})"
            )
        for key in self.keys:
            checkSafeValue(key, dataId[key])
        relative = self.template.format(**{k: dataId[k] for k in self.keys})
        normal = os.path.normpath(relative)
        if os.path.isabs(normal) or normal == ".." or normal.startswith(".." + os.sep):
            raise DataIdError(
                f"data ID {dict(dataId)} gives path {relative!r} outside the repository"
            )
        return relative


@dataclass(frozen=True)
class IngestRule:
    """How a file becomes a data ID.

    Parameters
    ----------
    pattern : str
        Regular expression searched in the file's base name; its named groups give
        data-ID values (``raw_v(?P<visit>\\d+)_f\\w+\\.fits(\\.gz)?$``). A file whose
        name does not match is left to the next rule.
    header : mapping of str to str
        Data-ID key -> header keyword (``{"filter": "FILTER"}``), read from HDU ``hdu``.
    hdu : int
        Header-data unit whose header holds the keywords.
    datasetType : str
        Dataset type the file is ingested as.
    """

    pattern: str
    header: Mapping[str, str] = field(default_factory=dict)
    hdu: int = 0
    datasetType: str = "raw"

    def match(self, filename: str) -> dict[str, str] | None:
        """Named groups of the pattern in ``filename``, or None if it does not match."""
        found = re.search(self.pattern, filename)
        return None if found is None else dict(found.groupdict())


@dataclass(frozen=True)
class Amplifier:
    """One amplifier of a detector.

    Sections are FITS style, 1-based and inclusive: ``[x0:x1,y0:y1]`` (columns, rows).

    Parameters
    ----------
    name : str
        Amplifier name.
    dataSec : str
        Its data pixels in the raw image.
    biasSec : str
        Its overscan (or prescan) pixels in the raw image, used to measure the bias level.
    trimSec : str
        Where its data pixels go in the assembled, trimmed detector image (by default the
        detector is one amplifier and this is ``[1:nx,1:ny]`` of the data section's size).
    gain : float
        Electrons per ADU (NaN: unknown; ISR then uses its configured fallback).
    readNoise : float
        Read noise in electrons (NaN: unknown).
    saturation : float
        Raw level in ADU at and above which a pixel is saturated (NaN: unknown).
    """

    name: str
    dataSec: str = ""
    biasSec: str = ""
    trimSec: str = ""
    gain: float = float("nan")
    readNoise: float = float("nan")
    saturation: float = float("nan")


@dataclass(frozen=True)
class Detector:
    """One detector (CCD): number, name, raw size in pixels (nx, ny), amplifiers, and where
    it sits in the focal plane: ``(x0, y0, x1, y1)`` in mm, x and y as the CCD's columns
    and rows run, or None when the camera does not say."""

    id: int
    name: str
    size: tuple[int, int] = (0, 0)
    amplifiers: tuple[Amplifier, ...] = ()
    focalPlane: tuple[float, float, float, float] | None = None


@dataclass(frozen=True)
class CalibSpec:
    """How a raw is matched to calibration products valid for it (``--calib``).

    Parameters
    ----------
    dateKeyword : str
        Header keyword of the raw's observation date, as an MJD.
    detectorKey : str, optional
        Data-ID key that names the detector (``ccd``); None for a one-detector camera
        (detector 0).
    filterKey : str, optional
        Data-ID key of the filter; None to read ``filterKeyword`` from the raw's header.
    filterKeyword : str
        Header keyword of the filter when it is not a data-ID key.
    filterTypes : tuple of str
        Calibration dataset types that depend on the filter (``flat``).
    """

    dateKeyword: str = "MJD-OBS"
    detectorKey: str | None = None
    filterKey: str | None = None
    filterKeyword: str = "FILTER"
    filterTypes: tuple[str, ...] = ("flat",)


class Camera:
    """An instrument as an obs package declares it.

    Parameters
    ----------
    name : str
        Camera name (``test``); repositories name their camera in ``repo.toml``.
    keys : mapping of str to type
        Data-ID keys in order, each ``int`` or ``str``.
    datasetTypes : iterable of DatasetType
        The camera's own dataset types. Generic ones (``<task>_config``,
        ``<task>_metadata``, ``packages``) need no declaration.
    ingestRules : iterable of IngestRule
        Tried in order on each file given to ``pipetask ingest``.
    configDir : str or Path, optional
        Directory of per-task overrides ``<task>.toml`` and ``<camera>/<task>.toml``.
    detectors : iterable of Detector
        Minimal geometry.
    rawDatasetType : str
        Dataset type that ``--id`` selects by default.
    calibSpec : CalibSpec, optional
        How raws are matched to calibration products (defaults: ``MJD-OBS``, one detector,
        filter from the ``FILTER`` keyword).
    defects : str or Path, optional
        The obs package's own defect list (used when no calibration repository holds one).
    """

    def __init__(
        self,
        name: str,
        keys: Mapping[str, type],
        datasetTypes: Iterable[DatasetType] = (),
        ingestRules: Iterable[IngestRule] = (),
        configDir: str | Path | None = None,
        detectors: Iterable[Detector] = (),
        rawDatasetType: str = "raw",
        calibSpec: CalibSpec | None = None,
        defects: str | Path | None = None,
    ) -> None:
        if not _IDENTIFIER.match(name):
            raise ButlerError(f"bad camera name {name!r}: use letters, digits and _")
        self.name = name
        self.keys: dict[str, type] = {}
        for key, kind in keys.items():
            if not _IDENTIFIER.match(key) or key in RESERVED_KEYS:
                raise ButlerError(f"camera {name!r}: {key!r} cannot be a data-ID key")
            if kind not in KEY_TYPES:
                raise ButlerError(f"camera {name!r}: key {key!r} must be int or str, not {kind}")
            self.keys[key] = kind
        self.datasetTypes: dict[str, DatasetType] = {}
        for dsType in datasetTypes:
            unknown = [k for k in dsType.keys if k not in self.keys]
            if unknown:
                raise ButlerError(
                    f"camera {name!r}: template of {dsType.name!r} uses unknown key(s) "
                    f"{', '.join(unknown)}; keys are {', '.join(self.keys)}"
                )
            self.datasetTypes[dsType.name] = dsType
        self.ingestRules = tuple(ingestRules)
        self.configDir = None if configDir is None else Path(configDir)
        self.detectors = tuple(detectors)
        self.rawDatasetType = rawDatasetType
        self.calibSpec = calibSpec or CalibSpec()
        if self.calibSpec.detectorKey not in (None, *self.keys):
            raise ButlerError(
                f"camera {name!r}: calib detector key {self.calibSpec.detectorKey!r} is not a key"
            )
        self.defects = None if defects is None else Path(defects)

    def __repr__(self) -> str:
        keys = ", ".join(f"{k}: {t.__name__}" for k, t in self.keys.items())
        return f"{type(self).__name__}({self.name!r}, keys={{{keys}}})"

    # -- dataset types -------------------------------------------------------------------
    def datasetType(self, name: str) -> DatasetType | None:
        """The camera's or a generic dataset type of this name, or None."""
        found = self.datasetTypes.get(name)
        return found if found is not None else genericDatasetType(name, self.keys)

    # -- geometry ------------------------------------------------------------------------
    def detectorId(self, dataId: Mapping[str, Any]) -> int:
        """The detector number of a data ID (0 for a one-detector camera)."""
        key = self.calibSpec.detectorKey
        if key is None:
            return 0
        if key not in dataId:
            raise DataIdError(f"data ID {dict(dataId)} lacks the detector key {key!r}")
        return int(dataId[key])

    def detectorFor(
        self, dataId: Mapping[str, Any], header: Mapping[str, Any] | None = None
    ) -> Detector:
        """The detector (with its amplifiers) a raw of ``dataId`` comes from.

        ``header`` is the raw's header, for cameras whose geometry depends on it.
        """
        number = self.detectorId(dataId)
        for detector in self.detectors:
            if detector.id == number:
                return detector
        known = ", ".join(str(d.id) for d in self.detectors) or "none"
        raise ButlerError(
            f"camera {self.name!r} has no detector {number} (data ID {dict(dataId)}); "
            f"its detectors: {known}"
        )

    def focalPlaneLayout(self) -> dict[int, tuple[str, tuple[float, float, float, float]]]:
        """Detector number -> (name, focal-plane box in mm) of every detector whose
        position the camera gives (empty: no layout to draw)."""
        return {d.id: (d.name, d.focalPlane) for d in self.detectors if d.focalPlane}

    # -- data IDs ------------------------------------------------------------------------
    def castDataId(self, dataId: Mapping[str, Any]) -> dict[str, Any]:
        """Check the keys and type each value; return a dict in the camera's key order."""
        unknown = [k for k in dataId if k not in self.keys]
        if unknown:
            raise DataIdError(
                f"unknown data ID key {unknown[0]!r} for camera {self.name!r}; "
                f"valid keys: {', '.join(self.keys)}"
            )
        return {k: castValue(k, dataId[k], self.keys[k]) for k in self.keys if k in dataId}

    # -- ingest --------------------------------------------------------------------------
    def readHeader(self, path: str, hdu: int = 0) -> Mapping[str, Any]:
        """Header keywords of one HDU of ``path``; obs packages that use headers override it."""
        raise UnidentifiedFile(f"camera {self.name!r} cannot read file headers")

    def verifyFile(self, path: str) -> None:
        """Raise :class:`BadFile` if ``path`` is unreadable or truncated (default: no check)."""

    def identify(self, path: str) -> tuple[str, dict[str, Any]]:
        """The dataset type and data ID of a file, by the first matching ingest rule.

        Raises
        ------
        UnidentifiedFile
            No rule matches, or a header keyword is missing.
        BadFile
            The file cannot be read.
        """
        base = os.path.basename(path)
        for rule in self.ingestRules:
            values: dict[str, Any] | None = rule.match(base)
            if values is None:
                continue
            if rule.header:
                header = self.readHeader(path, rule.hdu)
                for key, keyword in rule.header.items():
                    value = header.get(keyword)
                    if value is None or (isinstance(value, str) and not value.strip()):
                        raise UnidentifiedFile(f"no {keyword} in header {rule.hdu} for {key}")
                    values[key] = value.strip() if isinstance(value, str) else value
            try:
                dataId = self.castDataId(values)
            except DataIdError as exc:
                raise UnidentifiedFile(str(exc)) from None
            dsType = self.datasetType(rule.datasetType)
            if dsType is None:
                raise ButlerError(f"ingest rule names unknown dataset type {rule.datasetType!r}")
            missing = [k for k in dsType.keys if k not in dataId]
            if missing:
                raise UnidentifiedFile(f"cannot tell {', '.join(missing)} from name or header")
            return rule.datasetType, dataId
        raise UnidentifiedFile(f"name {base!r} matches no ingest rule of camera {self.name!r}")

    # -- config overrides ----------------------------------------------------------------
    def configOverrideFiles(self, taskName: str) -> list[Path]:
        """Existing override files for ``taskName``, lowest precedence first.

        ``config/<task>.toml`` then ``config/<camera>/<task>.toml``; missing ones are
        left out.
        """
        return [p for p in self.configOverrideCandidates(taskName) if p.is_file()]

    def configOverrideCandidates(self, taskName: str) -> list[Path]:
        """Where override files for ``taskName`` may be, lowest precedence first."""
        if self.configDir is None:
            return []
        return [
            self.configDir / f"{taskName}.toml",
            self.configDir / self.name / f"{taskName}.toml",
        ]


_TASK_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def metadataTemplate(taskName: str, keys: Iterable[str]) -> str:
    """Template of ``<task>_metadata``: one JSON file per data ID."""
    parts = "/".join(f"{k}={{{k}}}" for k in keys)
    return f"metadata/{taskName}/{parts}.json" if parts else f"metadata/{taskName}.json"


def genericDatasetType(name: str, keys: Mapping[str, type]) -> DatasetType | None:
    """``packages``, ``<task>_config`` and ``<task>_metadata``, which no camera declares."""
    if name == "packages":
        return DatasetType("packages", "config/packages.json", "builtins:dict", "json")
    for suffix in ("_config", "_metadata"):
        if name.endswith(suffix) and _TASK_NAME.match(name[: -len(suffix)]):
            task = name[: -len(suffix)]
            if suffix == "_config":
                return DatasetType(name, f"config/{task}.toml", "pipetask.config:Config", "toml")
            return DatasetType(name, metadataTemplate(task, keys), "builtins:dict", "json")
    return None


def loadCamera(name: str) -> Camera:
    """The installed camera ``name`` (an instance, or a subclass instantiated)."""
    from ..plugins import load_item

    obj = load_item("camera", name)
    if isinstance(obj, type):
        obj = obj()
    if not isinstance(obj, Camera):
        raise ButlerError(f"camera plugin {name!r} gave {obj!r}, not a Camera")
    return obj
