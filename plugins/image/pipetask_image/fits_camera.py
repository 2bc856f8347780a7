"""``FitsCamera``: a camera whose raws are FITS files, for obs packages to instantiate.

It reads headers and checks files at ingest time with astropy (imported when used).
"""

from __future__ import annotations

import warnings
from typing import Any

from pipetask.butler.camera import BadFile, Camera

_SKIP = {"COMMENT", "HISTORY", ""}


def readHeader(path: str, hdu: int = 0) -> dict[str, Any]:
    """The keywords of header ``hdu`` of ``path`` (``BadFile`` if it cannot be read)."""
    from astropy.io import fits

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            header = fits.getheader(path, ext=hdu)
    except FileNotFoundError:
        raise BadFile("no such file") from None
    except IndexError:
        raise BadFile(f"no HDU {hdu}") from None
    except Exception as exc:  # astropy raises OSError, ValueError, EOFError...
        raise BadFile(f"not a readable FITS file: {exc}") from None
    return {key: header[key] for key in header if key not in _SKIP}


def verifyFile(path: str) -> None:
    """Read every HDU's data; raise ``BadFile`` for a truncated or corrupt file."""
    from astropy.io import fits

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with fits.open(path, memmap=False) as hdus:
                for hdu in hdus:
                    hdu.data  # noqa: B018 - reading the data is the check
    except FileNotFoundError:
        raise BadFile("no such file") from None
    except Exception as exc:
        raise BadFile(f"truncated or corrupt FITS file: {exc}") from None


class FitsCamera(Camera):
    """A camera whose ingest rules read FITS headers (see :class:`Camera` for arguments)."""

    def readHeader(self, path: str, hdu: int = 0) -> dict[str, Any]:
        return readHeader(path, hdu)

    def verifyFile(self, path: str) -> None:
        verifyFile(path)
