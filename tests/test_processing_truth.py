"""The science bars of processCcd against what the obs_synth simulator injected.

Frames are simulated science raws of 512 pixels a side, put through an exact ISR from
their truth (``_synth_frames``), so these figures are those of the processing alone; the
full chain with the real isrTask is checked through the command line elsewhere. Run with
``-s`` to see the figures.
"""

from __future__ import annotations

import pytest
from _synth_frames import postIsrFromTruth, scoreFrame, summarise
from pipetask_processing.process_ccd import ProcessCcdConfig, ProcessCcdTask

FRAMES = [(1, 0), (2, 1), (3, 2), (4, 3), (5, 4), (6, 5)]


def runFrames(frames, repair: bool) -> dict:
    config = ProcessCcdConfig()
    # As the synth camera's override file sets it: its CCDs hold few bright stars.
    config.charImage.detection.includeThresholdMultiplier = 3.0
    if not repair:
        config.charImage.repair.retarget("noRepair")
    task = ProcessCcdTask(config=config)
    scores = []
    for visit, ccd in frames:
        exposure, truth = postIsrFromTruth(visit, ccd, size=512)
        result = task.run(exposure)
        crBit = result.exposure.maskedImage.getPlaneBitMask("CR")
        scores.append(scoreFrame(result.sourceCat, truth, result.exposure.mask, crBit))
    figures = summarise(scores)
    print(
        f"\nrepair={'on' if repair else 'off'}: "
        + ", ".join(
            f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in figures.items()
        )
    )
    return figures


@pytest.fixture(scope="module")
def withRepair() -> dict:
    return runFrames(FRAMES, repair=True)


def test_completeness(withRepair):
    assert withRepair["stars"] >= 300 and withRepair["faint"] >= 40
    assert withRepair["completeness"] >= 0.95
    assert withRepair["completenessFaint"] >= 0.92


def test_purity_with_cosmic_ray_repair(withRepair):
    assert withRepair["purity"] >= 0.99


def test_aperture_corrected_fluxes(withRepair):
    assert withRepair["fluxStars"] >= 250
    assert withRepair["fluxMedian"] == pytest.approx(1.0, abs=0.01)
    assert withRepair["fluxScatterOverErrors"] <= 1.2


def test_centroids_of_bright_stars(withRepair):
    assert withRepair["brightStars"] >= 50
    assert withRepair["centroidMedian"] <= 0.10


def test_cosmic_rays(withRepair):
    assert withRepair["crFlagged"] >= 0.97
    assert withRepair["crFalsePerMegapixel"] <= 100


def test_without_repair_cosmic_rays_become_sources():
    figures = runFrames(FRAMES[:3], repair=False)
    assert figures["crFlagged"] == 0.0
    assert figures["purity"] < 0.97  # the reason repair is on by default
