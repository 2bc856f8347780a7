"""Benchmark of isrTask on the obs_test CCDs against a plain numpy + astropy script.

For each of the three obs_test raws (1026x2000, four amplifiers), in one process:

- ``isrTask``: ``IsrTask.runDataRef`` on a Butler data reference of a freshly ingested
  repository (read the raw, read the camera's defects, overscan, assembly, gain,
  saturation, defects, variance, interpolation, write ``postISRCCD`` atomically and
  register it);
- ``plain``: the same work as one function of numpy and astropy calls (read with
  ``astropy.io.fits``, the same per-amplifier steps, the same interpolation along rows,
  write the three planes with ``astropy.io.fits`` to a temporary name and rename).

The two outputs are compared pixel by pixel first (they must agree), then timed
interleaved, the minimum of ``--repeats`` runs each, so a loaded machine hurts both
alike. Target (issue 12): isrTask at most 1.3x plain. Nothing is asserted.

Usage: ``python benchmarks/isr.py [--repeats N]``
"""

from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.table import Table

OBS_TEST = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "obs_test"
PIPETASK = str(Path(sys.executable).with_name("pipetask"))
AMPS = {  # name: (x, y, gain, read noise e-), as obs_test declares them
    "00": (0, 0, 1.7741, 11.80),
    "10": (1, 0, 1.74151, 11.56),
    "01": (0, 1, 1.65881, 10.57),
    "11": (1, 1, 1.67073, 10.96),
}
SATURATION = 54464.75


def plainIsr(rawPath: Path, defectsPath: Path, outPath: Path) -> np.ndarray:
    """The ISR of obs_test as a plain script; returns the image it wrote."""
    image, mask, variance, header = plainIsrArrays(rawPath, defectsPath)
    hdus = fits.HDUList(
        [
            fits.PrimaryHDU(header=header),
            fits.ImageHDU(image, name="IMAGE"),
            fits.ImageHDU(mask, name="MASK"),
            fits.ImageHDU(variance, name="VARIANCE"),
        ]
    )
    tmp = outPath.with_name(".tmp-" + outPath.name)
    hdus.writeto(tmp, overwrite=True)
    os.replace(tmp, outPath)
    return image


def plainIsrArrays(rawPath: Path, defectsPath: Path):
    """The ISR of obs_test as plain calls: (image, mask, variance, header)."""
    with fits.open(rawPath) as hdus:
        raw = hdus[0].data.astype(np.float32)
        header = hdus[0].header.copy()
    image = np.empty((2000, 1018), np.float32)
    variance = np.empty_like(image)
    saturated = np.zeros(image.shape, bool)
    for x, y, gain, readNoise in AMPS.values():
        rows = slice(y * 1000, (y + 1) * 1000)
        data = raw[rows, x * 513 + 4 : (x + 1) * 513]
        level = np.median(raw[rows, x * 513 : x * 513 + 4])
        out = (rows, slice(x * 509, (x + 1) * 509))
        saturated[out] = data >= SATURATION
        image[out] = (data - level) * gain
        variance[out] = np.maximum(image[out], 0) + readNoise**2
    grown = saturated.copy()
    grown[1:] |= saturated[:-1]
    grown[:-1] |= saturated[1:]
    wide = grown.copy()
    wide[:, 1:] |= grown[:, :-1]
    wide[:, :-1] |= grown[:, 1:]
    bad = np.zeros(image.shape, bool)
    table = Table.read(defectsPath, format="ascii.ecsv")
    for x0, y0, w, h in zip(*(table[c] for c in ("x0", "y0", "width", "height")), strict=True):
        bad[y0 : y0 + h, x0 : x0 + w] = True
    interpolate = wide | bad
    columns = np.arange(image.shape[1])
    for row in np.nonzero(interpolate.any(axis=1))[0]:
        hit = interpolate[row]
        image[row, hit] = np.interp(columns[hit], columns[~hit], image[row, ~hit])
    mask = (
        (bad.astype(np.int32) << 0)
        | (wide.astype(np.int32) << 1)
        | (interpolate.astype(np.int32) << 2)
    )
    return image, mask, variance, header


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs of each (default 5)")
    args = parser.parse_args()
    raws = sorted((OBS_TEST / "raw").glob("raw_v*_f*.fits.gz"))
    if not raws:
        print(f"no obs_test raws under {OBS_TEST / 'raw'}", file=sys.stderr)
        return 2
    logging.getLogger("pipetask").setLevel(logging.WARNING)
    from obs_test.camera import camera
    from pipetask.butler import Butler
    from pipetask_image import Exposure
    from pipetask_isr.isr_task import IsrTask

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        subprocess.run(
            [PIPETASK, "ingest", str(root / "repo"), *map(str, raws), "--camera", "test"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        butler = Butler(root / "repo", output=root / "out")
        config = IsrTask.ConfigClass()
        config.doBias = config.doFlat = False  # obs_test's own overrides
        task = IsrTask(config=config)
        refs = butler.subset("raw")
        print(
            f"isrTask vs a plain numpy+astropy script, {len(refs)} obs_test CCDs, "
            f"min of {args.repeats} (machine shared with other jobs)"
        )
        total = {"isrTask": 0.0, "plain": 0.0}
        for ref, raw in zip(refs, raws, strict=True):
            plainOut = root / f"plain_{raw.name.split('.')[0]}.fits"
            task.runDataRef(ref)
            ours = Exposure.readFits(ref.getUri("postISRCCD")).image
            theirs = plainIsr(raw, camera.defects, plainOut)
            difference = float(np.max(np.abs(ours - theirs)))
            times = {"isrTask": [], "plain": []}
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                task.runDataRef(ref)
                t1 = time.perf_counter()
                plainIsr(raw, camera.defects, plainOut)
                t2 = time.perf_counter()
                times["isrTask"].append(t1 - t0)
                times["plain"].append(t2 - t1)
            best = {k: min(v) for k, v in times.items()}
            for k in total:
                total[k] += best[k]
            print(
                f"  {ref.dataId}: isrTask {best['isrTask'] * 1e3:7.1f} ms  plain "
                f"{best['plain'] * 1e3:7.1f} ms  ratio {best['isrTask'] / best['plain']:.2f}"
                f"  (max pixel difference {difference:.3g} e-)"
            )
        print(
            f"all CCDs: isrTask {total['isrTask'] * 1e3:.1f} ms, plain {total['plain'] * 1e3:.1f}"
            f" ms, ratio {total['isrTask'] / total['plain']:.2f} (target <= 1.3)"
        )
        butler.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
