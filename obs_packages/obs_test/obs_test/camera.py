"""The ``test`` camera: one 1026x2000 CCD (a piece of LSST CCD R2,2 S0,0), keys visit, filter.

The CCD is four amplifiers (2 x 2), declared as LSST's obs_test camera description does;
how each value was obtained is told in :mod:`obs_test.derive`.

Files ``raw_v<visit>_f<filter>.fits[.gz]`` (plain raws) and ``exp_v<visit>_f<filter>...``
(LSST Exposure multi-extension files) are both ingested as ``raw``: the visit comes from
the file name, the filter from the ``FILTER`` keyword of the primary header.
"""

from __future__ import annotations

from pathlib import Path

from pipetask.butler.camera import (
    Amplifier,
    CalibSpec,
    DatasetType,
    Detector,
    IngestRule,
)
from pipetask_image.fits_camera import FitsCamera

EXPOSURE = "pipetask_image:Exposure"
TABLE = "astropy.table:Table"


#: Gains (e-/ADU) from LSST's obs_test camera description; read noise (e-) measured in the
#: prescans of the three raws (see obs_test.derive: noise in ADU times the gain).
_AMPLIFIERS = {
    # name: (x, y, gain, read noise)
    "00": (0, 0, 1.7741, 11.80),
    "10": (1, 0, 1.74151, 11.56),
    "01": (0, 1, 1.65881, 10.57),
    "11": (1, 1, 1.67073, 10.96),
}
RAW_AMP = (513, 1000)  # columns x rows of one amplifier in the raw
DATA_AMP = 509  # data columns, after 4 prescan columns
PRESCAN = 4
SATURATION = 54464.75  # ADU, the raws' SATURATE keyword (the description's 65535 is never reached)


def _amplifier(name: str, x: int, y: int, gain: float, readNoise: float) -> Amplifier:
    x0, y0 = x * RAW_AMP[0], y * RAW_AMP[1]
    rows = f"{y0 + 1}:{y0 + RAW_AMP[1]}"
    t0 = x * DATA_AMP
    return Amplifier(
        name,
        dataSec=f"[{x0 + PRESCAN + 1}:{x0 + RAW_AMP[0]},{rows}]",
        biasSec=f"[{x0 + 1}:{x0 + PRESCAN},{rows}]",
        trimSec=f"[{t0 + 1}:{t0 + DATA_AMP},{rows}]",
        gain=gain,
        readNoise=readNoise,
        saturation=SATURATION,
    )


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
        # The steps of the processing pipeline: characterizeImage's intermediates and the
        # per-visit table.
        DatasetType("icExp", "icExp/icExp_v{visit}_f{filter}.fits", EXPOSURE, "fits"),
        DatasetType(
            "icExpBackground", "icExp/icExpBackground_v{visit}_f{filter}.fits", EXPOSURE, "fits"
        ),
        DatasetType("icSrc", "icSrc/icSrc_v{visit}_f{filter}.fits", TABLE, "fitsTable"),
        DatasetType("visitSummary", "visitSummary/visitSummary_v{visit}.fits", TABLE, "fitsTable"),
        DatasetType("bias", "bias/bias.fits.gz", EXPOSURE, "fits", calib=True),
        DatasetType("flat", "flat/flat_f{filter}.fits.gz", EXPOSURE, "fits", calib=True),
        DatasetType(
            "defects", "defects/defects.fits", "pipetask_isr:Defects", "defects", calib=True
        ),
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
            tuple(_amplifier(name, *values) for name, values in _AMPLIFIERS.items()),
        )
    ],
    calibSpec=CalibSpec(filterKey="filter"),
    defects=Path(__file__).parent / "defects" / "defects_0.ecsv",
)
