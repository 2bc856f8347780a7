"""History: where each value was set (default, setDefaults, file:line, -c, Python code)."""

from __future__ import annotations

import inspect
import os

from pipetask import Config, ConfigurableField, Field, ListField, Task
from pipetask.config import applyOverride

HERE = os.path.basename(__file__)


class StatsConfig(Config):
    numSigmaClip = Field("Clip", float, default=3.0)
    planes = ListField("Planes", str, default=["EDGE"])


class StatsTask(Task):
    ConfigClass = StatsConfig
    _DefaultName = "stats"


class HistConfig(Config):
    threshold = Field("Threshold", float, default=1.0)
    label = Field("Label", str, default="a")
    stats = ConfigurableField("Stats", target=StatsTask)

    def setDefaults(self):
        super().setDefaults()
        self.label = "fromSetDefaults"  # SETDEFAULTS-LINE


def lineOf(marker: str) -> int:
    source, start = inspect.getsourcelines(inspect.getmodule(lineOf))
    for number, line in enumerate(source, start or 1):
        if marker in line and "lineOf" not in line:
            return number
    raise AssertionError(marker)


def sources(config: Config, name: str) -> list[str]:
    return [where for _, where in config.history[name]]


def test_default_and_setDefaults():
    config = HistConfig()
    assert config.history["threshold"] == [(1.0, "default")]
    values = [value for value, _ in config.history["label"]]
    assert values == ["a", "fromSetDefaults"]
    where = sources(config, "label")
    assert where[0] == "default"
    assert where[1].startswith("setDefaults (")
    assert f"{HERE}:{lineOf('SETDEFAULTS-LINE')}" in where[1]


def test_python_assignment_location():
    config = HistConfig()
    config.threshold = 2.5  # ASSIGN-LINE
    assert config.history["threshold"][-1][0] == 2.5
    assert sources(config, "threshold")[-1].endswith(f"{HERE}:{lineOf('ASSIGN-LINE')}")
    config.stats.numSigmaClip = 4  # NESTED-LINE
    assert config.stats.value.history["numSigmaClip"][-1] == (
        4.0,
        sources(config.stats.value, "numSigmaClip")[-1],
    )
    assert sources(config.stats.value, "numSigmaClip")[-1].endswith(
        f"{HERE}:{lineOf('NESTED-LINE')}"
    )
    config.stats.planes.append("SAT")  # APPEND-LINE
    assert config.stats.value.history["planes"][-1][0] == ["EDGE", "SAT"]
    assert sources(config.stats.value, "planes")[-1].endswith(f"{HERE}:{lineOf('APPEND-LINE')}")


def test_constructor_keywords_location():
    config = HistConfig(threshold=9.0)  # KWARGS-LINE
    assert sources(config, "threshold")[-1].endswith(f"{HERE}:{lineOf('KWARGS-LINE')}")


def test_file_and_line(tmp_path):
    path = tmp_path / "override.toml"
    path.write_text('# a comment\nlabel = "x"\n\n[stats]\nnumSigmaClip = 7.0\n')
    config = HistConfig()
    config.loadToml(str(path))
    assert config.history["label"][-1] == ("x", f"{path}:2")
    assert config.stats.value.history["numSigmaClip"][-1] == (7.0, f"{path}:5")
    config.loadToml(str(path), label="camera override")
    assert config.history["label"][-1] == ("x", f"camera override {path}:2")


def test_command_line_source():
    config = HistConfig()
    applyOverride(config, "threshold=3")
    applyOverride(config, "stats.numSigmaClip=10")
    applyOverride(config, "label=word", source="-c on the command line")
    assert config.history["threshold"][-1] == (3.0, "-c threshold=3")
    assert config.stats.value.history["numSigmaClip"][-1] == (10.0, "-c stats.numSigmaClip=10")
    assert config.history["label"][-1] == ("word", "-c on the command line")


def test_history_keeps_every_step_in_order(tmp_path):
    path = tmp_path / "a.toml"
    path.write_text("threshold = 4.0\n")
    config = HistConfig()
    config.loadToml(str(path))
    applyOverride(config, "threshold=5")
    config.threshold = 6.0
    values = [value for value, _ in config.history["threshold"]]
    assert values == [1.0, 4.0, 5.0, 6.0]
    where = sources(config, "threshold")
    assert where[0] == "default"
    assert where[1] == f"{path}:1"
    assert where[2] == "-c threshold=5"
    assert HERE in where[3]
