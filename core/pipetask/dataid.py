"""The ``--id`` grammar: tokens to a typed query, and a query to SQL.

Grammar (SPEC section 4). ``--id`` takes zero or more ``KEY=VALUE`` tokens:

- ``visit=3``, ``filter=g``: one value;
- ``visit=1^3``, ``filter=g^r``: alternatives;
- ``visit=1..3``: an inclusive integer range; ``visit=1..9:2``: with a step;
- ``visit=1..3^7``: alternatives mixing ranges and values;
- commas are literal (``patch=7,7`` is the one value ``7,7``).

Within one ``--id`` keys AND together and each key's values OR; keys left out match
everything; ``--id`` with no tokens selects all data. Several ``--id`` select the union,
without duplicates, in a stable order (the first ``--id``'s matches first, each in the
camera's key order). Each ``--id`` becomes one SQL query against the registry: ranges
become ``BETWEEN`` (plus a modulo condition for a step), alternatives ``IN (...)``; a key
with many alternatives passes them as one JSON array (``json_each``), so any number fits
SQLite's limits. Integers are 64-bit, as the registry stores them. Parsing is linear in
the length of the tokens.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from .errors import DataIdError

__all__ = [
    "IdQuery",
    "KeyTerm",
    "Range",
    "castValue",
    "checkSafeValue",
    "formatDataId",
    "parseId",
    "selectDataIds",
]

log = logging.getLogger("pipetask.dataid")

_INT = re.compile(r"^[+-]?\d+$")
_RANGE = re.compile(r"^([+-]?\d+)\.\.([+-]?\d+)(?::([+-]?\d+))?$")
_MAX_LENGTH = 200
#: The 64-bit integer range of data-ID values (what the registry can store).
INT_MIN, INT_MAX = -(2**63), 2**63 - 1
#: Up to this many alternatives of one key are written into the SQL text; more go in a
#: JSON array (SQLite limits expression depth and parameter count).
_INLINE = 32


def _toInt(text: str, key: str) -> int:
    """``text`` (optional sign, digits) as a 64-bit int, checked before conversion so that
    thousands of digits cost no more than a few."""
    digits = text.lstrip("+-").lstrip("0")
    value = int(text) if len(digits) <= 19 else None
    if value is None or not INT_MIN <= value <= INT_MAX:
        shown = text if len(text) <= 30 else f"{text[:12]}...{text[-6:]} ({len(text)} characters)"
        raise DataIdError(
            f"value {shown} for data ID key {key} is out of range: data ID integers are "
            f"64-bit ({INT_MIN}..{INT_MAX})"
        )
    return value


def checkSafeValue(key: str, value: Any) -> None:
    """Refuse a value that could escape the repository through a path template.

    Raises
    ------
    DataIdError
        For an empty string, ``/`` or ``\\``, ``..``, a leading ``.``, NUL or other
        control characters, or an over-long value.
    """
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise DataIdError(f"value {value!r} for data ID key {key} must be an int or a str")
    if isinstance(value, int):
        if not INT_MIN <= value <= INT_MAX:
            raise DataIdError(
                f"value {value} for data ID key {key} is out of range: data ID integers are "
                f"64-bit ({INT_MIN}..{INT_MAX})"
            )
        return
    problem = None
    if not _isUtf8(value):
        problem = "it is not valid UTF-8 text"
    elif value == "":
        problem = "it is empty"
    elif "/" in value or "\\" in value:
        problem = "it contains a path separator"
    elif ".." in value:
        problem = "it contains '..'"
    elif value.startswith("."):
        problem = "it starts with '.'"
    elif any(ord(c) < 32 or ord(c) == 127 for c in value):
        problem = "it contains a control character"
    elif len(value) > _MAX_LENGTH:
        problem = f"it is longer than {_MAX_LENGTH} characters"
    if problem:
        raise DataIdError(
            f"value {value!r} for data ID key {key} is not allowed: {problem}, "
            "and data ID values become parts of file names in the repository"
        )


def _isUtf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # bytes a UTF-8 decoder could not read (surrogate escapes)
        return False
    return True


def castValue(key: str, value: Any, kind: type) -> int | str:
    """``value`` as the key's type (``int`` or ``str``), checked safe for paths."""
    if kind is int:
        if isinstance(value, bool):
            raise DataIdError(f"bad value {value!r} for data ID key {key} (expected int)")
        if isinstance(value, int):
            checkSafeValue(key, value)
            return value
        if isinstance(value, float) and value.is_integer():
            return castValue(key, int(value), kind)
        if isinstance(value, str) and _INT.match(value.strip()):
            return _toInt(value.strip(), key)
        raise DataIdError(f"bad value {value!r} for data ID key {key} (expected int)")
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise DataIdError(f"bad value {value!r} for data ID key {key} (expected str)")
    checkSafeValue(key, value)
    return value


@dataclass(frozen=True)
class Range:
    """An inclusive integer range ``start..stop:step``."""

    start: int
    stop: int
    step: int = 1

    def __str__(self) -> str:
        return f"{self.start}..{self.stop}" + (f":{self.step}" if self.step != 1 else "")

    def __contains__(self, value: object) -> bool:
        return (
            isinstance(value, int)
            and self.start <= value <= self.stop
            and (value - self.start) % self.step == 0
        )


@dataclass(frozen=True)
class KeyTerm:
    """The values one key may take: single values OR ranges."""

    key: str
    values: tuple[Any, ...] = ()
    ranges: tuple[Range, ...] = ()

    def sql(self, column: str, datasetType: str | None = None) -> tuple[str, list[Any]]:
        """A SQL condition on ``column`` of table ``dataset`` and its parameters.

        Many values or ranges go in one JSON array parameter. Ranges are then matched by
        a subquery that seeks each range in the registry's index (it needs the
        ``datasetType``; without it every range is tried on every row).
        """
        parts: list[str] = []
        params: list[Any] = []
        if len(self.values) == 1:
            parts.append(f"{column} = ?")
            params.append(self.values[0])
        elif len(self.values) > _INLINE:
            parts.append(f"{column} IN (SELECT value FROM json_each(?))")
            params.append(json.dumps(self.values))
        elif self.values:
            parts.append(f"{column} IN ({', '.join('?' * len(self.values))})")
            params.extend(self.values)
        if len(self.ranges) > _INLINE:
            text, values = self._manyRanges(column, datasetType)
            parts.append(text)
            params.extend(values)
        else:
            for rng in self.ranges:
                if rng.step == 1:
                    parts.append(f"{column} BETWEEN ? AND ?")
                    params.extend([rng.start, rng.stop])
                else:
                    # col % step takes the dividend's sign in SQLite: for a start of
                    # remainder r, values >= 0 leave r and values < 0 leave r - step
                    # (no subtraction that could overflow 64 bits).
                    parts.append(f"({column} BETWEEN ? AND ? AND {column} % ? IN (?, ?))")
                    rem = rng.start % rng.step
                    params.extend([rng.start, rng.stop, rng.step, rem, rem - rng.step])
        text = parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"
        return text, params

    def _manyRanges(self, column: str, datasetType: str | None) -> tuple[str, list[Any]]:
        plain = [[r.start, r.stop] for r in self.ranges if r.step == 1]
        stepped = [
            [r.start, r.stop, r.step, r.start % r.step, r.start % r.step - r.step]
            for r in self.ranges
            if r.step != 1
        ]
        between = "{c} BETWEEN json_extract(r.value, '$[0]') AND json_extract(r.value, '$[1]')"
        onStep = (
            " AND {c} % json_extract(r.value, '$[2]') "
            "IN (json_extract(r.value, '$[3]'), json_extract(r.value, '$[4]'))"
        )
        parts: list[str] = []
        params: list[Any] = []
        for table, condition in ((plain, between), (stepped, between + onStep)):
            if not table:
                continue
            if datasetType is None:
                where = condition.format(c=column)
                parts.append(f"EXISTS (SELECT 1 FROM json_each(?) AS r WHERE {where})")
                params.append(json.dumps(table))
            else:
                on = condition.format(c=f"d.{column}")
                parts.append(
                    f"{column} IN (SELECT d.{column} FROM json_each(?) AS r "
                    f"JOIN dataset AS d ON d.dataset_type = ? AND {on})"
                )
                params.extend([json.dumps(table), datasetType])
        return (parts[0] if len(parts) == 1 else f"({' OR '.join(parts)})"), params

    @cached_property
    def _valueSet(self) -> frozenset:
        return frozenset(self.values)

    def matches(self, value: Any) -> bool:
        """Whether ``value`` satisfies this term."""
        return value in self._valueSet or any(value in rng for rng in self.ranges)


@dataclass(frozen=True)
class IdQuery:
    """One parsed ``--id``: a conjunction of key terms (none: everything)."""

    terms: tuple[KeyTerm, ...] = ()
    text: str = ""

    def where(self, quote: bool = True, datasetType: str | None = None) -> tuple[str, list[Any]]:
        """The SQL ``WHERE`` body (``"1"`` when unrestricted) and its parameters, for rows
        of the registry's ``dataset`` table (of ``datasetType``, if given: faster with many
        ranges)."""
        if not self.terms:
            return "1", []
        parts: list[str] = []
        params: list[Any] = []
        for term in self.terms:
            column = f'"{term.key}"' if quote else term.key
            sql, values = term.sql(column, datasetType)
            parts.append(sql)
            params.extend(values)
        return " AND ".join(parts), params

    def matches(self, dataId: Mapping[str, Any]) -> bool:
        """Whether a data ID satisfies every term (used for checks, not for selection)."""
        return all(t.key in dataId and t.matches(dataId[t.key]) for t in self.terms)

    def __str__(self) -> str:
        return "--id " + self.text if self.text else "--id"


def _parseAlternative(key: str, alt: str, kind: type, token: str) -> Any:
    if kind is int:  # fast paths: plain numbers and ranges of up to 18 digits fit 64 bits
        if len(alt) < 19 and alt.isascii() and alt.isdigit():
            return int(alt)
        start, dots, stop = alt.partition("..")
        if (
            dots
            and len(start) < 19
            and len(stop) < 19
            and start.isascii()
            and start.isdigit()
            and stop.isascii()
            and stop.isdigit()
            and int(start) <= int(stop)
        ):
            return Range(int(start), int(stop))
    found = _RANGE.match(alt)
    if found is not None or ".." in alt and kind is int:
        if kind is not int:
            raise DataIdError(f"range {alt!r} in {token!r}: ranges need an int key, {key} is str")
        if found is None:
            raise DataIdError(
                f"bad range {alt!r} in {token!r}: write START..STOP or START..STOP:STEP"
            )
        start, stop = _toInt(found.group(1), key), _toInt(found.group(2), key)
        step = 1 if found.group(3) is None else _toInt(found.group(3), key)
        if start > stop:
            raise DataIdError(
                f"reversed range {alt!r} in {token!r}: start {start} is after stop {stop} "
                f"(write {stop}..{start})"
            )
        if step <= 0:
            raise DataIdError(f"step {step} in range {alt!r} of {token!r} must be 1 or more")
        return Range(start, stop, step)
    if alt == "":
        raise DataIdError(f"empty value in {token!r}")
    return castValue(key, alt, kind)


def parseId(tokens: Sequence[str], keys: Mapping[str, type]) -> IdQuery:
    """Parse the tokens of one ``--id`` against a camera's key schema.

    Parameters
    ----------
    tokens : sequence of str
        ``KEY=VALUE`` tokens as the shell gave them (none: select everything).
    keys : mapping of str to type
        The camera's data-ID keys and their types (``int`` or ``str``).

    Raises
    ------
    DataIdError
        A token without ``=``, an unknown key (the message lists the valid keys), a key
        given twice, a value of the wrong type or unsafe for paths, a reversed range or
        a step below 1.
    """
    terms: list[KeyTerm] = []
    seen: dict[str, str] = {}
    for token in tokens:
        key, sep, valueText = token.partition("=")
        key = key.strip()
        if not sep:
            raise DataIdError(f"--id token {token!r} has no '=': write KEY=VALUE")
        if key not in keys:
            valid = ", ".join(keys)
            raise DataIdError(f"unknown data ID key {key!r} in --id; valid keys: {valid}")
        if key in seen:
            raise DataIdError(
                f"key {key!r} appears twice in one --id ({seen[key]!r} and {token!r}); "
                f"use alternatives instead: {key}=A^B"
            )
        seen[key] = token
        if valueText == "":
            raise DataIdError(f"no value for {key} in --id token {token!r}")
        values: dict[Any, None] = {}  # ordered sets: linear in the number of alternatives
        ranges: dict[Range, None] = {}
        for alt in valueText.split("^"):
            parsed = _parseAlternative(key, alt, keys[key], token)
            (ranges if isinstance(parsed, Range) else values)[parsed] = None
        terms.append(KeyTerm(key, tuple(values), tuple(ranges)))
    return IdQuery(tuple(terms), " ".join(tokens))


def formatDataId(dataId: Mapping[str, Any]) -> str:
    """``{visit: 1, filter: 'g'}``-style text for log lines and reports."""
    return "{" + ", ".join(f"{k}: {v!r}" for k, v in dataId.items()) + "}"


def selectDataIds(
    butler: Any,
    idArgs: Iterable[Sequence[str]] | None,
    datasetType: str | None = None,
) -> list[dict[str, Any]]:
    """The data IDs several ``--id`` options select, in a stable order without duplicates.

    Parameters
    ----------
    butler : Butler
        Gives the camera's keys and runs one registry query per ``--id``.
    idArgs : iterable of token sequences, or None
        The tokens of each ``--id``; None or empty means no ``--id`` was given: a
        warning is logged and nothing is selected.
    datasetType : str, optional
        Dataset type whose data IDs are selected; the camera's raw type by default.

    Returns
    -------
    list of dict
        Data IDs with keys in the camera's order; empty (with a warning) if nothing matched.
    """
    idArgs = [list(tokens) for tokens in (idArgs or [])]
    if not idArgs:
        log.warning("no --id given: nothing to process (use --id with no values to select all)")
        return []
    queries = [parseId(tokens, butler.camera.keys) for tokens in idArgs]
    datasetType = datasetType or butler.camera.rawDatasetType
    keys = list(butler.camera.keys)
    seen: set[tuple] = set()
    result: list[dict[str, Any]] = []
    for query in queries:
        rows = butler.queryDataIds(datasetType, query)
        if not rows:
            log.warning("no data found for %s (dataset type %s)", query, datasetType)
        for row in rows:
            if row in seen:
                continue
            seen.add(row)
            result.append(dict(zip(keys, row, strict=True)))
    if not result and len(queries) > 1:
        log.warning("no data matched any --id: nothing to process")
    return result
