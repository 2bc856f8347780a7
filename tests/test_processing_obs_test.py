"""processCcd on the three real obs_test CCDs through the ``pipetask`` command, from the
raws (its isr subtask is the real isrTask), against ``sep`` called directly on the same
postISRCCD pixels and against its own photutils retarget.

For the comparison with sep, processCcd runs with cosmic-ray repair off, the background at
sep's own level (``statisticsProperty = "MODE"``) and no re-estimate after detection, so
that its calexp is exactly the postISRCCD minus ``sep.Background``. The reference is
``sep.Background`` -> ``sep.extract`` -> ``sep.winpos`` -> ``sep.sum_circle`` at 12 pixels,
written here without any pipetask code. The photutils retarget is compared with the
default configuration, each with every option at its default.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from _shared_data import DATA_IDS, obsTestData

PIPETASK = str(Path(sys.executable).with_name("pipetask"))
ROOT = Path(__file__).resolve().parents[1]
CALIB = "base_CircularApertureFlux_12_0"
SEP_LEVEL = [
    "-c", "charImage.repair=noRepair",
    "-c", "charImage.background.statisticsProperty=MODE",
    "-c", "charImage.detection.reEstimateBackground=false",
    "-c", "calibrate.detection.reEstimateBackground=false",
]  # fmt: skip


def pipetask(*args, timeout=900) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIPE_")}
    return subprocess.run(
        [PIPETASK, *map(str, args)], capture_output=True, text=True, env=env, timeout=timeout
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> Path:
    data = obsTestData()
    root = tmp_path_factory.mktemp("obs_test_proc")
    raws = [data / "raw" / f"raw_v{v}_f{f}.fits.gz" for v, f in DATA_IDS]
    done = pipetask("ingest", root / "repo", *raws, "--camera", "test")
    assert done.returncode == 0, done.stderr
    for output, options in (
        ("isr", ["isrTask"]),  # the postISRCCDs sep is run on
        ("sep", ["processCcd", *SEP_LEVEL]),
        ("default", ["processCcd"]),
        ("phot", ["processCcd", "-C", ROOT / "examples/configs/processccd_photutils.toml"]),
    ):
        task, *rest = options
        # two processes: the same catalogs as serially (test_processing_pipeline checks it)
        proc = pipetask(
            "run", task, root / "repo", "--id", "--output", root / output, "-j", "2", *rest
        )
        assert proc.returncode == 0, proc.stderr
    return root


def test_processCcd_runs_isr_itself_and_does_not_write_postISRCCD(runs):
    assert sorted(p.name for p in (runs / "isr" / "postISRCCD").iterdir())
    assert not (runs / "default" / "postISRCCD").exists()
    assert len(list((runs / "default" / "calexp").glob("calexp_*.fits"))) == 3


def catalog(root: Path, run: str, visit: int, band: str):
    from astropy.table import Table

    return Table.read(root / run / "src" / f"src_v{visit}_f{band}.fits")


def sepDirect(postIsr, sigma: float):
    """The reference: sep alone on the postISRCCD pixels (positions, 12-pixel fluxes, S/N)."""
    import sep

    image = np.ascontiguousarray(postIsr.image, dtype=np.float32)
    planes = postIsr.maskedImage.maskPlanes
    bits = sum(1 << planes[p] for p in ("BAD", "EDGE", "NO_DATA") if p in planes)
    ignored = np.ascontiguousarray((postIsr.mask & bits) != 0)
    data = np.ascontiguousarray(np.where(ignored, 0.0, image), dtype=np.float32)
    back = sep.Background(data, mask=ignored, bw=128, bh=128, fw=3, fh=3)
    sub = image - back.back()
    sep.set_extract_pixstack(sub.size)
    objects = sep.extract(sub, 5.0, err=back.globalrms, minarea=5)
    x, y, _ = sep.winpos(sub, objects["x"], objects["y"], np.full(len(objects), sigma))
    variance = np.ascontiguousarray(postIsr.variance, dtype=np.float32)
    flux, err, _ = sep.sum_circle(sub, x, y, 12.0, var=variance, subpix=0)
    return x, y, flux, flux / err


def nearestMatch(x, y, ox, oy):
    """Index of the nearest (ox, oy) to each (x, y), and its distance."""
    d2 = (x[:, None] - ox[None, :]) ** 2 + (y[:, None] - oy[None, :]) ** 2
    nearest = d2.argmin(axis=1)
    return nearest, np.sqrt(d2[np.arange(len(x)), nearest])


def awayFromSaturation(exposure, x, y, margin: int = 20) -> np.ndarray:
    """Positions more than ``margin`` pixels from any saturated pixel, with a whole
    12-pixel aperture on the image: saturated stars and their surroundings have no
    well-defined centre, and an aperture off the image is no flux."""
    from pipetask_processing.imaging import dilate

    sat = dilate((exposure.mask & exposure.maskedImage.getPlaneBitMask("SAT")) != 0, margin)
    rows, cols = exposure.image.shape
    inside = (x >= 12) & (y >= 12) & (x < cols - 12) & (y < rows - 12)
    col = np.clip(np.rint(x).astype(int), 0, cols - 1)
    row = np.clip(np.rint(y).astype(int), 0, rows - 1)
    return inside & ~sat[row, col]


@pytest.mark.parametrize(("visit", "band"), DATA_IDS)
def test_sources_agree_with_sep_called_directly(runs, visit, band):
    from pipetask_image import Exposure

    postIsr = Exposure.readFits(runs / "isr" / "postISRCCD" / f"postISRCCD_v{visit}_f{band}.fits")
    calexp = Exposure.readFits(runs / "sep" / "calexp" / f"calexp_v{visit}_f{band}.fits")
    x, y, flux, snr = sepDirect(postIsr, float(calexp.metadata["PSFSIGMA"]))
    ours = catalog(runs, "sep", visit, band)  # every row: sep's objects may be blends
    bright = np.flatnonzero((snr > 20) & awayFromSaturation(postIsr, x, y))
    assert len(bright) >= 20
    nearest, distance = nearestMatch(
        x[bright],
        y[bright],
        np.asarray(ours["slot_Centroid_x"]),
        np.asarray(ours["slot_Centroid_y"]),
    )
    oflux = np.asarray(ours[CALIB + "_instFlux"])[nearest]
    agree = ((distance <= 0.5) & (np.abs(oflux / flux[bright] - 1) <= 1e-3)).mean()
    print(f"\nobs_test visit {visit}: {agree:.4f} of {len(bright)} S/N>20 sep sources agree")
    assert agree >= 0.99


def test_photutils_retarget_agrees_with_the_default(runs):
    """Over the three CCDs (each CCD's figure is printed)."""
    from pipetask_image import Exposure

    agreeing = total = 0
    for visit, band in DATA_IDS:
        calexp = Exposure.readFits(runs / "default" / "calexp" / f"calexp_v{visit}_f{band}.fits")
        ours = catalog(runs, "default", visit, band)
        theirs = catalog(runs, "phot", visit, band)
        ours = ours[np.asarray(ours["deblend_nChild"]) == 0]
        theirs = theirs[np.asarray(theirs["deblend_nChild"]) == 0]
        x, y = np.asarray(ours["slot_Centroid_x"]), np.asarray(ours["slot_Centroid_y"])
        flux = np.asarray(ours[CALIB + "_instFlux"])
        snr = flux / np.asarray(ours[CALIB + "_instFluxErr"])
        bright = np.flatnonzero((snr > 20) & awayFromSaturation(calexp, x, y))
        assert len(bright) >= 20
        nearest, distance = nearestMatch(
            x[bright],
            y[bright],
            np.asarray(theirs["slot_Centroid_x"]),
            np.asarray(theirs["slot_Centroid_y"]),
        )
        ratio = np.asarray(theirs[CALIB + "_instFlux"])[nearest] / flux[bright]
        agree = (distance <= 1.0) & (np.abs(ratio - 1) <= 5e-3)
        print(f"\nobs_test visit {visit}: photutils agrees for {agree.sum()} of {len(bright)}")
        agreeing, total = agreeing + int(agree.sum()), total + len(bright)
    print(f"all three: {agreeing / total:.4f} of {total}")
    assert agreeing / total >= 0.9


@pytest.mark.parametrize(("visit", "band"), DATA_IDS)
def test_no_detection_sits_on_a_defect(runs, visit, band):
    from pipetask_image import Exposure

    for run in ("default", "phot"):
        calexp = Exposure.readFits(runs / run / "calexp" / f"calexp_v{visit}_f{band}.fits")
        table = catalog(runs, run, visit, band)
        bad = (calexp.mask & calexp.maskedImage.getPlaneBitMask("BAD")) != 0
        assert bad.sum() >= 200  # the camera's defects are there
        col = np.rint(np.asarray(table["slot_Centroid_x"])).astype(int)
        row = np.rint(np.asarray(table["slot_Centroid_y"])).astype(int)
        assert not bad[row, col].any(), table[bad[row, col]]
