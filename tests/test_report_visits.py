"""Per-visit plots of the HTML report: source counts, PSF width and background per CCD.

On obs_synth (a 2x4 mosaic with focal-plane positions) the report draws each visit as the
focal plane, from what ``processCcd`` wrote; the numbers are checked against the files
read directly with astropy and numpy. A camera without a layout (obs_test, one CCD) gets
a chart per number instead.
"""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from html import unescape
from pathlib import Path

import numpy as np
import pytest
from _browser import consoleErrors, pageRequests, visit
from _shared_data import makeSynthRepo
from _synth_frames import postIsrFromTruth
from astropy.io import fits
from astropy.table import Table
from PIL import Image

PIPETASK = str(Path(sys.executable).with_name("pipetask"))
SIZE = 160
VISITS, CCDS = 2, 3


@pytest.fixture(scope="module")
def processed(tmp_path_factory) -> tuple[Path, Path, str]:
    """processCcd over 2 visits x 3 CCDs of obs_synth (an exact ISR from the truth), and
    the HTML report of its output."""
    from pipetask import Butler

    root = tmp_path_factory.mktemp("visits")
    repo = makeSynthRepo(root / "repo", visits=VISITS, ccds=CCDS, size=SIZE)
    butler = Butler(repo)
    for v in range(1, VISITS + 1):
        for ccd in range(CCDS):
            exposure, _ = postIsrFromTruth(v, ccd, size=SIZE)
            butler.put(exposure, "postISRCCD", {"visit": v, "ccd": ccd})
    butler.close()
    out = root / "out"
    run = [PIPETASK, "run", "processCcd", repo, "--id", "--output", out, "-c"]
    done = subprocess.run([*run, "isr=readPostIsrCcd"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    page = root / "report.html"
    done = subprocess.run([PIPETASK, "report", out, "--html", page], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return out, page, page.read_text(encoding="utf-8")


def planes(html: str) -> dict[tuple[str, str], dict[str, tuple[float, float, str]]]:
    """(visit, title) -> detector -> (x, y, value or "no data") of the focal planes on
    the page (the value from the detector's tooltip, which has 7 digits)."""
    section = re.search(r'<section id="visits">(.*?)</section>', html).group(1)
    found = {}
    for group, body in re.findall(r"<h3>([^<]*)</h3><div class=\"plots\">(.*?)</div>", section):
        for title, svg in re.findall(r'<svg[^>]*aria-label="([^"]*)">(.*?)</svg>', body):
            cells = re.findall(
                r"<g><title>(\w+): ([^<]*)</title><rect x=\"([\d.]+)\" y=\"([\d.]+)\"", svg
            )
            found[(group, unescape(title))] = {
                name: (float(x), float(y), text.split(" ")[0] if text[0].isdigit() else text)
                for name, text, x, y in cells
            }
    return found


def test_focal_planes_show_what_processing_wrote(processed):
    out, _, html = processed
    shown = planes(html)
    for v in range(1, VISITS + 1):
        sources = shown[(f"visit={v}", "sources")]
        psf = shown[(f"visit={v}", "PSF FWHM")]
        background = next(p for (g, t), p in shown.items() if g == f"visit={v}" and "back" in t)
        for ccd in range(CCDS):
            name = f"S0{ccd}"
            table = Table.read(out / "src" / f"v{v}" / f"src_v{v}_c{ccd}.fits")
            assert float(sources[name][2]) == len(table) > 0
            header = fits.getheader(out / "calexp" / f"v{v}" / f"calexp_v{v}_c{ccd}.fits", 0)
            assert math.isclose(float(psf[name][2]), header["PSF_FWHM"], rel_tol=1e-3)
            with fits.open(out / "calexp" / f"v{v}" / f"bkgd_v{v}_c{ccd}.fits") as hdus:
                pixels = next(h.data for h in hdus if h.data is not None and h.data.ndim == 2)
            assert math.isclose(float(background[name][2]), np.median(pixels), rel_tol=1e-3)
        # laid out as the mosaic: S00..S03 left to right along the bottom row, S10.. above
        assert sources["S00"][0] < sources["S01"][0] < sources["S02"][0] < sources["S03"][0]
        assert sources["S00"][1] == sources["S02"][1] > sources["S10"][1]
        assert sources["S13"][2] == "no data"  # not processed
    assert html.count("<svg") - html.count('aria-label="task graph"') >= 3 * VISITS


def test_focal_planes_render_in_a_browser(processed, tmp_path):
    _, page, _ = processed
    seen = visit(page, tmp_path)
    assert pageRequests(seen.requests) == [] and consoleErrors(seen.log) == []
    shot = np.asarray(Image.open(seen.screenshot).convert("RGB")).astype(int)

    def count(rgb):
        return int((np.abs(shot - np.array(rgb)).sum(axis=2) < 8).sum())

    # each visit's plots shade its lowest CCD dark purple and its highest yellow
    assert count((68, 1, 84)) > 2000 and count((253, 231, 37)) > 2000


def test_a_camera_without_a_layout_gets_charts(tmp_path):
    """obs_test has one CCD and no focal-plane layout: a chart of each number per visit."""
    from pipetask import Butler
    from pipetask.butler.repository import Repository
    from pipetask.report.model import QuantumRow
    from pipetask.report.visits import visitPlots
    from pipetask_image import Exposure, MaskedImage

    Repository.create(tmp_path / "repo", "test")
    butler = Butler(tmp_path / "repo")
    rows, expected = [], {}
    for v, (count, fwhm, sky) in {1: (5, 3.5, 100.0), 2: (9, 4.25, 250.0)}.items():
        dataId = {"visit": v, "filter": "r"}
        exposure = Exposure(MaskedImage(np.zeros((8, 8), np.float32)))
        exposure.metadata["PSF_FWHM"] = fwhm
        butler.put(exposure, "calexp", dataId)
        butler.put(
            Exposure(MaskedImage(np.full((8, 8), sky, np.float32))), "calexpBackground", dataId
        )
        butler.put(Table({"id": np.arange(count)}), "src", dataId)
        rows.append(QuantumRow("processCcd", dataId, "succeeded"))
        expected[v] = (count, fwhm, sky)
    rows.append(QuantumRow("processCcd", {"visit": 3, "filter": "r"}, "failed"))
    planesFound, charts = visitPlots(butler, rows)
    butler.close()
    assert planesFound == []
    byName = {chart.yLabel: chart for chart in charts}
    assert byName["sources"].series == {"": [(1.0, 5.0), (2.0, 9.0)]}
    assert byName["PSF FWHM (px)"].series == {"": [(1.0, 3.5), (2.0, 4.25)]}
    background = next(c for name, c in byName.items() if name.startswith("background"))
    assert background.series == {"": [(1.0, 100.0), (2.0, 250.0)]}
    assert all(chart.xLabel == "visit" for chart in charts)


def test_memory_is_shown_when_recorded_and_said_absent_otherwise(processed):
    """The summary's memory cells follow the run record: values where it has maxRss,
    one "not recorded" cell where it has none."""
    out, _, html = processed
    lines = [
        json.loads(line)
        for path in (out / "runs" / "processCcd").glob("*.jsonl")
        for line in path.read_text().splitlines()
    ]
    recorded = [line["maxRss"] for line in lines if "maxRss" in line]
    row = re.search(r"<tr><td><b>processCcd</b>.*?</tr>", html).group(0)
    if recorded:
        peak = max(recorded)
        assert "not recorded" not in row and re.search(r"\d (?:KiB|MiB|GiB)</td>", row)
        assert peak > 10 * 2**20  # a Python process with numpy loaded: tens of MiB at least
    else:
        assert row.count("peak memory not recorded") == 1
        assert "wall time not recorded" not in row
