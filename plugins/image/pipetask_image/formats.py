"""The Butler storage format for images: LSST multi-extension FITS."""

from __future__ import annotations

from typing import Any

from .errors import ImageError


class FitsFormat:
    """Reads any image FITS file as an :class:`~pipetask_image.Exposure`; writes one.

    ``write`` accepts an ``Exposure`` or a ``MaskedImage`` and gzips when the path it is
    given ends in ``.gz`` (the Butler's temporary names keep the final extension).
    """

    extension = ".fits"

    def read(self, path: str) -> Any:
        """Read ``path`` as an ``Exposure``; :class:`ImageError` if it is not an image."""
        from .exposure import Exposure

        return Exposure.readFits(path)

    def write(self, obj: Any, path: str) -> None:
        """Write an ``Exposure`` or ``MaskedImage`` to ``path``."""
        from .exposure import Exposure
        from .masked_image import MaskedImage

        if not isinstance(obj, Exposure | MaskedImage):
            raise ImageError(
                f"the fits format writes an Exposure or a MaskedImage, not {type(obj).__name__}"
            )
        obj.writeFits(path)
