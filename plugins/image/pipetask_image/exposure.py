"""``Exposure``: a masked image with its header metadata, filter and WCS."""

from __future__ import annotations

import os
import warnings
from typing import TYPE_CHECKING, Any

from .fits_fast import FitsCards
from .fits_io import buildHduList, readFitsPlanes, wcsCards, writeHduList
from .masked_image import MaskedImage

if TYPE_CHECKING:
    from astropy.io import fits


class Exposure:
    """A :class:`MaskedImage` with header metadata, a filter name and an astropy WCS.

    Parameters
    ----------
    maskedImage : MaskedImage, or str or path-like
        The pixels. A file name reads the exposure from that file (LSST's
        ``ExposureF(path)``; see :meth:`readFits`), and then no other argument may be given.
    metadata : astropy.io.fits.Header, optional
        Header keywords (the primary header of a file); empty by default. A header read
        by the fast FITS path becomes an astropy ``Header`` when first asked for.
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
        self._metadata: fits.Header | FitsCards | None = metadata
        # Where the WCS cards come from (the metadata unless a reader says otherwise),
        # turned into cards when first needed.
        self._wcsSource: fits.Header | FitsCards | None = metadata
        self._wcsCardsCache: fits.Header | None = None
        self._wcs = wcs
        if wcs is not None:
            self._wcsCardsCache = wcs.to_header(relax=True)
        if filter is None and metadata is not None:
            value = metadata.get("FILTER")
            filter = str(value).strip() if value is not None else None
        self._filter = filter

    @property
    def _wcsCards(self) -> fits.Header:
        if self._wcsCardsCache is None:
            source = self._wcsSource
            if isinstance(source, FitsCards):
                source = source.astropy()
            if source is None:
                from astropy.io import fits

                source = fits.Header()
            self._wcsCardsCache = wcsCards(source)
        return self._wcsCardsCache

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
        """Header keywords of the exposure (an astropy ``Header``)."""
        if self._metadata is None:
            from astropy.io import fits

            self._metadata = fits.Header()
        elif isinstance(self._metadata, FitsCards):
            self._metadata = self._metadata.astropy()
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
        return self.metadata

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
        reader : {"fast", "fitsio", "astropy"}, optional
            How to read: the fast path (astropy when it declines the file) by default.

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
            exposure._wcsSource = planes.imageHeader
            if exposure._filter is None and "FILTER" in planes.imageHeader:
                exposure._filter = str(planes.imageHeader["FILTER"]).strip()
        return exposure

    def writeFits(self, path: str | os.PathLike[str]) -> None:
        """Write the LSST multi-extension form (gzip if ``path`` ends in ``.gz``).

        The metadata goes to HDU 0 (with ``FILTER``), the WCS to each plane's header.
        """
        primary = self.metadata.copy()
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
