"""The fast path of FITS reading: zlib and numpy for plain image files, no astropy.

It handles what pipetask meets most: a plain or gzipped file whose image HDUs have two
axes, any standard ``BITPIX``, and optional ``BZERO``/``BSCALE``. The whole file is
inflated with zlib; only the cards that describe the layout are parsed (by
:class:`FitsCards`); pixels come out as numpy arrays converted from the inflated bytes with
the same dtype rules as astropy, so the values are identical to astropy's reading.

Anything else (tile compression, ``BLANK``, random groups, a malformed or truncated file)
makes :func:`readFast` decline by returning None; the caller then reads with astropy,
which also words the error for a bad file.
"""

from __future__ import annotations

import zlib
from typing import Any

import numpy as np

BLOCK = 2880
CARD = 80
_END = b"END" + b" " * 77

#: Big-endian numpy dtype of each BITPIX.
_RAW_DTYPES = {8: ">u1", 16: ">i2", 32: ">i4", 64: ">i8", -32: ">f4", -64: ">f8"}
#: BZERO that makes a signed type unsigned (or the unsigned byte signed), and the result.
_PSEUDO_UNSIGNED = {8: (-128, np.int8), 16: (32768, np.uint16), 32: (2**31, np.uint32)}
_PSEUDO_UNSIGNED[64] = (2**63, np.uint64)


class Decline(Exception):
    """The fast path does not handle this file; read it with astropy."""


def _parseValue(text: str) -> Any:
    """The value of a card's value field (columns 11-80): str, bool, int or float."""
    text = text.lstrip()
    if text.startswith("'"):
        out, i = [], 1
        while True:
            j = text.find("'", i)
            if j < 0:
                raise Decline("unterminated string")
            out.append(text[i:j])
            if text[j + 1 : j + 2] == "'":
                out.append("'")
                i = j + 2
                continue
            return "".join(out).rstrip()
    text = text.partition("/")[0].strip()
    if text == "T":
        return True
    if text == "F":
        return False
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text.replace("D", "E"))
    except ValueError:
        raise Decline(f"unsupported value {text!r}") from None


def _keyAndValue(card: str) -> tuple[str, str | None]:
    """``(keyword, value text)``; value text is None for a card without a value."""
    if card.startswith("HIERARCH "):
        key, sep, rest = card[9:].partition("=")
        return (key.strip(), rest) if sep else ("HIERARCH", None)
    key = card[:8].rstrip()
    return (key, card[10:]) if card[8:10] == "= " else (key, None)


class FitsCards:
    """The cards of one header, as text; values parsed when asked, astropy when needed.

    ``get`` reads the simple cards (strings, logicals, numbers, ``HIERARCH``); ``astropy()``
    builds the full ``astropy.io.fits.Header`` (importing astropy) the first time.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self._values: dict[str, Any] | None = None
        self._header: Any = None

    def _parsed(self) -> dict[str, Any]:
        if self._values is None:
            values: dict[str, Any] = {}
            for start in range(0, len(self.text), CARD):
                key, value = _keyAndValue(self.text[start : start + CARD])
                if value is not None and key not in values:
                    try:
                        values[key] = _parseValue(value)
                    except Decline:
                        values[key] = None  # complex numbers etc.: astropy() has them
            self._values = values
        return self._values

    def get(self, key: str, default: Any = None) -> Any:
        """The value of ``key`` (the first card of that name), or ``default``."""
        return self._parsed().get(key, default)

    def items(self) -> list[tuple[str, Any]]:
        """``(keyword, value)`` of every card with a value, in order."""
        return list(self._parsed().items())

    def __contains__(self, key: str) -> bool:
        return key in self._parsed()

    def astropy(self) -> Any:
        """The header as an ``astropy.io.fits.Header`` (built once)."""
        if self._header is None:
            import warnings

            from astropy.io import fits

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                self._header = fits.Header.fromstring(self.text)
        return self._header


def _layoutValue(cards: FitsCards, key: str, default: Any = None) -> Any:
    value = cards.get(key, default)
    if value is None:
        raise Decline(f"missing {key}")
    return value


class _Hdu:
    """One HDU of the inflated file: its cards and where its data lies."""

    def __init__(self, buffer: bytes, offset: int, first: bool) -> None:
        end = offset
        while True:
            block = buffer[end : end + BLOCK]
            if len(block) < BLOCK:
                raise Decline("truncated header")
            end += BLOCK
            position = block.find(_END)
            while position >= 0 and position % CARD:
                position = block.find(_END, position + 1)
            if position >= 0:
                break
        self.cards = FitsCards(buffer[offset : end - BLOCK + position].decode("ascii"))
        cards = self.cards
        if first and cards.get("SIMPLE") is not True:
            raise Decline("not a standard primary header")
        if cards.get("GROUPS") is True or cards.get("ZIMAGE") is True:
            raise Decline("random groups or tile compression")
        self.bitpix = int(_layoutValue(cards, "BITPIX"))
        naxis = int(_layoutValue(cards, "NAXIS"))
        self.shape = tuple(int(_layoutValue(cards, f"NAXIS{i}")) for i in range(naxis, 0, -1))
        self.isImage = first or str(cards.get("XTENSION", "")).strip() == "IMAGE"
        pcount, gcount = int(cards.get("PCOUNT", 0)), int(cards.get("GCOUNT", 1))
        count = int(np.prod(self.shape, dtype=np.int64)) if naxis else 0
        size = abs(self.bitpix) // 8 * gcount * (pcount + count)
        self.dataStart = end
        self.next = end + -(-size // BLOCK) * BLOCK
        if self.bitpix not in _RAW_DTYPES or end + size > len(buffer):
            raise Decline("unknown BITPIX or truncated data")
        self.buffer = buffer

    def dims(self) -> tuple[int, ...] | None:
        """The shape of an image HDU with pixels, else None."""
        return self.shape if self.isImage and self.shape and min(self.shape) > 0 else None

    def pixels(self) -> np.ndarray:
        """The pixels as astropy reads them (dtype included), in native byte order."""
        cards, bitpix = self.cards, self.bitpix
        if "BLANK" in cards and bitpix > 0:
            raise Decline("BLANK pixels")
        count = int(np.prod(self.shape))
        raw = np.frombuffer(self.buffer, _RAW_DTYPES[bitpix], count, self.dataStart)
        raw = raw.reshape(self.shape)
        bzero, bscale = cards.get("BZERO", 0), cards.get("BSCALE", 1)
        if not isinstance(bzero, int | float) or not isinstance(bscale, int | float):
            raise Decline("non-numeric BZERO or BSCALE")
        if bscale == 1 and bzero == 0:
            return raw.astype(raw.dtype.newbyteorder("="))
        pseudo = _PSEUDO_UNSIGNED.get(bitpix)
        if pseudo is not None and bscale == 1 and bzero == pseudo[0]:
            # Flipping the sign bit is adding (or, for bytes, subtracting) the offset.
            native = raw.astype(raw.dtype.newbyteorder("="))
            flip = np.array(1 << (8 * native.itemsize - 1), np.uint64).astype(native.dtype)
            return np.bitwise_xor(native.view(pseudo[1]), flip.view(pseudo[1]))
        dtype = np.float64 if bitpix in (32, 64, -64) else np.float32
        data = raw.astype(dtype)
        if bscale != 1:
            data *= dtype(bscale)
        if bzero != 0:
            data += dtype(bzero)
        return data


def inflate(path: str) -> bytes | None:
    """The bytes of ``path``, gunzipped when they start with the gzip magic; None if the
    compressed stream is corrupt or truncated."""
    with open(path, "rb") as file:
        data = file.read()
    if data[:2] != b"\x1f\x8b":
        return data
    inflater = zlib.decompressobj(wbits=31)
    try:
        out = inflater.decompress(data)
        if inflater.unused_data or not inflater.eof:
            if not inflater.eof:
                return None
            import gzip

            return gzip.decompress(data)  # several gzip members
    except (zlib.error, EOFError, OSError):
        return None
    return out


def readHdus(path: str) -> list[_Hdu] | None:
    """Every HDU of ``path`` with its parsed layout, or None when the fast path declines."""
    buffer = inflate(path)
    if not buffer:
        return None
    hdus: list[_Hdu] = []
    offset = 0
    try:
        while offset < len(buffer):
            hdu = _Hdu(buffer, offset, first=not hdus)
            hdus.append(hdu)
            offset = hdu.next
    except (Decline, ValueError, TypeError, UnicodeDecodeError):
        return None
    return hdus
