"""``Exposure``: a masked image with its header metadata, filter and WCS."""

from __future__ import annotations

import os
import warnings
from typing import Any

from astropy.io import fits

from .fits_io import buildHduList, readFitsPlanes, wcsCards, writeHduList
from .masked_image import MaskedImage


class Exposure:
    """A :class:`MaskedImage` with header metadata, a filter name and an astropy WCS.

    Parameters
    ----------
    maskedImage : MaskedImage, or str or path-like
        The pixels. A file name reads the exposure from that file (LSST's
        ``ExposureF(path)``; see :meth:`readFits`), and then no other argument may be given.
    metadata : astropy.io.fits.Header, optional
        Header keywords (the primary header of a file); empty by default.
    wcs : astropy.wcs.WCS, optional
        World coordinates; by default read from the WCS keywords of ``metadata``.
    filter : str, optional
        Filter name; by default the ``FILTER`` keyword of ``metadata``.
    """

    def __init__(
        self,
        maskedImage: MaskedImage,
        metadata: fits.Header | None = None,
        wcs: Any | None = None,
        filter: str | None = None,
    ) -> None:
        if isinstance(maskedImage, str | os.PathLike):
            if metadata is not None or wcs is not None or filter is not None:
                from .errors import ImageError

                raise ImageError("Exposure(path) reads everything from the file: pass no other")
            vars(self).update(vars(type(self).readFits(maskedImage)))
            return
        self._maskedImage = maskedImage
        self._metadata = fits.Header() if metadata is None else metadata
        self._wcsCards = wcsCards(self._metadata)
        self._wcs = wcs
        if wcs is not None:
            self._wcsCards = wcs.to_header(relax=True)
        if filter is None:
            value = self._metadata.get("FILTER")
            filter = str(value).strip() if value is not None else None
        self._filter = filter

    @property
    def maskedImage(self) -> MaskedImage:
        """The image, mask and variance planes."""
        return self._maskedImage

    @property
    def image(self):
        """The image plane of the masked image."""
        return self._maskedImage.image

    @property
    def mask(self):
        """The mask plane of the masked image."""
        return self._maskedImage.mask

    @property
    def variance(self):
        """The variance plane of the masked image."""
        return self._maskedImage.variance

    @property
    def metadata(self) -> fits.Header:
        """Header keywords of the exposure."""
        return self._metadata

    @property
    def filter(self) -> str | None:
        """The filter name, or None."""
        return self._filter

    @property
    def wcs(self) -> Any | None:
        """The astropy ``WCS``, or None when the headers have no celestial WCS."""
        if self._wcs is None and any(k.startswith("CTYPE") for k in self._wcsCards):
            from astropy.wcs import WCS, FITSFixedWarning

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FITSFixedWarning)
                self._wcs = WCS(self._wcsCards)
        return self._wcs

    def getMaskedImage(self) -> MaskedImage:
        """The masked image (LSST spelling)."""
        return self._maskedImage

    def getMetadata(self) -> fits.Header:
        """The header metadata (LSST spelling)."""
        return self._metadata

    def getWcs(self) -> Any | None:
        """The WCS (LSST spelling)."""
        return self.wcs

    def getFilter(self) -> str | None:
        """The filter name (LSST spelling)."""
        return self._filter

    @classmethod
    def readFits(cls, path: str | os.PathLike[str], *, reader: str | None = None) -> Exposure:
        """Read an LSST multi-extension exposure or a plain raw image (gzip included).

        A plain image gets an empty mask with the default planes and a zero variance.

        Parameters
        ----------
        path : str or path-like
            The file.
        reader : {"fitsio", "astropy"}, optional
            Library to read with; the fastest installed one by default.

        Raises
        ------
        ImageError
            If the file is missing, corrupt, truncated or holds no image.
        """
        planes = readFitsPlanes(path, reader=reader)
        maskedImage = MaskedImage(
            planes.image, planes.mask, planes.variance, maskPlanes=planes.maskPlanes
        )
        exposure = cls(maskedImage, planes.primaryHeader)
        if planes.imageHeader is not planes.primaryHeader:
            exposure._wcsCards = wcsCards(planes.imageHeader)
            if exposure._filter is None and "FILTER" in planes.imageHeader:
                exposure._filter = str(planes.imageHeader["FILTER"]).strip()
        return exposure

    def writeFits(self, path: str | os.PathLike[str]) -> None:
        """Write the LSST multi-extension form (gzip if ``path`` ends in ``.gz``).

        The metadata goes to HDU 0 (with ``FILTER``), the WCS to each plane's header.
        """
        primary = self._metadata.copy()
        if self._filter is not None:
            primary["FILTER"] = self._filter
        mi = self._maskedImage
        hdus = buildHduList(
            mi.image, mi.mask, mi.variance, mi.getMaskPlaneDict(), primary, self._wcsCards
        )
        writeHduList(hdus, path)

    def __repr__(self) -> str:
        rows, columns = self._maskedImage.shape
        return f"Exposure({columns}x{rows}, filter={self._filter!r})"
