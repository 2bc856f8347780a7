"""Logging through structlog: console, long and JSON formats; per-component levels."""

from __future__ import annotations

import io
import json
import logging

import pytest
from pipetask import Config, ConfigError, ConfigurableField, Task
from pipetask.logs import configureLogging, dataIdContext, parseLevel


class LeafTask(Task):
    ConfigClass = Config
    _DefaultName = "leaf"

    def run(self):
        self.log.debug("debug detail")
        self.log.info("clipped mean=%s; meanErr=%s", 1.5, 0.25)
        self.log.warning("careful")


class TopConfig(Config):
    stats = ConfigurableField("Stats", target=LeafTask)


class TopTask(Task):
    ConfigClass = TopConfig
    _DefaultName = "exampleTask"

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.makeSubtask("stats")

    def run(self):
        self.log.debug("top debug")
        self.log.info("Processing data ID %s", {"visit": 1})
        self.stats.run()


@pytest.fixture
def stream():
    """Configure logging into a string buffer and restore the logging state afterwards."""
    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    names = ("exampleTask", "exampleTask.stats")
    savedLevels = {n: logging.getLogger(n).level for n in names}
    buffer = io.StringIO()
    yield buffer
    for handler in list(root.handlers):
        if getattr(handler, "_pipetask", False):
            root.removeHandler(handler)
            handler.close()
    root.setLevel(saved[0])
    for handler in saved[1]:
        if handler not in root.handlers:
            root.addHandler(handler)
    for name, level in savedLevels.items():
        logging.getLogger(name).setLevel(level)


def lines(buffer: io.StringIO) -> list[str]:
    return [line for line in buffer.getvalue().splitlines() if line]


def test_console_format_is_name_colon_message(stream):
    configureLogging(stream=stream)
    TopTask().run()
    assert lines(stream) == [
        "exampleTask: Processing data ID {'visit': 1}",
        "exampleTask.stats: clipped mean=1.5; meanErr=0.25",
        "exampleTask.stats: careful",
    ]


def test_global_debug_level(stream):
    configureLogging(["DEBUG"], stream=stream)
    TopTask().run()
    assert "exampleTask: top debug" in lines(stream)
    assert "exampleTask.stats: debug detail" in lines(stream)


def test_component_level_applies_to_subtasks_only(stream):
    configureLogging(["exampleTask.stats=DEBUG"], stream=stream)
    TopTask().run()
    out = lines(stream)
    assert "exampleTask.stats: debug detail" in out
    assert "exampleTask: top debug" not in out
    assert "exampleTask: Processing data ID {'visit': 1}" in out


def test_component_level_can_quieten(stream):
    configureLogging(["exampleTask=WARN"], stream=stream)
    TopTask().run()
    # The parent's level applies to its subtasks.
    assert lines(stream) == ["exampleTask.stats: careful"]


def test_later_levels_win(stream):
    configureLogging(["ERROR", "INFO"], stream=stream)
    TopTask().run()
    assert len(lines(stream)) == 3


def test_long_format(stream):
    configureLogging(fmt="long", stream=stream)
    with dataIdContext({"visit": 3}):
        TopTask().stats.run()
    out = lines(stream)
    assert len(out) == 2
    first = out[0]
    assert first.startswith("INFO ")
    assert "exampleTask.stats" in first
    assert "({'visit': 3})" in first
    assert "test_logging.py:" in first
    assert first.endswith(" - clipped mean=1.5; meanErr=0.25")
    assert out[1].startswith("WARNING ")


def test_json_format(stream):
    configureLogging(fmt="json", stream=stream)
    with dataIdContext("visit=5"):
        TopTask().run()
    records = [json.loads(line) for line in lines(stream)]
    assert [r["message"] for r in records] == [
        "Processing data ID {'visit': 1}",
        "clipped mean=1.5; meanErr=0.25",
        "careful",
    ]
    assert records[1]["logger"] == "exampleTask.stats"
    assert records[1]["level"] == "INFO"
    assert records[2]["level"] == "WARNING"
    assert records[1]["dataId"] == "visit=5"
    assert "timestamp" in records[1]
    assert records[1]["file"] == "test_logging.py"


def test_exception_is_rendered(stream):
    configureLogging(stream=stream)
    log = logging.getLogger("exampleTask")
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("failed")
    text = stream.getvalue()
    assert text.startswith("exampleTask: failed\n")
    assert "ValueError: boom" in text


def test_log_file(tmp_path, stream):
    path = tmp_path / "run.log"
    configureLogging(stream=stream, logFile=str(path))
    TopTask().stats.run()
    for handler in logging.getLogger().handlers:
        handler.flush()
    assert path.read_text().splitlines()[0] == "exampleTask.stats: clipped mean=1.5; meanErr=0.25"
    with pytest.raises(ConfigError, match="cannot open log file"):
        configureLogging(stream=stream, logFile=str(tmp_path / "no" / "dir" / "x.log"))


def test_reconfiguring_replaces_handlers(stream):
    configureLogging(stream=stream)
    configureLogging(stream=stream)
    TopTask().stats.run()
    assert lines(stream).count("exampleTask.stats: careful") == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("INFO", ("", logging.INFO)),
        ("debug", ("", logging.DEBUG)),
        ("WARN", ("", logging.WARNING)),
        ("exampleTask.stats=DEBUG", ("exampleTask.stats", logging.DEBUG)),
        ("a=FATAL", ("a", logging.CRITICAL)),
    ],
)
def test_parse_level(text, expected):
    assert parseLevel(text) == expected


@pytest.mark.parametrize("text", ["1234", "LOUD", "a=", "a=NOISY"])
def test_bad_levels_and_formats(text):
    with pytest.raises(ConfigError, match="bad log level"):
        parseLevel(text)


def test_bad_format():
    with pytest.raises(ConfigError, match="unknown log format 'xml'"):
        configureLogging(fmt="xml")
