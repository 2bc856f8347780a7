"""Data repositories: the Butler, its registry, cameras and storage formats.

Names are resolved lazily so that ``import pipetask.butler.camera`` (done by obs packages)
does not open databases or import anything heavy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .butler import Butler, DataRef
    from .camera import Amplifier, CalibSpec, Camera, DatasetType, Detector, IngestRule

__all__ = [
    "Amplifier",
    "Butler",
    "CalibSpec",
    "Camera",
    "DataRef",
    "DatasetType",
    "Detector",
    "IngestRule",
]

_WHERE = {
    "Butler": "butler",
    "DataRef": "butler",
    "Amplifier": "camera",
    "CalibSpec": "camera",
    "Camera": "camera",
    "DatasetType": "camera",
    "Detector": "camera",
    "IngestRule": "camera",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'pipetask.butler' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
