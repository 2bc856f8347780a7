"""Helpers of the ISR tests: the real ``pipetask`` command and small calibration files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

PIPETASK = str(Path(sys.executable).parent / "pipetask")


def pipetask(*args, cwd=None, timeout=300) -> subprocess.CompletedProcess:
    """Run ``pipetask ARGS`` and capture its output."""
    return subprocess.run(
        [PIPETASK, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=timeout
    )


def simulate(outdir: Path, *options) -> None:
    """What ``python -m obs_synth.simulate OUTDIR OPTIONS`` does, in this process (the
    command line itself is tested in test_simulate_calibs)."""
    import contextlib
    import io

    from obs_synth.simulate import main

    with contextlib.redirect_stdout(io.StringIO()):
        assert main([str(outdir), *map(str, options)]) == 0


def writeCalib(
    path: Path, kind: str, date: str, detector: int, value, shape=(32, 32), filterName=None
) -> Path:
    """A calibration file (constant ``value``, or an array) with the headers ingest reads."""
    from pipetask_image import Exposure, MaskedImage

    image = np.broadcast_to(np.asarray(value, np.float32), shape).copy()
    exposure = Exposure(MaskedImage(image), filter=filterName)
    exposure.metadata["OBSTYPE"] = kind
    exposure.metadata["HIERARCH CALIBDATE"] = date
    exposure.metadata["DETECTOR"] = detector
    path.parent.mkdir(parents=True, exist_ok=True)
    exposure.writeFits(path)
    return path


def mjd(date: str, hour: float = 12.0) -> float:
    """The MJD of ``date`` (YYYY-MM-DD) at ``hour`` UTC."""
    import datetime

    day = datetime.date.fromisoformat(date) - datetime.date(1858, 11, 17)
    return day.days + hour / 24.0
