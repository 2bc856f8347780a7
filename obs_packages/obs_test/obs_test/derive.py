"""How the obs_test camera's amplifier values and defects were derived from the data.

LSST's obs_test camera description (``testCamera.py``) gives the geometry, which we use
as is: one detector of four amplifiers ``00 10 01 11`` (x, y), each 513 columns x 1000
rows in the raw, 4 bias (prescan) columns before 509 data columns, no overscan rows;
trimmed, the detector is 1018 x 2000. It also gives each amplifier's gain (e-/ADU),
which we use as is: with them the sky is flat across the amplifiers to about 0.35%.

Its read noise (3.975-4.19 e-) does not match the data: the prescan scatters by
6.3-6.7 ADU. ``python -m obs_test.derive DATA_DIR`` measures, on the three raws, each
amplifier's bias level and prescan noise (ADU, times the gain gives the read noise in
electrons declared in :mod:`obs_test.camera`), and finds the defects: the pixels at or
above the header's ``SATURATE`` (54464.75 ADU) in all three raws (269 isolated hot
pixels and a hot column), written in trimmed coordinates to ``defects/defects_0.ecsv``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

DEFECTS_FILE = Path(__file__).parent / "defects" / "defects_0.ecsv"
SATURATION = 54464.75
#: Calib date of the derived defects (before the first raw).
DEFECTS_DATE = "1999-01-01"


def readRaws(dataDir: str | Path) -> list[Any]:
    """The three raw pixel arrays (float64) of ``DATA_DIR/raw``."""
    import numpy as np
    from astropy.io import fits

    paths = sorted(Path(dataDir, "raw").glob("raw_v*_f*.fits.gz"))
    if not paths:
        raise FileNotFoundError(f"no raw_v*_f*.fits.gz under {Path(dataDir, 'raw')}")
    return [fits.getdata(p).astype(np.float64) for p in paths]


def measureAmplifiers(raws: list[Any]) -> dict[str, dict[str, float]]:
    """Per amplifier: median prescan level and prescan noise (ADU) over ``raws``."""
    import numpy as np

    from .camera import camera

    result = {}
    for amp in camera.detectors[0].amplifiers:
        rows, cols = _box(amp.biasSec)
        prescan = [raw[rows, cols] for raw in raws]
        result[amp.name] = {
            "bias": float(np.median(np.concatenate([p.ravel() for p in prescan]))),
            "noise": float(np.mean([p.std() for p in prescan])),
            "gain": amp.gain,
        }
    return result


def hotPixelMask(raws: list[Any], saturation: float = SATURATION) -> Any:
    """Trimmed-image mask of the pixels at or above ``saturation`` in every raw."""
    import numpy as np

    from .camera import camera

    everywhere = np.logical_and.reduce([raw >= saturation for raw in raws])
    amps = camera.detectors[0].amplifiers
    shape = (max(_box(a.trimSec)[0].stop for a in amps), max(_box(a.trimSec)[1].stop for a in amps))
    trimmed = np.zeros(shape, bool)
    for amp in amps:
        trimmed[_box(amp.trimSec)] = everywhere[_box(amp.dataSec)]
    return trimmed


def _box(section: str) -> tuple[slice, slice]:
    x, y = section.strip("[]").split(",")
    x0, x1 = (int(v) for v in x.split(":"))
    y0, y1 = (int(v) for v in y.split(":"))
    return slice(y0 - 1, y1), slice(x0 - 1, x1)


def main(argv: list[str] | None = None) -> int:
    """Print the measured values and write the defects file."""
    from pipetask_isr.defects import Defects

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m obs_test.derive DATA_DIR (holding raw/raw_v*_f*.fits.gz)")
        return 2
    raws = readRaws(args[0])
    for name, values in measureAmplifiers(raws).items():
        noise = values["noise"]
        print(
            f"amplifier {name}: bias {values['bias']:.1f} ADU, prescan noise {noise:.3f} ADU "
            f"= {noise * values['gain']:.3f} e-"
        )
    hot = hotPixelMask(raws)
    defects = Defects.fromMask(
        hot, {"CALIBDATE": DEFECTS_DATE, "DETECTOR": 0, "ORIGIN": "obs_test.derive"}
    )
    DEFECTS_FILE.parent.mkdir(exist_ok=True)
    defects.writeText(DEFECTS_FILE)
    print(f"{int(hot.sum())} defect pixels in {len(defects)} boxes -> {DEFECTS_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
