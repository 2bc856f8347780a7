"""The command that reruns exactly a set of data IDs, with ``--id`` values kept short."""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping, Sequence
from typing import Any


def compressValues(values: Iterable[Any]) -> str:
    """``--id`` value grammar for a set of values: integers as ``a..b`` runs joined by
    ``^``, others joined by ``^`` (sorted, without duplicates)."""
    unique = sorted(set(values), key=lambda v: (not isinstance(v, int), v))
    ints = [v for v in unique if isinstance(v, int) and not isinstance(v, bool)]
    others = [str(v) for v in unique if not (isinstance(v, int) and not isinstance(v, bool))]
    parts = []
    start = previous = None
    for value in ints:
        if previous is not None and value == previous + 1:
            previous = value
            continue
        if start is not None:
            parts.append(_run(start, previous))
        start = previous = value
    if start is not None:
        parts.append(_run(start, previous))
    return "^".join(parts + others)


def _run(start: int, end: int) -> str:
    if start == end:
        return str(start)
    if end == start + 1:
        return f"{start}^{end}"
    return f"{start}..{end}"


def idOptions(dataIds: Sequence[Mapping[str, Any]]) -> list[str]:
    """``--id`` options selecting exactly ``dataIds``: IDs that agree on every key but the
    last share one option whose last key lists all their values."""
    if not dataIds:
        return []
    groups: dict[tuple, list[Any]] = {}
    keysOf: dict[tuple, list[str]] = {}
    for dataId in dataIds:
        keys = list(dataId)
        fixed = tuple((k, dataId[k]) for k in keys[:-1])
        groupKey = (tuple(keys), fixed)
        groups.setdefault(groupKey, []).append(dataId[keys[-1]] if keys else None)
        keysOf[groupKey] = keys
    options: list[str] = []
    for groupKey, lastValues in groups.items():
        keys = keysOf[groupKey]
        tokens = [f"{k}={v}" for k, v in groupKey[1]]
        if keys:
            tokens.append(f"{keys[-1]}={compressValues(lastValues)}")
        options += ["--id", *tokens]
    return options


def rerunCommand(base: Sequence[str], dataIds: Sequence[Mapping[str, Any]]) -> str:
    """A shell command: ``base`` (the run's command without its ``--id`` options) with
    ``--id`` options selecting ``dataIds``."""
    return shlex.join([*base, *idOptions(dataIds)])
