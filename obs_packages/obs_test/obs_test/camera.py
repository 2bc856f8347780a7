"""The ``test`` camera: one 1026x2000 CCD (a piece of LSST CCD R2,2 S0,0), keys visit, filter.

Files ``raw_v<visit>_f<filter>.fits[.gz]`` (plain raws) and ``exp_v<visit>_f<filter>...``
(LSST Exposure multi-extension files) are both ingested as ``raw``: the visit comes from
the file name, the filter from the ``FILTER`` keyword of the primary header.
"""

from __future__ import annotations

from pathlib import Path

from pipetask.butler.camera import (
    Amplifier,
    DatasetType,
    Detector,
    IngestRule,
)
from pipetask_image.fits_camera import FitsCamera

EXPOSURE = "pipetask_image:Exposure"
TABLE = "astropy.table:Table"


camera = FitsCamera(
    name="test",
    keys={"visit": int, "filter": str},
    datasetTypes=[
        DatasetType("raw", "raw/raw_v{visit}_f{filter}.fits.gz", EXPOSURE, "fits"),
        DatasetType(
            "postISRCCD", "postISRCCD/postISRCCD_v{visit}_f{filter}.fits", EXPOSURE, "fits"
        ),
        DatasetType("calexp", "calexp/calexp_v{visit}_f{filter}.fits", EXPOSURE, "fits"),
        DatasetType("calexpBackground", "calexp/bkgd_v{visit}_f{filter}.fits", EXPOSURE, "fits"),
        DatasetType("src", "src/src_v{visit}_f{filter}.fits", TABLE, "fitsTable"),
        DatasetType("bias", "bias/bias.fits.gz", EXPOSURE, "fits", calib=True),
        DatasetType("flat", "flat/flat_f{filter}.fits.gz", EXPOSURE, "fits", calib=True),
    ],
    ingestRules=[
        IngestRule(r"^(?:raw|exp)_v(?P<visit>\d+)_f[^_/]*\.fits(?:\.gz)?$", {"filter": "FILTER"}),
    ],
    configDir=Path(__file__).parent / "config",
    detectors=[
        Detector(
            0,
            "R22_S00",
            (1026, 2000),
            (Amplifier("0", dataSec="[1:513,1:2001]", biasSec="[1:4,1:2001]"),),
        )
    ],
)
