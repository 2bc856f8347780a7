"""What ``pipetask run --show`` prints: config, history, the subtask tree, data IDs."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .config import walk
from .config.nested import targetPath
from .config.tomltext import tomlValue
from .errors import ConfigError

if TYPE_CHECKING:
    from .config import Config

SHOW_CHOICES = "config[=PATTERN], history=PATTERN, data, tasks, pipeline, graph, run"


@dataclass
class ShowRequest:
    """The parsed ``--show`` values."""

    config: list[str | None] = field(default_factory=list)
    history: list[str] = field(default_factory=list)
    data: bool = False
    tasks: bool = False
    pipeline: bool = False
    graph: bool = False
    run: bool = False

    @classmethod
    def parse(cls, items: list[str]) -> ShowRequest:
        """Read ``--show`` values; an unknown one is a :class:`ConfigError`."""
        request = cls()
        for item in items:
            name, sep, pattern = item.partition("=")
            if name == "config":
                request.config.append(pattern if sep else None)
            elif name == "history":
                if not pattern:
                    raise ConfigError("--show history needs a pattern, e.g. --show history=stats.*")
                request.history.append(pattern)
            elif name in ("data", "tasks", "pipeline", "graph", "run") and not sep:
                setattr(request, name, True)
            else:
                raise ConfigError(f"unknown --show value {item!r}: choose from {SHOW_CHOICES}")
        return request

    @property
    def any(self) -> bool:
        """Whether anything is to be shown."""
        return bool(
            self.config or self.history or self.data or self.tasks or self.pipeline or self.graph
        )


def matches(name: str, pattern: str) -> bool:
    """Whether dotted ``name`` matches ``pattern`` whole or as a suffix after a dot.

    Case is ignored, as the original's ``--show config=PATTERN`` did.
    """
    name, pattern = name.lower(), pattern.lower()
    return fnmatch.fnmatchcase(name, pattern) or fnmatch.fnmatchcase(name, "*." + pattern)


def configText(config: Config, pattern: str | None, task: str | None = None) -> str:
    """The whole config as TOML, or the fields matching ``pattern`` as dotted TOML keys."""
    if pattern is None:
        return config.toToml(task=task)
    lines: list[str] = []
    for node in walk(config):
        if node.isNested or not matches(node.path, pattern):
            continue
        lines.extend(f"# {line}" for line in node.doc.strip().splitlines())
        plain = node.plain
        lines.append(
            f"# {node.path} is unset" if plain is None else f"{node.path} = {tomlValue(plain)}"
        )
        lines.append("")
    if not lines:
        raise ConfigError(f"--show config={pattern}: no config field matches")
    return "\n".join(lines)


def historyText(config: Config, pattern: str) -> str:
    """Where each matching field's values were set, oldest first."""
    blocks = [
        config.formatHistory(node.path) for node in walk(config) if matches(node.path, pattern)
    ]
    if not blocks:
        raise ConfigError(f"--show history={pattern}: no config field matches")
    return "\n".join(blocks)


def taskTree(taskName: str, taskClass: type, config: Config) -> str:
    """The subtask tree: one line per task with its implementation."""
    lines = [f"{taskName}: {targetPath(taskClass)}"]
    for node in walk(config):
        for label, target in node.targets:
            name = f"{node.name}[{label}]" if label else node.name
            lines.append(f"{'  ' * (node.depth + 1)}{name}: {targetPath(target)}")
    return "\n".join(lines)


def dataIdLine(dataId: dict[str, Any]) -> str:
    """``visit=1 filter=g``: a data ID as ``--id`` tokens."""
    return " ".join(f"{k}={v}" for k, v in dataId.items())
