"""``MaskedImage``: an image plane, a mask of named bit planes and a variance plane."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from .errors import ImageError
from .mask_planes import DEFAULT_MASK_PLANES, MAX_MASK_PLANES, checkedPlanes, planeBitMask

#: In-memory pixel types, as in LSST afw.
IMAGE_DTYPE = np.dtype(np.float32)
MASK_DTYPE = np.dtype(np.int32)
VARIANCE_DTYPE = np.dtype(np.float32)


def _plane(name: str, array: Any, dtype: np.dtype, shape: tuple[int, ...] | None) -> np.ndarray:
    array = np.asarray(array)
    if array.ndim != 2:
        raise ImageError(f"{name} plane must be 2-D, got shape {array.shape}")
    if shape is not None and array.shape != shape:
        raise ImageError(f"{name} plane has shape {array.shape}, the image {shape}")
    if array.dtype.kind not in "biuf":
        raise ImageError(f"{name} plane must be numeric, got dtype {array.dtype}")
    if dtype.kind == "i" and array.dtype.kind == "f":
        raise ImageError(f"mask plane must hold integers, got dtype {array.dtype}")
    return np.ascontiguousarray(array, dtype=dtype)


class MaskedImage:
    """An image (float32), a mask (int32 bits with named planes) and a variance (float32).

    Parameters
    ----------
    image : array-like, or str or path-like
        2-D pixel values; converted to float32 (integers up to 2**24 exactly). A file name
        reads the planes of that file (LSST's ``MaskedImageF(path)``; see :meth:`readFits`),
        and then no other argument may be given.
    mask : array-like, optional
        Integer bit mask of the same shape; all zero by default, allocated when first used.
    variance : array-like, optional
        Per-pixel variance of the same shape; all zero by default, allocated when first
        used.
    maskPlanes : mapping of str to int, optional
        Plane name -> bit; the LSST default planes (``BAD``, ``SAT``, ``INTRP``, ``CR``,
        ``EDGE``, ``DETECTED``, ``DETECTED_NEGATIVE``, ``SUSPECT``, ``NO_DATA``) by default.

    Raises
    ------
    ImageError
        If a plane is not 2-D, not numeric or not of the image's shape.
    """

    def __init__(
        self,
        image: Any,
        mask: Any | None = None,
        variance: Any | None = None,
        *,
        maskPlanes: Mapping[str, int] | None = None,
    ) -> None:
        if isinstance(image, str | os.PathLike):
            if mask is not None or variance is not None or maskPlanes is not None:
                raise ImageError("MaskedImage(path) reads every plane from the file: pass no other")
            read = type(self).readFits(image)
            self._image, self._mask, self._variance = read.image, read.mask, read.variance
            self._maskPlanes = read.maskPlanes
            return
        self._image = _plane("image", image, IMAGE_DTYPE, None)
        shape = self._image.shape
        self._mask = None if mask is None else _plane("mask", mask, MASK_DTYPE, shape)
        self._variance = (
            None if variance is None else _plane("variance", variance, VARIANCE_DTYPE, shape)
        )
        planes = DEFAULT_MASK_PLANES if maskPlanes is None else maskPlanes
        self._maskPlanes = checkedPlanes(planes)

    @property
    def image(self) -> np.ndarray:
        """The image plane (float32, rows x columns)."""
        return self._image

    @property
    def mask(self) -> np.ndarray:
        """The mask plane (int32 bits); an all-zero one is allocated on first use."""
        if self._mask is None:
            self._mask = np.zeros(self._image.shape, MASK_DTYPE)
        return self._mask

    @property
    def maskOrNone(self) -> np.ndarray | None:
        """The mask plane, or None while it is all zero and not yet allocated."""
        return self._mask

    @property
    def variance(self) -> np.ndarray:
        """The variance plane (float32); an all-zero one is allocated on first use."""
        if self._variance is None:
            self._variance = np.zeros(self._image.shape, VARIANCE_DTYPE)
        return self._variance

    @property
    def shape(self) -> tuple[int, int]:
        """``(rows, columns)``, as numpy orders them."""
        return self._image.shape  # type: ignore[return-value]

    def getWidth(self) -> int:
        """Number of columns."""
        return self._image.shape[1]

    def getHeight(self) -> int:
        """Number of rows."""
        return self._image.shape[0]

    @property
    def maskPlanes(self) -> dict[str, int]:
        """A copy of the plane name -> bit mapping."""
        return dict(self._maskPlanes)

    def getMaskPlaneDict(self) -> dict[str, int]:
        """Plane name -> bit (LSST spelling of :attr:`maskPlanes`)."""
        return self.maskPlanes

    def getPlaneBitMask(self, names: str | Iterable[str]) -> int:
        """Bit mask with the bits of the named planes set.

        Raises
        ------
        ImageError
            If a name is not a mask plane of this image.
        """
        return planeBitMask(self._maskPlanes, names)

    def addMaskPlane(self, name: str) -> int:
        """Return the bit of plane ``name``, giving it the lowest free bit if it is new."""
        if name in self._maskPlanes:
            return self._maskPlanes[name]
        used = set(self._maskPlanes.values())
        free = [bit for bit in range(MAX_MASK_PLANES) if bit not in used]
        if not free:
            raise ImageError(f"no free bit left for mask plane {name!r}")
        self._maskPlanes[name] = free[0]
        return free[0]

    @classmethod
    def readFits(cls, path: str | os.PathLike[str], *, reader: str | None = None) -> MaskedImage:
        """Read the planes of an LSST multi-extension file or a plain raw image.

        Raises
        ------
        ImageError
            If the file is missing, corrupt, truncated or holds no image.
        """
        from .exposure import Exposure

        return Exposure.readFits(path, reader=reader).maskedImage

    def writeFits(self, path: str | os.PathLike[str]) -> None:
        """Write the LSST multi-extension form (gzip if ``path`` ends in ``.gz``)."""
        from .fits_io import buildHduList, writeHduList

        hdus = buildHduList(self._image, self.mask, self.variance, self._maskPlanes)
        writeHduList(hdus, path)

    def __repr__(self) -> str:
        rows, columns = self.shape
        return f"MaskedImage({columns}x{rows}, planes={sorted(self._maskPlanes)})"
