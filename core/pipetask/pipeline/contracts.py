"""Contracts: declarative checks on a pipeline's configs, run before anything runs.

A contract is ``LEFT OP RIGHT`` with OP one of ``== != < <= > >=``; each side is a TOML
literal (``3``, ``2.5``, ``"g"``, ``true``) or a field reference ``label.field.path``.
Nothing is executed. A contract that names a label left out of the pipeline (by a
subset) does not apply.
"""

from __future__ import annotations

import operator
import re
import tomllib
from collections.abc import Collection, Mapping
from typing import Any

from ..config import resolveField
from ..errors import PipetaskError
from .pipeline_file import Contract, PipelineError

_COMPARISON = re.compile(r"^\s*(.+?)\s*(==|!=|<=|>=|<|>)\s*(.+?)\s*$")
_REFERENCE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")
_OPERATORS = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_MISSING = object()


def _operand(
    text: str, configs: Mapping[str, Any], contract: Contract, labels: Collection[str]
) -> tuple[Any, bool]:
    """``(value, is a reference)``; ``_MISSING`` for a label of the file left out of the
    pipeline; an error for a label the file does not have."""
    try:
        return tomllib.loads(f"v = {text}")["v"], False
    except tomllib.TOMLDecodeError:
        pass
    if not _REFERENCE.match(text):
        raise PipelineError(
            f"{contract.where}: contract {contract.check!r}: {text!r} is neither a value nor "
            "a field reference label.field"
        )
    label, _, name = text.partition(".")
    config = configs.get(label)
    if config is None:
        if label not in labels:
            raise PipelineError(
                f"{contract.where}: contract {contract.check!r}: no label {label!r} "
                f"(labels: {', '.join(labels)})"
            )
        return _MISSING, True
    try:
        return resolveField(config, name).value, True
    except PipetaskError as exc:
        raise PipelineError(f"{contract.where}: contract {contract.check!r}: {exc}") from None


def checkContracts(
    contracts: list[Contract], configs: Mapping[str, Any], labels: Collection[str] = ()
) -> None:
    """Raise :class:`PipelineError` for the first contract that fails, with the values.
    ``configs`` are the pipeline's labels' configs; ``labels`` every label of the file
    (a contract naming one left out by a subset does not apply)."""
    labels = set(labels) | set(configs)
    for contract in contracts:
        found = _COMPARISON.match(contract.check)
        if found is None:
            raise PipelineError(
                f"{contract.where}: contract {contract.check!r} is not LEFT OP RIGHT "
                "(OP one of == != < <= > >=)"
            )
        left, op, right = found.groups()
        a, aRef = _operand(left, configs, contract, labels)
        b, bRef = _operand(right, configs, contract, labels)
        if a is _MISSING or b is _MISSING:
            continue
        try:
            holds = _OPERATORS[op](a, b)
        except TypeError:
            holds = False
        if not holds:
            values = "; ".join(
                f"{text} = {value!r}"
                for text, value, ref in ((left, a, aRef), (right, b, bRef))
                if ref
            )
            why = f": {contract.message}" if contract.message else ""
            raise PipelineError(
                f"{contract.where}: contract {contract.check!r} fails ({values}){why}"
            )
