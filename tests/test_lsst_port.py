"""LSST config classes ported with the import changed work as they do under pex_config.

The classes (meas_algorithms' source detection, background subtraction, source selectors
with their registry, aperture correction) are in ``lsst_meas_algorithms_configs.py``,
written as LSST defines them. Each is defined, instantiated (``setDefaults`` applied),
validated, retargeted, frozen, round-tripped through TOML and pickle, copied and compared.
"""

from __future__ import annotations

import io
import pickle

import lsst_meas_algorithms_configs as lsst
import pipetask as pipeBase
import pipetask.config as pexConfig
import pytest

ALL_CONFIGS = [
    lsst.SubtractBackgroundConfig,
    lsst.SourceDetectionConfig,
    lsst.ScienceSourceSelectorConfig,
    lsst.ReferenceSourceSelectorConfig,
    lsst.FlaggedSourceSelectorConfig,
    lsst.MeasureApCorrConfig,
    lsst.ColorLimit,
    lsst.RequireUnresolved,
]


class MatchingSelectorConfig(lsst.BaseSourceSelectorConfig):
    minMatches = pexConfig.Field(dtype=int, default=3, doc="matches needed")


class MatchingSelectorTask(lsst.BaseSourceSelectorTask):
    """A selector that needs matches: MeasureApCorrConfig.validate() refuses it."""

    ConfigClass = MatchingSelectorConfig
    usesMatches = True


lsst.sourceSelectorRegistry.register("needsMatches", MatchingSelectorTask)


class WideBackgroundConfig(lsst.SubtractBackgroundConfig):
    extraSmoothing = pexConfig.Field(dtype=float, default=0.5, doc="extra smoothing, pixels")


class WideBackgroundTask(lsst.SubtractBackgroundTask):
    ConfigClass = WideBackgroundConfig


def changed(configClass: type) -> pexConfig.Config:
    """A config of ``configClass`` with several values away from their defaults."""
    config = configClass()
    if configClass is lsst.SourceDetectionConfig:
        config.thresholdValue = 3.5
        config.thresholdPolarity = "both"
        config.statsMask.append("SUSPECT")
        config.tempLocalBackground.binSize = 32
        config.background.retarget(WideBackgroundTask)
        config.background.extraSmoothing = 1.25
    elif configClass is lsst.ReferenceSourceSelectorConfig:
        config.doMagLimit = True
        config.magLimit.maximum = 22.5
        config.colorLimits["g-r"] = lsst.ColorLimit(primary="g", secondary="r", minimum=0.2)
        config.colorLimits["r-i"] = lsst.ColorLimit(primary="r", secondary="i", maximum=1.5)
    elif configClass is lsst.MeasureApCorrConfig:
        config.sourceSelector.name = "science"
        config.sourceSelector["science"].doFlags = True
        config.sourceSelector["science"].flags.good = ["calib_psf_used"]
        config.fitConfig.orderX = 3
        config.allowFailure = ["base_GaussianFlux"]
    elif configClass is lsst.SubtractBackgroundConfig:
        config.binSize = 64
        config.algorithm = "LINEAR"
        config.ignoredPixelMask = ["BAD", "SAT"]
    elif configClass is lsst.ScienceSourceSelectorConfig:
        config.doFluxLimit = True
        config.fluxLimit.minimum = 10.0
        config.unresolved.name = "extendedness"
    else:
        name = next(n for n, f in configClass._fields.items() if f.dtype in (int, float, str))
        field = configClass._fields[name]
        setattr(config, name, {int: 7, float: 0.25, str: "BAD"}[field.dtype])
    return config


def test_source_detection_defaults_come_from_set_defaults():
    config = lsst.SourceDetectionConfig()
    assert config.tempLocalBackground.binSize == 64
    assert config.tempLocalBackground.useApprox is False
    assert config.tempWideBackground.binSize == 512
    assert "DETECTED" not in config.tempWideBackground.ignoredPixelMask
    assert config.background.binSize == 128  # the field default, no setDefaults
    assert config.thresholdType == "stdev" and config.statsMask == ["BAD", "SAT", "EDGE", "NO_DATA"]
    history = config.tempWideBackground.value.history["binSize"]
    assert [value for value, _ in history] == [128, 512]
    assert history[-1][1].startswith("setDefaults")


def test_science_selector_defaults_and_registry():
    config = lsst.ScienceSourceSelectorConfig()
    assert config.flags.bad[0] == "base_PixelFlags_flag_edge"
    assert config.signalToNoise.errField == "base_PsfFlux_fluxSigma"
    registry = lsst.sourceSelectorRegistry
    assert registry["flagged"] is lsst.FlaggedSourceSelectorTask
    assert {"science", "references", "flagged"} <= set(registry)
    with pytest.raises(RuntimeError, match="already exists"):
        registry.register("science", lsst.ScienceSourceSelectorTask)


@pytest.mark.parametrize("configClass", ALL_CONFIGS, ids=lambda c: c.__name__)
def test_configs_validate_freeze_round_trip_pickle_copy_and_compare(configClass, tmp_path):
    config = changed(configClass)
    if configClass in (lsst.ColorLimit,):
        config.primary, config.secondary = "g", "r"
    config.validate()
    default = configClass()
    assert config != default
    lines: list[str] = []
    assert config.compare(default, shortcut=False, output=lines.append) is False
    assert lines and all(line.startswith("Inequality in ") for line in lines)

    path = tmp_path / "config.toml"
    config.save(str(path))
    loaded = configClass()
    loaded.load(str(path))
    assert loaded == config and loaded.compare(config) and loaded.differences(config) == []

    stream = io.StringIO()
    config.saveToStream(stream)
    fromStream = configClass()
    fromStream.loadFromStream(io.StringIO(stream.getvalue()))
    assert fromStream == config

    copy = config.copy()
    assert copy == config
    config.freeze()
    clone = pickle.loads(pickle.dumps(config))
    assert clone == config and clone.frozen
    name = next(n for n, f in configClass._fields.items() if not f.isNested)
    with pytest.raises(pexConfig.FieldValidationError, match="frozen"):
        setattr(config, name, getattr(config, name))
    assert not copy.frozen  # a copy is unfrozen and independent
    setattr(copy, name, getattr(default, name))


def test_retarget_keeps_or_resets_values():
    config = lsst.SourceDetectionConfig()
    config.background.binSize = 256
    config.background.retarget(lsst.SubtractBackgroundTask)  # same config class: kept
    assert config.background.binSize == 256
    config.background.retarget(WideBackgroundTask)  # another config class: its defaults
    assert config.background.binSize == 128 and config.background.extraSmoothing == 0.5
    assert config.background.target is WideBackgroundTask
    text = config.toToml()
    assert "test_lsst_port:WideBackgroundTask" in text
    assert lsst.SourceDetectionConfig.fromToml(text).background.target is WideBackgroundTask


def test_reference_selector_config_dict_of_color_limits():
    config = changed(lsst.ReferenceSourceSelectorConfig)
    assert set(config.colorLimits) == {"g-r", "r-i"}
    assert config.colorLimits["g-r"].minimum == 0.2
    assert "colorLimits.g-r.primary" in config.names()
    with pytest.raises(pexConfig.FieldValidationError, match="incorrect type"):
        config.colorLimits["bad"] = lsst.MagnitudeLimit()
    del config.colorLimits["r-i"]
    clone = lsst.ReferenceSourceSelectorConfig.fromToml(config.toToml())
    assert list(clone.colorLimits) == ["g-r"] and clone == config


def test_measure_ap_corr_validate_refuses_a_selector_that_needs_matches():
    config = lsst.MeasureApCorrConfig()
    assert config.sourceSelector.name == "flagged"
    assert config.sourceSelector.target is lsst.FlaggedSourceSelectorTask
    assert config.sourceSelector["flagged"].field == "calib_psfUsed"
    config.validate()
    config.sourceSelector.name = "needsMatches"
    with pytest.raises(pexConfig.FieldValidationError) as info:
        config.validate()
    assert str(info.value) == (
        "RegistryField 'sourceSelector' failed validation: "
        "Star selectors that require matches are not permitted"
    )


def test_ported_task_classes_build_with_their_configs():
    task = lsst.SourceDetectionTask()
    assert isinstance(task.config, lsst.SourceDetectionConfig) and task.config.frozen
    assert isinstance(task, pipeBase.Task)
    selector = lsst.MeasureApCorrConfig().sourceSelector.apply()
    assert isinstance(selector, lsst.FlaggedSourceSelectorTask)
    assert selector.config.field == "calib_psfUsed"
