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

import re
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


#: A number as the FITS standard writes it (``D`` exponents included); anything else that
#: looks numeric (``1_000``, ``inf``, lower-case exponents) is left to astropy.
_NUMBER = re.compile(r"[+-]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([DE][+-]?[0-9]+)?")
#: Keywords whose cards carry text, not a value (astropy gathers them into lists).
_COMMENTARY = frozenset(["COMMENT", "HISTORY", ""])


def _parseValue(text: str) -> Any:
    """The value of a card's value field (after ``= ``): str, bool, int or float, read as
    astropy reads it; :class:`Decline` for anything else (an undefined or complex value,
    a malformed card), which only astropy can answer."""
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
            rest = text[j + 1 :].lstrip()
            if rest and not rest.startswith("/"):
                raise Decline("text after a string value")
            return "".join(out).rstrip()
    text = text.partition("/")[0].strip()
    if text == "T":
        return True
    if text == "F":
        return False
    if not _NUMBER.fullmatch(text):
        raise Decline(f"unsupported value {text!r}")
    try:
        return int(text)
    except ValueError:
        return float(text.replace("D", "E"))


def _lookupKey(key: str) -> str:
    """``key`` as the index holds it: upper case, without a ``HIERARCH`` prefix (astropy's
    lookups ignore both)."""
    key = key.strip().upper()
    return key[9:].strip() if key.startswith("HIERARCH ") else key


class FitsCards:
    """The cards of one header, as text: a value is parsed when asked for, and only the
    cards asked for are parsed.

    ``get``, ``in`` and ``items`` answer as an ``astropy.io.fits.Header`` built from the
    same text does: the simple cards (strings, logicals, integers, reals, ``HIERARCH``)
    are read here; commentary cards, long strings continued on ``CONTINUE`` cards,
    undefined or complex values and malformed cards are asked of astropy (imported then).
    ``astropy()`` builds the full header the first time.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self._starts: dict[str, int] | None = None
        self._values: dict[str, Any] = {}
        self._header: Any = None

    def _index(self) -> dict[str, int]:
        """Keyword (see :func:`_lookupKey`) -> where the value of its first card starts,
        or -1 when only astropy can read that card."""
        if self._starts is None:
            text = self.text
            starts: dict[str, int] = {}
            for start in range(len(text) - CARD, -1, -CARD):  # backwards: the first wins
                head = text[start : start + 10]
                continued = text[start + CARD : start + CARD + 8] == "CONTINUE"
                if head.startswith("HIERARCH "):
                    key, sep, _ = text[start + 9 : start + CARD].partition("=")
                    if sep:
                        value = -1 if continued else start + 10 + len(key)
                        starts[key.strip().upper()] = value
                elif head[8:] == "= ":
                    starts[head[:8].rstrip().upper()] = -1 if continued else start + 10
                else:
                    key = head[:8].rstrip().upper()
                    if key not in _COMMENTARY and key != "CONTINUE":
                        starts[key] = -1  # a keyword without a value indicator
            self._starts = starts
        return self._starts

    def simple(self, key: str, default: Any = None) -> Any:
        """The value of ``key`` when its card is a simple one, ``default`` when there is
        no such card; :class:`Decline` when only astropy could read it (never imports
        astropy: what the fast reader's layout uses)."""
        key = _lookupKey(key)
        if key in self._values:
            return self._values[key]
        start = self._index().get(key)
        if start is None:
            if key in _COMMENTARY:
                raise Decline(f"{key or 'blank'} cards are commentary")
            return default
        if start < 0:
            raise Decline(f"card {key} is not a simple one")
        value = self._values[key] = _parseValue(self.text[start : start - start % CARD + CARD])
        return value

    def get(self, key: str, default: Any = None) -> Any:
        """The value of ``key`` (the first card of that name), or ``default``, as
        ``astropy.io.fits.Header.get`` gives it."""
        try:
            return self.simple(key, default)
        except Decline:
            return self._astropyGet(key, default)

    def _astropyGet(self, key: str, default: Any) -> Any:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return self.astropy().get(key, default)

    def _keys(self) -> list[tuple[str, str]]:
        """``(keyword as astropy names it, lookup key)`` of every card with a value, in
        order, each name once."""
        keys: dict[str, str] = {}
        text = self.text
        for start in range(0, len(text), CARD):
            if text.startswith("HIERARCH ", start):
                key, sep, _ = text[start + 9 : start + CARD].partition("=")
                if sep:
                    keys.setdefault(key.strip().upper(), key.strip())
            elif text[start + 8 : start + 10] == "= ":
                key = text[start : start + 8].rstrip().upper()
                keys.setdefault(key, key)
        return [(name, key) for key, name in keys.items()]

    def items(self) -> list[tuple[str, Any]]:
        """``(keyword, value)`` of every card with a value indicator, in order, each
        keyword once (its first card)."""
        return [(name, self.get(key)) for name, key in self._keys()]

    def __contains__(self, key: str) -> bool:
        lookup = _lookupKey(key)
        if lookup in _COMMENTARY:
            return key in self.astropy()
        return lookup in self._index()

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
    value = cards.simple(key, default)
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
        if first and cards.simple("SIMPLE") is not True:
            raise Decline("not a standard primary header")
        if cards.simple("GROUPS") is True or cards.simple("ZIMAGE") is True:
            raise Decline("random groups or tile compression")
        self.bitpix = int(_layoutValue(cards, "BITPIX"))
        naxis = int(_layoutValue(cards, "NAXIS"))
        self.shape = tuple(int(_layoutValue(cards, f"NAXIS{i}")) for i in range(naxis, 0, -1))
        self.isImage = first or str(cards.simple("XTENSION", "")).strip() == "IMAGE"
        pcount, gcount = int(cards.simple("PCOUNT", 0)), int(cards.simple("GCOUNT", 1))
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
        bzero, bscale = cards.simple("BZERO", 0), cards.simple("BSCALE", 1)
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
