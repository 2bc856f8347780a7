"""The pipetask demo: build a repository of synthetic images and run tasks over it.

Every step is a ``pipetask`` command, printed before it runs, so you can repeat it by
hand. Everything is written under ``demo/`` in the working directory (rebuilt each time).

    python examples/demo.py [--dir DEMO_DIR]
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys

BIN = os.path.dirname(sys.executable)
PIPETASK = os.path.join(BIN, "pipetask")


def step(title: str, *command: str, expect: int = 0) -> None:
    """Print and run one command; stop the demo if its exit status is unexpected."""
    short = {PIPETASK: "pipetask", sys.executable: "python"}
    shown = " ".join(short.get(c, shlex.quote(c)) for c in command)
    print(f"\n### {title}\n$ {shown}", flush=True)
    status = subprocess.call(list(command))
    if status != expect:
        print(f"demo: expected exit status {expect}, got {status}", file=sys.stderr)
        sys.exit(1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default="demo", help="where to build the demo (default demo/)")
    args = parser.parse_args()
    root = os.path.abspath(args.dir)
    if os.path.exists(root):
        shutil.rmtree(root)
    raws, repo, out = (os.path.join(root, name) for name in ("raw_files", "repo", "out"))

    step("Installed tasks, cameras and executors", PIPETASK, "list")
    step(
        "Simulate 3 visits x 4 CCDs of the synth camera (sky, stars, cosmic rays, a bad column)",
        sys.executable,
        "-m",
        "obs_synth.simulate",
        raws,
        "--visits",
        "3",
        "--ccds",
        "4",
    )
    step("Ingest them into a new repository", PIPETASK, "ingest", repo, raws, "--camera", "synth")
    step(
        "Which data IDs does --id visit=1..2 ccd=1^3 select?",
        PIPETASK,
        "run",
        "exampleTask",
        repo,
        "--id",
        "visit=1..2",
        "ccd=1^3",
        "--show",
        "data",
    )
    step("The subtask tree", PIPETASK, "run", "exampleTask", repo, "--show", "tasks")
    step(
        "Run exampleTask (sigma-clipped statistics) on visit 1",
        PIPETASK,
        "run",
        "exampleTask",
        repo,
        "--id",
        "visit=1",
    )
    step(
        "The same with the simple statistics, retargeted from the command line",
        PIPETASK,
        "run",
        "exampleTask",
        repo,
        "--id",
        "visit=1",
        "ccd=1",
        "-c",
        "stats._target=simpleStats",
    )
    step(
        "statsWriter over everything on 2 processes, into an output repository",
        PIPETASK,
        "run",
        "statsWriter",
        repo,
        "--id",
        "--output",
        out,
        "-j",
        "2",
    )
    step(
        "Run again with a different config: refused, with the differences (exit 2)",
        PIPETASK,
        "run",
        "statsWriter",
        repo,
        "--id",
        "--output",
        out,
        "-c",
        "stats.numSigmaClip=5",
        expect=2,
    )
    step(
        "A mistake in --id gets one clear line (exit 2)",
        PIPETASK,
        "run",
        "exampleTask",
        repo,
        "--id",
        "visit=abc",
        expect=2,
    )
    calib = calibrate(root, repo)
    process(root, repo, out, calib)
    print(f"\nDemo done. Explore {repo} and {out}; try 'pipetask run --help'.")
    return 0


def process(root: str, repo: str, out: str, calib: str) -> None:
    """processCcd from the raws: calexps and source catalogs; then the HTML report."""
    step(
        "processCcd with --calib: isr (overscan, bias, flat, gain, saturation, variance), "
        "cosmic rays, background, PSF, detect, deblend, measure -> calexp, calexpBackground, "
        "src",
        PIPETASK,
        "run",
        "processCcd",
        repo,
        "--id",
        "visit=1..3",
        "--output",
        out,
        "--calib",
        calib,
        "-j",
        "2",
    )
    from astropy.table import Table

    catalog = os.path.join(out, "src", "v1", "src_v1_c0.fits")
    table = Table.read(catalog)
    columns = ["id", "coord_ra", "coord_dec", "slot_Centroid_x", "slot_Centroid_y"]
    columns += [c for c in table.colnames if c.endswith("12_0_instFlux")][:1]
    print(f"\n### A few rows of {os.path.relpath(catalog)} ({len(table)} sources)")
    table[columns][:5].pprint(max_width=-1)
    late = os.path.join(root, "late_raw")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "obs_synth.simulate",
            late,
            "--ccds",
            "1",
            "--visits",
            "1",
            "--first-visit",
            "50",
            "--mjd",
            "60200",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    step("Ingest a raw taken 200 days later (visit 50)", PIPETASK, "ingest", repo, late)
    step(
        "No calib is valid on its date: the data ID fails, naming the calibration "
        "repository's bias for that detector and its validity range (exit 1)",
        PIPETASK,
        "run",
        "processCcd",
        repo,
        "--id",
        "visit=50",
        "--output",
        out,
        "--calib",
        calib,
        expect=1,
    )
    page = os.path.join(root, "report.html")
    step(
        "The HTML report of the output: outcomes, timings, memory, failures, thumbnails "
        "(exit 1: visit 50 failed above)",
        PIPETASK,
        "report",
        out,
        "--html",
        page,
        expect=1,
    )
    print(f"\nOpen {page} in a browser (it needs no network).")


def calibrate(root: str, repo: str) -> str:
    """The calibration step: master bias and flats, a calibration repository (its path)."""
    frames, work, calib = (os.path.join(root, n) for n in ("calib_frames", "calib_work", "calib"))
    simulate = [sys.executable, "-m", "obs_synth.simulate", frames, "--ccds", "4"]
    step(
        "Simulate 5 bias frames per CCD (visits 101-105) and 5 flats per filter",
        *simulate,
        "--kind",
        "bias",
        "--visits",
        "5",
        "--first-visit",
        "101",
    )
    firstFlat = {"g": 201, "r": 211, "i": 221}
    for filterName, first in firstFlat.items():
        print(f"(flats in {filterName}: visits {first}-{first + 4})")
        subprocess.run(
            [
                *simulate,
                "--kind",
                "flat",
                "--filter",
                filterName,
                "--visits",
                "5",
                "--first-visit",
                str(first),
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    step("Ingest the calibration frames (and their truth files)", PIPETASK, "ingest", repo, frames)
    step(
        "makeBias: a clipped-mean master bias per CCD",
        PIPETASK,
        "run",
        "makeBias",
        repo,
        "--id",
        "visit=101..105",
        "--output",
        os.path.join(work, "bias"),
    )
    step(
        "Ingest the master biases into a calibration repository, valid 30 days either side",
        PIPETASK,
        "ingestCalibs",
        calib,
        os.path.join(work, "bias", "bias"),
        "--camera",
        "synth",
        "--validity",
        "30",
    )
    for filterName, first in firstFlat.items():
        step(
            f"makeFlat for filter {filterName} (bias from --calib), normalised to 1",
            PIPETASK,
            "run",
            "makeFlat",
            repo,
            "--id",
            f"visit={first}..{first + 4}",
            "--output",
            os.path.join(work, f"flat_{filterName}"),
            "--calib",
            calib,
        )
    step(
        "Ingest the master flats",
        PIPETASK,
        "ingestCalibs",
        calib,
        *(os.path.join(work, f"flat_{f}", "flat") for f in firstFlat),
    )
    return calib


if __name__ == "__main__":
    sys.exit(main())
