"""The ``synth`` camera: a 2x4 mosaic of 544x512-pixel CCDs (512 data + 32 overscan columns).

Data IDs have keys ``visit`` and ``ccd`` (both int), read at ingest from the ``VISIT`` and
``CCD`` keywords of the primary header, whatever the file is called. The simulator's truth
files (``*_v<visit>_c<ccd>.truth.json``) are ingested too, as the ``truth`` dataset type.
"""

from __future__ import annotations

from pathlib import Path

from pipetask.butler.camera import Amplifier, BadFile, DatasetType, Detector, IngestRule
from pipetask_image.fits_camera import FitsCamera, verifyFile

EXPOSURE = "pipetask_image:Exposure"
TABLE = "astropy.table:Table"
#: Pixels per side of a CCD's data section, and overscan columns, as simulated by default.
SIZE = 512
OVERSCAN = 32
NCCD = 8


def _detector(ccd: int) -> Detector:
    amp = Amplifier(
        "A",
        dataSec=f"[1:{SIZE},1:{SIZE}]",
        biasSec=f"[{SIZE + 1}:{SIZE + OVERSCAN},1:{SIZE}]",
    )
    return Detector(ccd, f"S{ccd // 4}{ccd % 4}", (SIZE + OVERSCAN, SIZE), (amp,))


class SynthCamera(FitsCamera):
    """FITS raws plus the simulator's JSON truth files."""

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
        DatasetType("bias", "bias/bias_c{ccd}.fits", EXPOSURE, "fits", calib=True),
        DatasetType("flat", "flat/flat_c{ccd}.fits", EXPOSURE, "fits", calib=True),
    ],
    ingestRules=[
        IngestRule(r"_v(?P<visit>\d+)_c(?P<ccd>\d+)\.truth\.json$", datasetType="truth"),
        IngestRule(r"\.fits(?:\.gz)?$", {"visit": "VISIT", "ccd": "CCD"}),
    ],
    configDir=Path(__file__).parent / "config",
    detectors=[_detector(ccd) for ccd in range(NCCD)],
)
