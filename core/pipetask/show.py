"""What ``pipetask run --show`` prints: config, history, the subtask tree, data IDs."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .config.choice import ConfigChoiceField
from .config.nested import ConfigurableField, targetPath
from .config.toml_io import tomlValue
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
    """Whether dotted ``name`` matches ``pattern`` whole or as a suffix after a dot."""
    return fnmatch.fnmatchcase(name, pattern) or fnmatch.fnmatchcase(name, "*." + pattern)


def _leaves(config: Config, prefix: str = "") -> Iterator[tuple[str, Config, str]]:
    """``(full name, owning config, field name)`` of every field, depth first."""
    for name, fieldObj in config._fields.items():
        yield prefix + name, config, name
        child = getattr(fieldObj, "childConfig", None)
        if child is not None and not isinstance(fieldObj, ConfigChoiceField):
            yield from _leaves(child(config), f"{prefix}{name}.")


def configText(config: Config, pattern: str | None) -> str:
    """The whole config as TOML, or the fields matching ``pattern`` as dotted TOML keys."""
    if pattern is None:
        return config.toToml()
    lines: list[str] = []
    for full, owner, name in _leaves(config):
        fieldObj = owner._fields[name]
        if getattr(fieldObj, "childConfig", None) is not None or not matches(full, pattern):
            continue
        value = owner._storage[name]
        lines.extend(f"# {line}" for line in fieldObj.doc.strip().splitlines())
        shown = "# (unset)" if value is None else tomlValue(fieldObj.toPlain(value))
        lines.append(f"{full} = {shown}" if value is not None else f"# {full} is unset")
        lines.append("")
    if not lines:
        raise ConfigError(f"--show config={pattern}: no config field matches")
    return "\n".join(lines)


def historyText(config: Config, pattern: str) -> str:
    """Where each matching field's values were set, oldest first."""
    blocks: list[str] = []
    for full, owner, name in _leaves(config):
        if not matches(full, pattern):
            continue
        rows = owner.history.get(name, [])
        width = max((len(_shown(v)) for v, _ in rows), default=0)
        blocks.append(full)
        blocks.extend(f"    {_shown(v):<{width}}  {source}" for v, source in rows)
    if not blocks:
        raise ConfigError(f"--show history={pattern}: no config field matches")
    return "\n".join(blocks)


def _shown(value: Any) -> str:
    try:
        return tomlValue(value)
    except ConfigError:
        return str(value)


def taskTree(taskName: str, taskClass: type, config: Config) -> str:
    """The subtask tree: one line per task with its implementation."""
    lines = [f"{taskName}: {targetPath(taskClass)}"]

    def walk(cfg: Config, depth: int) -> None:
        for name, fieldObj in cfg._fields.items():
            if isinstance(fieldObj, ConfigurableField):
                instance = cfg._storage[name]
                lines.append(f"{'  ' * depth}{name}: {targetPath(instance.target)}")
                walk(instance.value, depth + 1)
            elif isinstance(fieldObj, ConfigChoiceField) and fieldObj.registry is not None:
                instance = cfg._storage[name]
                for choice in fieldObj._selected(cfg):
                    target = fieldObj.registry[choice].target
                    lines.append(f"{'  ' * depth}{name}[{choice}]: {targetPath(target)}")
                    walk(instance[choice], depth + 1)

    walk(config, 1)
    return "\n".join(lines)


def dataIdLine(dataId: dict[str, Any]) -> str:
    """``visit=1 filter=g``: a data ID as ``--id`` tokens."""
    return " ".join(f"{k}={v}" for k, v in dataId.items())
