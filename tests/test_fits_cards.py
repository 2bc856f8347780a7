"""The fast FITS reader's header lookups and gzip inflation answer as astropy and gzip do.

Headers are parsed one card at a time, when a card is asked for; every lookup must give
what an ``astropy.io.fits.Header`` of the same text gives (value and type), on every card
of the real obs_test files and on synthetic cards of every kind a header holds.
"""

from __future__ import annotations

import gzip
import warnings

import numpy as np
import pytest
from _shared_data import allFiles, obsTestData, rawPath
from astropy.io import fits
from pipetask_image import Exposure, fits_fast
from pipetask_image.fits_fast import FitsCards

COMMENTARY = ("COMMENT", "HISTORY", "")


def outcome(lookup):
    """What ``lookup()`` gives: ``("value", value, type)`` or ``("raises", type)``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            value = lookup()
        except Exception as exc:
            return ("raises", type(exc))
    return ("value", value, type(value))


def assertLooksUpAsAstropy(cards: FitsCards, header: fits.Header, keys) -> None:
    for key in keys:
        for spelling in {key, key.lower()}:
            expected = outcome(lambda k=spelling: header.get(k, "absent"))
            assert outcome(lambda k=spelling: cards.get(k, "absent")) == expected, spelling
            assert (spelling in cards) == (spelling in header), spelling


def astropyItems(header: fits.Header) -> list:
    """``(keyword, value)`` of each keyword's first card, commentary cards left out."""
    first: dict = {}
    for card in header.cards:
        if card.keyword not in COMMENTARY:
            first.setdefault(card.keyword, header[card.keyword])
    return list(first.items())


@pytest.mark.parametrize("path", allFiles(), ids=lambda p: p.name)
def test_every_card_of_the_obs_test_files_reads_as_astropy_reads_it(path):
    obsTestData()
    hdus = fits_fast.readHdus(str(path))
    assert hdus
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with fits.open(path) as reference:
            assert len(reference) == len(hdus)
            headers = [hdu.header.copy() for hdu in reference]
    for hdu, header in zip(hdus, headers, strict=True):
        keys = {card.keyword for card in header.cards}
        assertLooksUpAsAstropy(hdu.cards, header, [*keys, "NOSUCHKEY"])
        assert hdu.cards.items() == astropyItems(header)


def test_a_raw_is_read_without_building_its_header():
    obsTestData()
    hdus = fits_fast.readHdus(str(rawPath(1, "g")))
    image = hdus[0].pixels()
    cards = hdus[0].cards
    assert cards.get("FILTER") == "g" and image.dtype == np.uint16
    assert cards._header is None, "no astropy Header for the cards a read needs"
    assert len(cards._values) < 20, "only the cards asked for are parsed"
    assert Exposure.readFits(rawPath(1, "g")).metadata == fits.getheader(rawPath(1, "g"))


def syntheticHeader() -> str:
    """Cards of every kind: numbers in each form the standard allows, logicals, strings
    with quotes and slashes, undefined and complex values, duplicates, lower case,
    ``HIERARCH``, commentary and blank cards, a card without a value indicator, values
    astropy refuses, and a long string continued on ``CONTINUE`` cards."""
    images = [
        "INT     =                   42 / the answer",
        "NEG     =                  -7",
        "PLUS    =                  +7",
        "ZEROS   =                 0012",
        "FLT     =              1.5E-03 / small",
        "DEXP    =              2.5D+02",
        "DOT     =                   .5",
        "TRAIL   =                   5.",
        "BIGINT  = 123456789012345678901234567890",
        "BOOLT   =                    T",
        "BOOLF   =                    F / no",
        "STR     = 'hello   '           / trailing blanks go",
        "QUOTE   = 'it''s'",
        "EMPTY   = ''",
        "LEAD    = '  lead'",
        "SLASH   = 'a/b'  / comment with 'quotes' and / slashes",
        "UNDEF   =",
        "UNDEF2  =                      / only a comment",
        "CPLX    = (1.0, 2.0)",
        "lower   =                    5",
        "DUP     =                    1",
        "DUP     =                    2",
        "HIERARCH ESO DET CHIP = 'ccd'",
        "HIERARCH long.keyword.name = 3.25 / dotted",
        "COMMENT   a comment",
        "HISTORY   something done",
        "          a blank keyword's text",
        "NOVAL   text without a value indicator",
        "UNDERS  =                1_000",
        "INFIN   =                  inf",
        "LOWEXP  =                1.5e3",
        "JUNK    = 'a' junk",
    ]
    text = "".join(image.ljust(80) for image in images)
    long = fits.Header()
    long["LONGSTR"] = "x" * 70 + " it's & more " + "y" * 60
    long["LONGAMP"] = "z" * 75 + "&"
    long["HIERARCH A LONG ONE"] = "w" * 90
    long["AFTER"] = 1
    return text + long.tostring()[:-80]  # without its END card


def test_every_kind_of_card_reads_as_astropy_reads_it():
    text = syntheticHeader()
    assert "CONTINUE" in text
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        header = fits.Header.fromstring(text)
    keys = {card.keyword for card in header.cards}
    keys |= {"HIERARCH ESO DET CHIP", "ESO DET CHIP", "long.keyword.name", "NOSUCHKEY"}
    cards = FitsCards(text)
    assertLooksUpAsAstropy(cards, header, sorted(keys))
    fresh = FitsCards(text)  # items() first, before any lookup
    assert outcome(fresh.items) == outcome(lambda: astropyItems(header))


def test_layout_lookups_never_import_astropy_and_decline_what_they_cannot_read():
    cards = FitsCards(syntheticHeader())
    assert cards.simple("INT") == 42 and cards.simple("MISSING", 3) == 3
    for key in ("CPLX", "UNDEF", "LONGSTR", "COMMENT", "NOVAL", "UNDERS"):
        with pytest.raises(fits_fast.Decline):
            cards.simple(key)
    assert cards._header is None


def test_inflate_reads_members_and_padding_as_gzip_does_and_refuses_trailing_bytes(tmp_path):
    obsTestData()
    content = gzip.decompress(rawPath(1, "g").read_bytes())
    one = tmp_path / "one.fits.gz"
    one.write_bytes(rawPath(1, "g").read_bytes())
    assert fits_fast.inflate(str(one)) == content
    # Two members of equal size: the last trailer holds the first member's size too.
    half = len(content) // 2
    two = tmp_path / "two.fits.gz"
    two.write_bytes(gzip.compress(content[:half], mtime=0) + gzip.compress(content[half:]))
    assert half * 2 == len(content)
    assert fits_fast.inflate(str(two)) == content
    np.testing.assert_array_equal(
        Exposure.readFits(two).image, fits.getdata(rawPath(1, "g")).astype(np.float32)
    )
    padded = tmp_path / "padded.fits.gz"  # zero padding after the member, which gzip skips
    padded.write_bytes(rawPath(1, "g").read_bytes() + b"\0" * 8)
    assert fits_fast.inflate(str(padded)) == gzip.decompress(padded.read_bytes()) == content
    trailing = tmp_path / "trailing.fits.gz"
    trailing.write_bytes(rawPath(1, "g").read_bytes() + b"junk")
    with pytest.raises(OSError):
        gzip.decompress(trailing.read_bytes())
    assert fits_fast.inflate(str(trailing)) is None  # as gzip: astropy then words it
    truncated = tmp_path / "truncated.fits.gz"
    truncated.write_bytes(rawPath(1, "g").read_bytes()[:-100])
    assert fits_fast.inflate(str(truncated)) is None
