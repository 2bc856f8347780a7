"""Reading and writing images in the LSST FITS conventions.

Two layouts are read:

- the LSST multi-extension form: HDU 0 header only, HDU 1 image, HDU 2 mask (planes named
  by ``MP_<NAME>`` keywords), HDU 3 variance, further HDUs ignored;
- a plain image in HDU 0 (or in HDU 1 after an empty primary), which gets an empty mask
  and a zero variance.

Reading takes the fast path of :mod:`.fits_fast` (zlib and numpy, no astropy) for the
files it handles and astropy for the others; ``reader="fitsio"`` or ``"astropy"`` forces a
library. All give identical pixel values. Headers read by the fast path stay text until
someone asks for an astropy ``Header``. Writing uses astropy and always produces the
multi-extension form, gzip-compressed when the path ends in ``.gz``, through a temporary
file renamed into place. astropy and fitsio are imported only when used.
"""

from __future__ import annotations

import gzip
import io
import os
import re
import warnings
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from pipetask.butler.atomic import TMP_PREFIX, tempPath

from . import fits_fast
from .errors import ImageError
from .fits_fast import FitsCards
from .mask_planes import FITS_PREFIX, planesFromHeader

if TYPE_CHECKING:
    from astropy.io import fits

#: Readers accepted by :func:`readFitsPlanes`: the fast path (falling back to astropy for
#: files it does not handle), fitsio, astropy.
READERS = ("fast", "fitsio", "astropy")
DEFAULT_READER = "fast"

#: Keywords that describe the layout of an HDU and are never copied between headers.
STRUCTURAL_KEYWORDS = frozenset(
    ["SIMPLE", "BITPIX", "EXTEND", "XTENSION", "PCOUNT", "GCOUNT", "BZERO", "BSCALE", "BLANK"]
    + ["NAXIS", "NAXIS1", "NAXIS2", "NAXIS3", "EXTTYPE", "EXTNAME", "INHERIT", "CHECKSUM"]
    + ["DATASUM", "END"]
)

GZIP_LEVEL = 6

#: What the readers raise on corrupt, truncated or odd files (astropy's truncation
#: warning is turned into an error while reading).
_READ_ERRORS = (OSError, ValueError, TypeError, IndexError, EOFError, KeyError, zlib.error, Warning)


@dataclass
class FitsPlanes:
    """What a FITS file holds: planes (mask and variance may be absent) and headers."""

    image: np.ndarray
    mask: np.ndarray | None
    variance: np.ndarray | None
    maskPlanes: dict[str, int] | None
    primaryHeader: fits.Header | FitsCards
    imageHeader: fits.Header | FitsCards


def _fail(path: str, reason: str) -> ImageError:
    return ImageError(f"cannot read image from FITS file {path!r}: {reason}")


def _firstLine(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def readFitsPlanes(path: str | os.PathLike[str], *, reader: str | None = None) -> FitsPlanes:
    """Read the planes and headers of an image FITS file (gzip included).

    Parameters
    ----------
    path : str or path-like
        The file.
    reader : {"fast", "fitsio", "astropy"}, optional
        How to read: the fast path (astropy when it declines the file) by default.

    Raises
    ------
    ImageError
        If the file is missing, is not FITS, is corrupt or truncated, or holds no 2-D
        image; the message names the file.
    """
    path = os.fspath(path)
    reader = reader or DEFAULT_READER
    if reader not in READERS:
        raise ValueError(f"reader must be one of {READERS}, not {reader!r}")
    if not os.path.isfile(path):
        raise _fail(path, "no such file")
    try:
        if reader == "fast":
            planes = _readFast(path)
            if planes is not None:
                return planes
        if reader == "fitsio":
            return _readWithFitsio(path)
        return _readWithAstropy(path)
    except ImageError:
        raise
    except _READ_ERRORS as exc:
        raise _fail(path, _firstLine(exc)) from exc


Shape = tuple[int, ...] | None


def _chooseLayout(
    path: str, dims: list[Shape], exttypes: list[str]
) -> tuple[int, int | None, int | None]:
    """HDU indices of (image, mask, variance) from each HDU's shape (None: not an image)
    and ``EXTTYPE`` keyword."""

    def is2d(i: int) -> bool:
        return i < len(dims) and dims[i] is not None and len(dims[i]) == 2  # type: ignore[arg-type]

    if is2d(0):
        return 0, None, None
    if is2d(1) and is2d(2) and is2d(3):
        if not dims[1] == dims[2] == dims[3]:
            raise _fail(path, f"image, mask and variance shapes differ: {dims[1:4]}")
        return 1, 2, 3
    if is2d(1) and (is2d(2) or exttypes[1] == "IMAGE" or len(dims) > 2):
        raise _fail(path, "the mask or variance HDU of an LSST exposure is missing (truncated?)")
    if is2d(1):
        return 1, None, None
    found = [d for d in dims if d]
    detail = f"HDU shapes {found}" if found else "no HDU has pixel data"
    raise _fail(path, f"no 2-D image ({detail})")


def _readFast(path: str) -> FitsPlanes | None:
    hdus = fits_fast.readHdus(path)
    if not hdus:
        return None
    dims: list[Shape] = [hdu.dims() for hdu in hdus]
    exttypes = [str(hdu.cards.get("EXTTYPE", "")).strip() for hdu in hdus[:2]]
    iImage, iMask, iVariance = _chooseLayout(path, dims, exttypes)
    try:
        image = hdus[iImage].pixels()
        mask = variance = planes = None
        if iMask is not None and iVariance is not None:
            planes = planesFromHeader(hdus[iMask].cards.items())
            mask = hdus[iMask].pixels()
            variance = hdus[iVariance].pixels()
    except fits_fast.Decline:
        return None
    return FitsPlanes(image, mask, variance, planes, hdus[0].cards, hdus[iImage].cards)


def _readWithFitsio(path: str) -> FitsPlanes:
    import fitsio

    with fitsio.FITS(path) as hdus:
        dims: list[Shape] = []
        for hdu in hdus:
            info = hdu.get_info()
            if hdu.get_exttype() == "IMAGE_HDU" and info.get("ndims", 0) > 0:
                dims.append(tuple(int(n) for n in info["dims"]))
            else:
                dims.append(None)
        exttypes = [""] + [
            str(hdus[i].read_header().get("EXTTYPE", "")).strip()
            for i in range(1, min(len(hdus), 2))
        ]
        iImage, iMask, iVariance = _chooseLayout(path, dims, exttypes)
        primary = _astropyHeader(hdus[0].read_header())
        imageHeader = primary if iImage == 0 else _astropyHeader(hdus[iImage].read_header())
        image = hdus[iImage].read()
        mask = variance = planes = None
        if iMask is not None and iVariance is not None:
            maskHeader = _astropyHeader(hdus[iMask].read_header())
            planes = planesFromHeader(maskHeader.items())
            mask = hdus[iMask].read()
            variance = hdus[iVariance].read()
    return FitsPlanes(image, mask, variance, planes, primary, imageHeader)


def _astropyHeader(header: Any) -> fits.Header:
    from astropy.io import fits

    text = "".join(record["card_string"].ljust(80)[:80] for record in header.records())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fits.Header.fromstring(text)


def _readWithAstropy(path: str) -> FitsPlanes:
    from astropy.io import fits

    with warnings.catch_warnings():
        warnings.simplefilter("error", fits.verify.VerifyWarning)
        warnings.filterwarnings("error", message=".*truncated.*")
        with fits.open(path, memmap=False, lazy_load_hdus=False) as hdus:
            dims = [
                tuple(hdu.data.shape)
                if isinstance(hdu, fits.PrimaryHDU | fits.ImageHDU | fits.CompImageHDU)
                and hdu.header.get("NAXIS", 0) > 0
                and hdu.data is not None
                else None
                for hdu in hdus
            ]
            exttypes = [str(hdu.header.get("EXTTYPE", "")).strip() for hdu in hdus[:2]]
            iImage, iMask, iVariance = _chooseLayout(path, dims, exttypes)
            primary = hdus[0].header.copy()
            imageHeader = hdus[iImage].header.copy()
            image = np.asarray(hdus[iImage].data)
            mask = variance = planes = None
            if iMask is not None and iVariance is not None:
                planes = planesFromHeader(hdus[iMask].header.items())
                mask = np.asarray(hdus[iMask].data)
                variance = np.asarray(hdus[iVariance].data)
    return FitsPlanes(image, mask, variance, planes, primary, imageHeader)


_WCS_KEYWORD = re.compile(
    r"^(WCSAXES|CTYPE|CRPIX|CRVAL|CDELT|CUNIT|CD\d_\d|PC\d_\d|PV\d_\d|CROTA|LONPOLE|LATPOLE"
    r"|RADESYS|RADECSYS|EQUINOX|EPOCH|MJDREF|LTV|LTM|DATEREF|WCSNAME)"
)


def wcsCards(header: fits.Header) -> fits.Header:
    """The WCS cards of ``header`` (all alternate WCSs included), in their order."""
    from astropy.io import fits

    cards = fits.Header()
    for card in header.cards:
        if _WCS_KEYWORD.match(card.keyword):
            cards.append(fits.Card(card.keyword, card.value, card.comment), end=True)
    return cards


def copyCards(source: fits.Header | None, target: fits.Header) -> None:
    """Copy the non-structural cards (comments and history included) of ``source``."""
    if source is None:
        return
    from astropy.io import fits

    # Copying the 80-character card images and parsing them once is several times faster
    # than building each card anew (a raw header has hundreds), and keeps them as written.
    images = [
        card.image
        for card in source.cards
        if card.keyword not in STRUCTURAL_KEYWORDS and not card.keyword.startswith(FITS_PREFIX)
    ]
    if images:
        target.extend(fits.Header.fromstring("".join(images)).cards, end=True)


def buildHduList(
    image: np.ndarray,
    mask: np.ndarray,
    variance: np.ndarray,
    maskPlanes: Mapping[str, int],
    primaryCards: fits.Header | None = None,
    imageCards: fits.Header | None = None,
) -> fits.HDUList:
    """The LSST multi-extension form of the three planes.

    ``primaryCards`` go to HDU 0, ``imageCards`` (the WCS) to each plane's header.
    """
    from astropy.io import fits

    with warnings.catch_warnings():
        # Keywords longer than 8 characters become HIERARCH cards, as LSST writes them.
        warnings.simplefilter("ignore", fits.verify.VerifyWarning)
        return _buildHduList(image, mask, variance, maskPlanes, primaryCards, imageCards)


def _buildHduList(
    image: np.ndarray,
    mask: np.ndarray,
    variance: np.ndarray,
    maskPlanes: Mapping[str, int],
    primaryCards: fits.Header | None,
    imageCards: fits.Header | None,
) -> fits.HDUList:
    from astropy.io import fits

    primary = fits.PrimaryHDU()
    copyCards(primaryCards, primary.header)
    hdus = [primary]
    for data, exttype in ((image, "IMAGE"), (mask, "MASK"), (variance, "VARIANCE")):
        hdu = fits.ImageHDU(data)
        copyCards(imageCards, hdu.header)
        hdu.header["INHERIT"] = True
        hdu.header["EXTTYPE"] = exttype
        if exttype == "MASK":
            for name, bit in sorted(maskPlanes.items(), key=lambda item: item[1]):
                hdu.header[FITS_PREFIX + name] = bit
        hdus.append(hdu)
    return fits.HDUList(hdus)


def writeHduList(hdus: fits.HDUList, path: str | os.PathLike[str]) -> None:
    """Write ``hdus`` to ``path`` atomically (gzip when it ends in ``.gz``).

    The bytes go to a temporary file in the same directory, renamed over ``path`` once
    complete, so a crash never leaves a truncated file under the final name. A ``path``
    that is itself a temporary name (the Butler's, which renames it and, after a crash,
    deletes it) is written directly: a second temporary name there would be one that no
    recovery knows of.
    """
    from astropy.io import fits

    path = os.fspath(path)
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", fits.verify.VerifyWarning)
        hdus.writeto(buffer, output_verify="silentfix")
    if os.path.basename(path).startswith(TMP_PREFIX):
        with open(path, "wb") as out:
            _writeBytes(out, buffer, path.endswith(".gz"))
        return
    tmp = tempPath(path)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as out:
            _writeBytes(out, buffer, path.endswith(".gz"))
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _writeBytes(out: Any, buffer: io.BytesIO, zipped: bool) -> None:
    """The FITS bytes into an open file (gzipped), flushed to disk."""
    if zipped:
        with gzip.GzipFile(
            filename="", fileobj=out, mode="wb", compresslevel=GZIP_LEVEL, mtime=0
        ) as stream:
            stream.write(buffer.getbuffer())
    else:
        out.write(buffer.getbuffer())
    out.flush()
    os.fsync(out.fileno())
