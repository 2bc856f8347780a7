"""What the stats tasks accept as an image."""

from __future__ import annotations

from typing import Any

import numpy as np
from pipetask_image import MaskedImage


def asMaskedImage(image: Any) -> MaskedImage:
    """A :class:`MaskedImage` for an ``Exposure``, a ``MaskedImage`` or a 2-D array.

    An array (integer arrays included) becomes the image plane, as float32, with an empty
    mask.
    """
    if isinstance(image, MaskedImage):
        return image
    maskedImage = getattr(image, "maskedImage", None)
    if isinstance(maskedImage, MaskedImage):
        return maskedImage
    if isinstance(image, np.ndarray):
        return MaskedImage(image)
    raise TypeError(
        f"expected an Exposure, a MaskedImage or a 2-D array, not {type(image).__name__}"
    )
