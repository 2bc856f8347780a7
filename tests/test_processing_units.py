"""charImage/calibrate subtasks and backends on images made here, with stars of known S/N."""

from __future__ import annotations

import logging
import math
import sys

import numpy as np
import pytest
from pipetask import ConfigError, TaskError
from pipetask_image import Exposure, MaskedImage
from pipetask_processing.calibrate import CalibrateConfig, CalibrateTask
from pipetask_processing.characterize import CharacterizeImageConfig, CharacterizeImageTask
from pipetask_processing.detection import (
    PhotutilsDetectionTask,
    SepDetectionTask,
    SourceDetectionConfig,
)
from pipetask_processing.imaging import smoothedNoiseFactor
from pipetask_processing.repair import AstroscrappyRepairTask, NoRepairTask

NOISE = 10.0
SIGMA = 1.8


def addStar(image, x, y, flux, sigma=SIGMA):
    rows, cols = np.mgrid[0 : image.shape[0], 0 : image.shape[1]]
    image += (
        flux
        * np.exp(-0.5 * ((cols - x) ** 2 + (rows - y) ** 2) / sigma**2)
        / (2 * math.pi * sigma**2)
    )


def fluxForSnr(snr, sigma=SIGMA, noise=NOISE):
    """Flux whose PSF-optimal S/N on white noise of ``noise`` is ``snr``."""
    return snr * noise * math.sqrt(4 * math.pi) * sigma


def starField(snrs, size=200, seed=1, spacing=20):
    """Noise plus a grid of stars of the given S/N (background 0); returns (exposure, xy)."""
    rng = np.random.default_rng(seed)
    image = rng.normal(0.0, NOISE, (size, size))
    positions = []
    grid = [
        (x, y)
        for y in range(spacing, size - spacing + 1, spacing)
        for x in range(spacing, size - spacing + 1, spacing)
    ]
    for (x, y), snr in zip(grid, snrs, strict=False):
        x, y = x + rng.uniform(-0.5, 0.5), y + rng.uniform(-0.5, 0.5)
        addStar(image, x, y, fluxForSnr(snr))
        positions.append((x, y))
    mi = MaskedImage(image, variance=np.full(image.shape, NOISE**2))
    return Exposure(mi), np.array(positions)


def detect(exposure, task=None, **config):
    cfg = SourceDetectionConfig()
    cfg.reEstimateBackground = False
    for key, value in config.items():
        setattr(cfg, key, value)
    task = (task or SepDetectionTask)(config=cfg)
    return task.run(exposure, SIGMA)


def found(result, positions, radius=2.0):
    fp = result.footprints
    d2 = (positions[:, :1] - fp.xPeak[None, :]) ** 2 + (positions[:, 1:] - fp.yPeak[None, :]) ** 2
    return (d2.min(axis=1) <= radius**2) if len(fp) else np.zeros(len(positions), bool)


# -- thresholdValue: units of the PSF-smoothed image's own noise ------------------------------


def test_threshold_is_in_units_of_the_smoothed_images_noise():
    exposure, _ = starField([])
    result = detect(exposure)
    expected = NOISE * smoothedNoiseFactor(SIGMA)  # white noise through the PSF kernel
    assert result.noise == pytest.approx(expected, rel=0.05)
    assert result.threshold == pytest.approx(5.0 * result.noise)
    assert len(result.footprints) == 0  # pure noise: nothing at 5 sigma of the smoothed image


def test_stars_are_found_by_their_psf_signal_to_noise():
    exposure, positions = starField([8.0] * 40 + [2.5] * 24, size=340)
    hit = found(detect(exposure), positions)
    assert hit[:40].mean() >= 0.95  # S/N 8 against a threshold of 5
    assert hit[40:].mean() <= 0.1  # S/N 2.5: below


def test_sep_default_style_finds_few_faint_stars_this_detection_finds_most():
    """The known pitfall: with its own filter, sep's thresh is in units of the unfiltered
    noise. Its default style (thresh 5 x global rms, 3x3 filter) misses most S/N 7 stars."""
    import sep

    exposure, positions = starField([7.0] * 64, size=340)
    ours = found(detect(exposure), positions).mean()
    data = np.ascontiguousarray(exposure.image)
    objects = sep.extract(data, 5.0, err=sep.Background(data).globalrms)
    d2 = (positions[:, :1] - objects["x"][None, :]) ** 2 + (
        positions[:, 1:] - objects["y"][None, :]
    ) ** 2
    theirs = (d2.min(axis=1) <= 4.0).mean() if len(objects) else 0.0
    assert ours >= 0.9
    assert theirs <= 0.5
    assert ours >= 2 * theirs


def test_variance_and_stdev_threshold_types_agree_on_white_noise():
    exposure, _ = starField([])
    stdev = detect(exposure).noise
    variance = detect(exposure, thresholdType="variance").noise
    assert variance == pytest.approx(stdev, rel=0.05)
    value = detect(exposure, thresholdType="value", thresholdValue=1e9)
    assert value.threshold == 1e9 and len(value.footprints) == 0


def test_detection_sets_detected_mask_grown_by_nSigmaToGrow():
    exposure, positions = starField([50.0])
    detect(exposure, nSigmaToGrow=2.4)
    detected = (exposure.mask & exposure.maskedImage.getPlaneBitMask("DETECTED")) != 0
    x, y = np.rint(positions[0]).astype(int)
    assert detected[y, x]
    assert not detected[5, 5]


def test_photutils_backend_detects_the_same_stars():
    pytest.importorskip("photutils")
    exposure, positions = starField([6.0, 10.0, 20.0, 40.0] * 9, size=220)
    sepHit = found(detect(exposure), positions)
    exposure2, _ = starField([6.0, 10.0, 20.0, 40.0] * 9, size=220)
    photHit = found(detect(exposure2, task=PhotutilsDetectionTask), positions)
    assert (sepHit == photHit).mean() >= 0.95
    assert photHit[1::2].all()  # S/N 10 and 40


# -- charImage: PSF, repair, fallback ----------------------------------------------------------


def psfField(nStars, sigma, size=256, seed=3):
    rng = np.random.default_rng(seed)
    sky = 500.0
    image = rng.poisson(np.full((size, size), sky)).astype(float)
    for _ in range(nStars):
        addStar(
            image,
            rng.uniform(20, size - 20),
            rng.uniform(20, size - 20),
            rng.uniform(2e4, 6e4),
            sigma,
        )
    return Exposure(MaskedImage(image, variance=np.clip(image, 1, None)))


def test_measurePsf_recovers_the_gaussian_width():
    exposure = psfField(25, 2.1)
    cfg = CharacterizeImageConfig()
    cfg.repair.retarget(NoRepairTask)
    result = CharacterizeImageTask(config=cfg).run(exposure)
    assert not result.psf.fallback
    assert result.psf.sigma == pytest.approx(2.1, rel=0.02)
    assert result.psf.nStars >= 10
    assert abs(float(np.median(exposure.image))) < 2.0  # the background is gone


def test_too_few_stars_falls_back_and_says_so(caplog):
    exposure = psfField(2, 2.1)
    cfg = CharacterizeImageConfig()
    cfg.repair.retarget(NoRepairTask)
    cfg.measurePsf.fallbackFwhm = 4.0
    with caplog.at_level(logging.WARNING):
        char = CharacterizeImageTask(config=cfg).run(exposure)
    assert char.psf.fallback and char.psf.fwhm == 4.0
    assert "PSF not measured" in caplog.text and "fallbackFwhm" in caplog.text
    cal = CalibrateTask().run(char.exposure, char.background, char.psf)
    assert cal.sourceCat.meta["PSFFALLB"] is True
    assert exposure.metadata["PSFFALLB"] is True
    assert cal.sourceCat.meta["PSF_FWHM"] == pytest.approx(4.0, rel=1e-4)


def test_repair_flags_cosmic_rays_and_none_leaves_them():
    exposure = psfField(10, 1.8, seed=5)
    rng = np.random.default_rng(9)
    hits = set()
    for _ in range(30):
        x, y = rng.integers(5, 250, 2)
        for t in range(int(rng.integers(1, 4))):
            exposure.image[y, x + t] += rng.uniform(3000, 10000)
            hits.add((y, x + t))
    clean = exposure.image.copy()
    none = NoRepairTask().run(exposure)
    assert none.nCrPixels == 0 and (exposure.image == clean).all()
    result = AstroscrappyRepairTask().run(exposure)
    cr = (exposure.mask & exposure.maskedImage.getPlaneBitMask("CR")) != 0
    injected = np.zeros_like(cr)
    injected[tuple(np.array(sorted(hits)).T)] = True
    assert cr[injected].mean() >= 0.97
    assert (cr & ~injected).sum() <= 10
    assert result.nCrPixels == cr.sum()
    interpolated = (exposure.mask & exposure.maskedImage.getPlaneBitMask("INTRP")) != 0
    assert (interpolated[injected] | ~cr[injected]).all()
    assert exposure.image[injected & cr].max() < 1500  # repaired to about the sky


# -- calibrate: catalog, deblending, aperture correction -------------------------------------


def test_calibrate_catalog_columns_and_fluxes():
    exposure, positions = starField([30.0] * 36, size=160)
    exposure.metadata["PSFSIGMA"] = SIGMA
    result = CalibrateTask().run(exposure)
    cat = result.sourceCat
    assert len(cat) == 36
    for name in (
        "id",
        "parent",
        "deblend_nChild",
        "coord_ra",
        "coord_dec",
        "slot_Centroid_x",
        "base_SdssShape_xx",
        "base_PsfFlux_instFlux",
        "base_PsfFlux_apCorr",
        "base_CircularApertureFlux_12_0_instFlux",
        "base_CircularApertureFlux_3_0_instFluxErr",
        "ext_photometryKron_KronFlux_instFlux",
        "base_PixelFlags_flag_saturatedCenter",
    ):
        assert name in cat.colnames, name
    truth = fluxForSnr(30.0)
    ratio = np.asarray(cat["base_PsfFlux_instFlux"]) / truth
    assert np.median(ratio) == pytest.approx(1.0, abs=0.02)
    apRatio = np.asarray(cat["base_CircularApertureFlux_12_0_instFlux"]) / truth
    assert np.median(apRatio) == pytest.approx(1.0, abs=0.03)
    assert np.median(np.asarray(cat["base_SdssShape_xx"])) == pytest.approx(SIGMA**2, rel=0.1)
    assert cat.meta["THRESH"] == 5.0 and cat.meta["THRTYPE"] == "stdev"


@pytest.mark.parametrize(("stars", "source"), [(16, "stars"), (2, "psf")])
def test_the_aperture_correction_says_where_it_came_from(caplog, stars, source):
    """Measured from enough isolated stars, or from the PSF model with fewer: the log line
    says which, and how many stars were usable."""
    exposure, _ = starField([300.0] * stars, size=200, spacing=40)  # aperture S/N over 50
    exposure.metadata["PSFSIGMA"] = SIGMA
    with caplog.at_level(logging.INFO):
        cat = CalibrateTask().run(exposure).sourceCat
    (line,) = [r.getMessage() for r in caplog.records if "Aperture correction" in r.getMessage()]
    minStars = CalibrateConfig().measureApCorr.minStars
    assert cat.meta["APCORRFR"] == source
    if source == "stars":
        assert (
            line
            == f"Aperture correction {cat.meta['APCORR']:.4f} (from {cat.meta['APCORRN']} stars)"
        )
    else:
        assert cat.meta["APCORRN"] < minStars
        assert line == (
            f"Aperture correction {cat.meta['APCORR']:.4f} (from the PSF model: "
            f"{cat.meta['APCORRN']} usable stars, fewer than {minStars})"
        )


def test_deblend_splits_a_pair():
    image = np.random.default_rng(2).normal(0.0, NOISE, (80, 80))
    addStar(image, 35.0, 40.0, fluxForSnr(60))
    addStar(image, 43.0, 40.0, fluxForSnr(40))
    exposure = Exposure(MaskedImage(image, variance=np.full(image.shape, NOISE**2)))
    exposure.metadata["PSFSIGMA"] = SIGMA
    cat = CalibrateTask().run(exposure).sourceCat
    parents = cat[cat["deblend_nChild"] == 2]
    assert len(parents) == 1
    children = cat[cat["parent"] == parents["id"][0]]
    xs = sorted(np.asarray(children["slot_Centroid_x"]))
    assert xs == pytest.approx([35.0, 43.0], abs=0.5)
    noDeblend = CalibrateConfig()
    noDeblend.doDeblend = False
    exposure.metadata["PSFSIGMA"] = SIGMA
    assert len(CalibrateTask(config=noDeblend).run(exposure).sourceCat) == 1


def haloField(withStar: bool, seed: int = 4):
    """A bright star (S/N 3000, Poisson noise) at (60, 60) and, 28 pixels away on its halo,
    a faint one (S/N 40) or nothing; wide wings make one detection footprint of both."""
    rng = np.random.default_rng(seed)
    image = np.zeros((120, 120))
    addStar(image, 60.0, 60.0, fluxForSnr(3000), sigma=SIGMA)
    addStar(image, 60.0, 60.0, fluxForSnr(3000) * 0.5, sigma=12.0)  # the halo
    if withStar:
        addStar(image, 88.0, 60.0, fluxForSnr(40))
    variance = NOISE**2 + image
    image += rng.normal(0.0, 1.0, image.shape) * np.sqrt(variance)
    exposure = Exposure(MaskedImage(image, variance=variance))
    exposure.metadata["PSFSIGMA"] = SIGMA
    return exposure


def test_a_star_on_a_bright_stars_halo_becomes_a_child():
    cat = CalibrateTask().run(haloField(True)).sourceCat
    leaves = cat[cat["deblend_nChild"] == 0]
    x, y = np.asarray(leaves["slot_Centroid_x"]), np.asarray(leaves["slot_Centroid_y"])
    assert np.hypot(x - 88.0, y - 60.0).min() < 0.5
    # Without the extra peaks, the blend's contrast keeps it in the bright star's branch.
    config = CalibrateConfig()
    config.deblend.doFindPeaks = False
    cat = CalibrateTask(config=config).run(haloField(True)).sourceCat
    x, y = np.asarray(cat["slot_Centroid_x"]), np.asarray(cat["slot_Centroid_y"])
    assert np.hypot(x - 88.0, y - 60.0).min() > 0.5


def test_noise_on_a_halo_makes_no_children():
    for seed in range(4):
        cat = CalibrateTask().run(haloField(False, seed)).sourceCat
        assert len(cat) == 1, cat["id", "slot_Centroid_x", "slot_Centroid_y"]


def test_no_footprint_peaks_on_a_defect():
    exposure, positions = starField([30, 30, 30, 30])
    mi = exposure.maskedImage
    x, y = np.rint(positions[0]).astype(int)
    mi.mask[y, x] |= mi.getPlaneBitMask("BAD")  # a hot pixel at a star's peak
    result = detect(exposure)
    assert list(found(result, positions)) == [False, True, True, True]
    assert list(found(detect(exposure, excludePeakMaskPlanes=[]), positions)) == [True] * 4


def test_the_background_backends_differ_only_by_their_box_statistic():
    from pipetask_processing.background import PhotutilsBackgroundTask, SepBackgroundTask

    pytest.importorskip("photutils")
    rng = np.random.default_rng(5)
    rows, cols = np.mgrid[0:300, 0:260]
    sky = 1000.0 + 0.05 * rows - 0.03 * cols
    image = sky + rng.normal(0.0, NOISE, sky.shape)
    models = []
    for task in (SepBackgroundTask(), PhotutilsBackgroundTask()):
        exposure = Exposure(MaskedImage(image.copy(), variance=np.full(sky.shape, NOISE**2)))
        models.append(task.run(exposure).background)
    assert np.median(np.abs(models[0] - sky)) < 0.5
    assert np.abs(models[1] - models[0]).std() < 0.3


# -- bad input -------------------------------------------------------------------------------


def characterize(image, mask=None, variance=None):
    mi = MaskedImage(image, mask=mask, variance=variance)
    return CharacterizeImageTask().run(Exposure(mi))


def test_all_nan_image_is_one_clear_error():
    image = np.full((64, 64), np.nan)
    with pytest.raises(TaskError, match="no finite pixel"):
        characterize(image, variance=np.ones((64, 64)))


def test_saturated_everywhere_is_one_clear_error():
    image = np.full((64, 64), 65535.0)
    with pytest.raises(TaskError, match="saturated"):
        characterize(image, mask=np.full((64, 64), 2), variance=np.ones((64, 64)))
    with pytest.raises(TaskError, match="flat"):
        characterize(image, variance=np.ones((64, 64)))


def test_missing_variance_plane_is_one_clear_error():
    image = np.random.default_rng(0).normal(100, 5, (64, 64))
    with pytest.raises(TaskError, match="variance plane"):
        characterize(image)


def test_an_image_without_sources_gives_an_empty_catalog():
    exposure, _ = starField([], size=128)
    cfg = CharacterizeImageConfig()
    cfg.repair.retarget(NoRepairTask)
    char = CharacterizeImageTask(config=cfg).run(exposure)
    assert char.psf.fallback
    cat = CalibrateTask().run(char.exposure, char.background, char.psf).sourceCat
    assert len(cat) == 0 and "slot_Centroid_x" in cat.colnames


def test_a_backend_not_installed_names_its_distribution(monkeypatch):
    for name in [m for m in sys.modules if m == "photutils" or m.startswith("photutils.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "photutils", None)  # import photutils -> ImportError
    cfg = SourceDetectionConfig()
    with pytest.raises(ConfigError, match=r"'photutils' distribution.*pip install photutils"):
        PhotutilsDetectionTask(config=cfg)
