"""The ``synth`` camera: a 2x4 mosaic of 544x512-pixel CCDs (512 data + 32 overscan columns).

Data IDs have keys ``visit`` and ``ccd`` (both int), read at ingest from the ``VISIT`` and
``CCD`` keywords of the primary header, whatever the file is called. The simulator's truth
files (``*_v<visit>_c<ccd>.truth.json``) are ingested too, as the ``truth`` dataset type.
"""

from __future__ import annotations

from pathlib import Path

from pipetask.butler.camera import (
    Amplifier,
    BadFile,
    CalibSpec,
    DatasetType,
    Detector,
    IngestRule,
)
from pipetask_image.fits_camera import FitsCamera, verifyFile

from .simulate import READ_NOISE, SATURATE_ADU, gainFor

EXPOSURE = "pipetask_image:Exposure"
TABLE = "astropy.table:Table"
#: Pixels per side of a CCD's data section, and overscan columns, as simulated by default.
SIZE = 512
OVERSCAN = 32
NCCD = 8


#: Pixel size and the gap between neighbouring CCDs in the focal plane, in mm.
PIXEL_MM = 0.015
GAP_MM = 0.5
#: The mosaic: CCD ``ccd`` is in row ``ccd // COLUMNS`` and column ``ccd % COLUMNS``.
COLUMNS = 4


def focalPlaneBox(ccd: int) -> tuple[float, float, float, float]:
    """Where CCD ``ccd``'s data pixels sit in the 2x4 mosaic (mm, centred on the axis)."""
    side = SIZE * PIXEL_MM
    rows = NCCD // COLUMNS
    x0 = (ccd % COLUMNS - COLUMNS / 2) * (side + GAP_MM) + GAP_MM / 2
    y0 = (ccd // COLUMNS - rows / 2) * (side + GAP_MM) + GAP_MM / 2
    return (round(x0, 3), round(y0, 3), round(x0 + side, 3), round(y0 + side, 3))


def _detector(ccd: int, size: int = SIZE, overscan: int = OVERSCAN) -> Detector:
    """CCD ``ccd``: one amplifier, its overscan columns to the right of the data."""
    amp = Amplifier(
        "A",
        dataSec=f"[1:{size},1:{size}]",
        biasSec=f"[{size + 1}:{size + overscan},1:{size}]",
        trimSec=f"[1:{size},1:{size}]",
        gain=gainFor(ccd),
        readNoise=READ_NOISE,
        saturation=SATURATE_ADU,
    )
    name = f"S{ccd // COLUMNS}{ccd % COLUMNS}"
    return Detector(ccd, name, (size + overscan, size), (amp,), focalPlaneBox(ccd))


class SynthCamera(FitsCamera):
    """FITS raws plus the simulator's JSON truth files.

    The simulator makes CCDs of any size (tests use small ones): a raw whose size is not
    the declared 544x512 gets the same amplifier with sections scaled to its size, read
    from its ``NAXIS1``/``NAXIS2`` (the overscan is the columns past the square data).
    """

    def detectorFor(self, dataId, header=None) -> Detector:
        detector = super().detectorFor(dataId, header)
        if header is None or "NAXIS1" not in header or "NAXIS2" not in header:
            return detector
        columns, rows = int(header["NAXIS1"]), int(header["NAXIS2"])
        if (columns, rows) == detector.size or columns <= rows:
            return detector
        return _detector(detector.id, rows, columns - rows)

    def verifyFile(self, path: str) -> None:
        if path.endswith(".json"):
            _verifyJson(path)
        else:
            verifyFile(path)


def _verifyJson(path: str) -> None:
    import json

    try:
        with open(path, encoding="utf-8") as stream:
            json.load(stream)
    except (OSError, ValueError) as exc:
        raise BadFile(f"not a readable JSON truth file: {exc}") from None


camera = SynthCamera(
    name="synth",
    keys={"visit": int, "ccd": int},
    datasetTypes=[
        DatasetType("raw", "raw/v{visit}/raw_v{visit}_c{ccd}.fits", EXPOSURE, "fits"),
        DatasetType(
            "postISRCCD", "postISRCCD/v{visit}/postISRCCD_v{visit}_c{ccd}.fits", EXPOSURE, "fits"
        ),
        DatasetType("calexp", "calexp/v{visit}/calexp_v{visit}_c{ccd}.fits", EXPOSURE, "fits"),
        DatasetType(
            "calexpBackground", "calexp/v{visit}/bkgd_v{visit}_c{ccd}.fits", EXPOSURE, "fits"
        ),
        DatasetType("src", "src/v{visit}/src_v{visit}_c{ccd}.fits", TABLE, "fitsTable"),
        DatasetType("truth", "truth/v{visit}/truth_v{visit}_c{ccd}.json", "builtins:dict", "json"),
        # The steps of the processing pipeline (isr -> characterizeImage -> calibrate ->
        # visitSummary): characterizeImage's intermediates and the per-visit table.
        DatasetType("icExp", "icExp/v{visit}/icExp_v{visit}_c{ccd}.fits", EXPOSURE, "fits"),
        DatasetType(
            "icExpBackground",
            "icExp/v{visit}/icExpBackground_v{visit}_c{ccd}.fits",
            EXPOSURE,
            "fits",
        ),
        DatasetType("icSrc", "icSrc/v{visit}/icSrc_v{visit}_c{ccd}.fits", TABLE, "fitsTable"),
        DatasetType("visitSummary", "visitSummary/visitSummary_v{visit}.fits", TABLE, "fitsTable"),
        DatasetType("bias", "bias/bias_c{ccd}.fits", EXPOSURE, "fits", calib=True),
        DatasetType("flat", "flat/flat_c{ccd}.fits", EXPOSURE, "fits", calib=True),
        DatasetType(
            "defects", "defects/defects_c{ccd}.fits", "pipetask_isr:Defects", "defects", calib=True
        ),
    ],
    ingestRules=[
        IngestRule(r"_v(?P<visit>\d+)_c(?P<ccd>\d+)\.truth\.json$", datasetType="truth"),
        IngestRule(r"\.fits(?:\.gz)?$", {"visit": "VISIT", "ccd": "CCD"}),
    ],
    configDir=Path(__file__).parent / "config",
    detectors=[_detector(ccd) for ccd in range(NCCD)],
    calibSpec=CalibSpec(detectorKey="ccd"),
)
