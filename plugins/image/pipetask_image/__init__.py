"""pipetask-image: masked images and exposures in the LSST FITS conventions.

``MaskedImage`` holds a float32 image, an int32 mask of named bit planes and a float32
variance; ``Exposure`` adds header metadata, a filter and an astropy WCS. Both read the
multi-extension LSST form and plain raws (gzip included) and write the LSST form.
"""

from __future__ import annotations

from .errors import ImageError
from .exposure import Exposure
from .mask_planes import DEFAULT_MASK_PLANES
from .masked_image import MaskedImage

__all__ = ["DEFAULT_MASK_PLANES", "Exposure", "ImageError", "MaskedImage"]
