"""pipetask-image: masked images and exposures in the LSST FITS conventions.

``MaskedImage`` holds a float32 image, an int32 mask of named bit planes and a float32
variance; ``Exposure`` adds header metadata, a filter and an astropy WCS. Both read the
multi-extension LSST form and plain raws (gzip included) and write the LSST form.

Names load lazily, so importing the plugin module (``pipetask list``) loads no numpy or
astropy.
"""

from __future__ import annotations

import importlib

from .errors import ImageError

TYPE_CHECKING = False  # not typing's: importing typing costs `pipetask list` start-up
if TYPE_CHECKING:
    from typing import Any

_LAZY = {
    "DEFAULT_MASK_PLANES": "mask_planes",
    "Exposure": "exposure",
    "MaskedImage": "masked_image",
}

__all__ = ["DEFAULT_MASK_PLANES", "Exposure", "ImageError", "MaskedImage"]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pipetask_image' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)
