"""Storage formats: how a dataset's object becomes a file and back.

A format is a class with a file ``extension``, ``read(path) -> object`` and
``write(obj, path)``. Formats are plugins (hook ``pipetask_formats``); the core provides
TOML and JSON, ``pipetask-image`` provides FITS. ``write`` is always given a temporary
path in the final directory with the final extension; the Butler renames it afterwards,
so a format need not care about atomicity.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from ..errors import ButlerError


class StorageFormat:
    """Base of storage formats (subclasses set ``extension`` and implement both methods)."""

    extension: str = ""

    def read(self, path: str) -> Any:
        """Read the object stored at ``path``."""
        raise NotImplementedError

    def write(self, obj: Any, path: str) -> None:
        """Write ``obj`` to ``path``."""
        raise NotImplementedError


def _plain(obj: Any) -> Any:
    """``obj`` as JSON/TOML-friendly built-ins (Structs, numpy scalars and arrays included)."""
    if obj is None or isinstance(obj, bool | int | str):
        return obj
    if isinstance(obj, float):
        return obj
    if isinstance(obj, Mapping):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [_plain(v) for v in obj]
    for method in ("getDict", "toDict"):
        if callable(getattr(obj, method, None)):
            return _plain(getattr(obj, method)())
    if callable(getattr(obj, "tolist", None)):  # numpy scalars and arrays
        return _plain(obj.tolist())
    return str(obj)


def _jsonFloats(obj: Any) -> Any:
    """Replace non-finite floats by strings JSON can hold (``"nan"``, ``"inf"``)."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return repr(obj)
    if isinstance(obj, dict):
        return {k: _jsonFloats(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_jsonFloats(v) for v in obj]
    return obj


class JsonFormat(StorageFormat):
    """JSON documents: metadata, package versions and small results.

    Writes mappings, lists, numbers, strings, Structs (``getDict``) and numpy values;
    non-finite floats are stored as the strings ``"nan"``, ``"inf"``, ``"-inf"``.
    Reads back plain built-ins.
    """

    extension = ".json"

    def read(self, path: str) -> Any:
        try:
            with open(path, encoding="utf-8") as stream:
                return json.load(stream)
        except json.JSONDecodeError as exc:
            raise ButlerError(f"{path}: not valid JSON (line {exc.lineno}): {exc.msg}") from None

    def write(self, obj: Any, path: str) -> None:
        text = json.dumps(_jsonFloats(_plain(obj)), indent=1, allow_nan=False)
        with open(path, "w", encoding="utf-8") as stream:
            stream.write(text + "\n")


class TomlFormat(StorageFormat):
    """TOML documents: task configs (``config.toToml()``), mappings or TOML text.

    Reads back a plain ``dict``; to rebuild a config, give its text to
    ``ConfigClass.fromToml`` (see :func:`pipetask.butler.provenance.readConfigText`).
    """

    extension = ".toml"

    def read(self, path: str) -> Any:
        import tomllib

        try:
            with open(path, "rb") as stream:
                return tomllib.load(stream)
        except tomllib.TOMLDecodeError as exc:
            raise ButlerError(f"{path}: not valid TOML: {exc}") from None

    def write(self, obj: Any, path: str) -> None:
        if callable(getattr(obj, "toToml", None)):
            text = obj.toToml()
        elif isinstance(obj, str):
            text = obj
        else:
            import tomlkit

            text = tomlkit.dumps(_plain(obj))
        with open(path, "w", encoding="utf-8") as stream:
            stream.write(text)
