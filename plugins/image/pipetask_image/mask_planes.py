"""Named bit planes of an integer mask, as in LSST afw (``MP_<NAME> = <bit>`` in FITS)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .errors import ImageError

#: The planes every LSST mask starts with, name -> bit.
DEFAULT_MASK_PLANES: dict[str, int] = {
    "BAD": 0,
    "SAT": 1,
    "INTRP": 2,
    "CR": 3,
    "EDGE": 4,
    "DETECTED": 5,
    "DETECTED_NEGATIVE": 6,
    "SUSPECT": 7,
    "NO_DATA": 8,
}

#: Bits available in the int32 mask.
MAX_MASK_PLANES = 31

FITS_PREFIX = "MP_"


def checkedPlanes(planes: Mapping[str, int]) -> dict[str, int]:
    """Return a validated copy of a name -> bit mapping.

    Raises
    ------
    ImageError
        If a bit is outside 0..30 or used twice.
    """
    result: dict[str, int] = {}
    owner: dict[int, str] = {}
    for name, bit in planes.items():
        bit = int(bit)
        if not 0 <= bit < MAX_MASK_PLANES:
            raise ImageError(f"mask plane {name!r} has bit {bit}, outside 0..{MAX_MASK_PLANES - 1}")
        if bit in owner:
            raise ImageError(f"mask planes {owner[bit]!r} and {name!r} share bit {bit}")
        owner[bit] = name
        result[str(name)] = bit
    return result


def planeBitMask(planes: Mapping[str, int], names: str | Iterable[str]) -> int:
    """OR of ``1 << bit`` for the named planes (one name or several).

    Raises
    ------
    ImageError
        If a name is not a plane of ``planes``; the message lists the known planes.
    """
    if isinstance(names, str):
        names = [names]
    value = 0
    for name in names:
        try:
            value |= 1 << planes[name]
        except KeyError:
            known = ", ".join(sorted(planes, key=planes.__getitem__))
            raise ImageError(f"unknown mask plane {name!r}; known planes: {known}") from None
    return value


def planesFromHeader(cards: Iterable[tuple[str, object]]) -> dict[str, int]:
    """Mask planes from FITS ``(keyword, value)`` pairs: ``MP_EDGE = 4`` -> ``{"EDGE": 4}``."""
    planes = {}
    for key, value in cards:
        if key.startswith(FITS_PREFIX) and len(key) > len(FITS_PREFIX):
            try:
                planes[key[len(FITS_PREFIX) :]] = int(value)  # type: ignore[call-overload]
            except (TypeError, ValueError):
                message = f"mask plane keyword {key} = {value!r} is not an integer"
                raise ImageError(message) from None
    return checkedPlanes(planes)
