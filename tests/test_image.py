"""MaskedImage and Exposure: obs_test reading, FITS round trips, mask planes, bad files."""

from __future__ import annotations

import gzip
import shutil

import numpy as np
import pytest
from _shared_data import DATA_IDS, allFiles, exposurePath, obsTestData, rawPath
from astropy.io import fits
from pipetask.errors import PipetaskError
from pipetask_image import DEFAULT_MASK_PLANES, Exposure, ImageError, MaskedImage, fits_fast
from pipetask_image.fits_io import READERS
from pipetask_image.formats import FitsFormat

LSST_PLANES = {"BAD", "SAT", "INTRP", "CR", "EDGE", "DETECTED", "DETECTED_NEGATIVE"}


def makeExposure(seed: int = 0, shape=(40, 30)) -> Exposure:
    rng = np.random.default_rng(seed)
    mask = rng.integers(0, 1 << 9, shape).astype(np.int32)
    mi = MaskedImage(
        rng.normal(100.0, 5.0, shape).astype(np.float32),
        mask,
        rng.uniform(1.0, 2.0, shape).astype(np.float32),
    )
    mi.addMaskPlane("MY_VERY_LONG_PLANE")
    header = fits.Header()
    header["OBSID"] = 1234
    header["EXPTIME"] = 15.0
    for key, value in {
        "CTYPE1": "RA---TAN",
        "CTYPE2": "DEC--TAN",
        "CRPIX1": 10.0,
        "CRPIX2": 20.0,
        "CRVAL1": 79.2,
        "CRVAL2": -9.7,
        "CD1_1": 5e-5,
        "CD1_2": 0.0,
        "CD2_1": 0.0,
        "CD2_2": 5e-5,
    }.items():
        header[key] = value
    return Exposure(mi, header, filter="r")


def assertSamePlanes(a: MaskedImage, b: MaskedImage) -> None:
    for plane in ("image", "mask", "variance"):
        x, y = getattr(a, plane), getattr(b, plane)
        assert x.dtype == y.dtype, plane
        np.testing.assert_array_equal(x, y, err_msg=plane)
    assert a.maskPlanes == b.maskPlanes


# --- obs_test ----------------------------------------------------------------------------


@pytest.mark.parametrize(("visit", "filterName"), DATA_IDS)
def test_read_obs_test_both_forms(visit, filterName):
    obsTestData()
    raw = Exposure.readFits(rawPath(visit, filterName))
    exp = Exposure.readFits(exposurePath(visit, filterName))
    for e in (raw, exp):
        assert e.maskedImage.shape == (2000, 1026)
        assert e.image.dtype == np.float32 and e.mask.dtype == np.int32
        assert e.variance.dtype == np.float32
        assert e.filter == filterName
        assert e.wcs is not None and e.wcs.wcs.ctype[0] == "RA---TAN"
    # README: the pixel values of both forms are identical.
    np.testing.assert_array_equal(raw.image, exp.image)
    assert not raw.mask.any() and not raw.variance.any()
    assert raw.maskedImage.maskPlanes == DEFAULT_MASK_PLANES
    assert set(exp.maskedImage.maskPlanes) >= LSST_PLANES
    assert exp.maskedImage.getPlaneBitMask(["EDGE", "NO_DATA"]) == (1 << 4) | (1 << 8)
    assert raw.image.min() >= 0 and raw.image.max() <= 65535  # BZERO applied


@pytest.mark.parametrize("path", allFiles(), ids=lambda p: p.name)
def test_every_reader_reads_identical_pixels(path):
    obsTestData()
    assert fits_fast.readHdus(str(path)), "the fast path handles the obs_test files"
    first, *others = (Exposure.readFits(path, reader=r) for r in READERS)
    for other in others:
        assertSamePlanes(first.maskedImage, other.maskedImage)
        assert first.filter == other.filter
        assert first.wcs.wcs.compare(other.wcs.wcs)
        assert first.metadata == other.metadata
    with fits.open(path) as hdus:
        index = 0 if hdus[0].data is not None else 1
        np.testing.assert_array_equal(first.image, hdus[index].data.astype(np.float32))


def test_fast_raw_read_allocates_no_mask_or_variance():
    obsTestData()
    raw = Exposure.readFits(rawPath(1, "g"))
    mi = raw.maskedImage
    assert mi.maskOrNone is None and mi._variance is None
    assert raw.filter == "g"
    assert not mi.mask.any() and mi.maskOrNone is mi.mask  # allocated once asked for
    assert not mi.variance.any()
    exp = Exposure.readFits(exposurePath(1, "g"))
    assert exp.maskedImage.maskOrNone is not None


#: (BITPIX, BZERO, BSCALE) of the synthetic files: every pixel type, unscaled, the
#: pseudo-unsigned offsets, and a general linear scaling.
PIXEL_LAYOUTS = [
    (bitpix, bzero, bscale)
    for bitpix, unsigned in ((8, -128), (16, 32768), (32, 2**31), (64, 2**63))
    for bzero, bscale in ((0, 1), (unsigned, 1), (100, 1), (-7.5, 0.25))
] + [(bitpix, bzero, bscale) for bitpix in (-32, -64) for bzero, bscale in ((0, 1), (2.5, 3))]


def _hduBytes(first: bool, data: np.ndarray | None, cards: list[tuple[str, object]]) -> bytes:
    """One HDU written byte for byte: the header cards in order, then big-endian pixels."""
    header = fits.Header()
    header["SIMPLE" if first else "XTENSION"] = True if first else "IMAGE"
    bitpix = {"u1": 8, "i2": 16, "i4": 32, "i8": 64, "f4": -32, "f8": -64}
    header["BITPIX"] = 8 if data is None else bitpix[data.dtype.str[1:]]
    header["NAXIS"] = 0 if data is None else 2
    if data is not None:
        header["NAXIS1"], header["NAXIS2"] = data.shape[1], data.shape[0]
    if not first:
        header["PCOUNT"], header["GCOUNT"] = 0, 1
    for key, value in cards:
        header[key] = value
    body = b"" if data is None else data.astype(data.dtype.newbyteorder(">")).tobytes()
    return header.tostring().encode() + body + b"\0" * (-len(body) % 2880)


def _syntheticFile(path, bitpix: int, bzero, bscale, layout: str) -> None:
    rng = np.random.default_rng(abs(bitpix))
    raw = np.dtype(fits_fast._RAW_DTYPES[bitpix]).newbyteorder("=")
    shape = (7, 11)
    if raw.kind == "f":
        stored = rng.normal(0, 1e3, shape).astype(raw)
        stored.flat[3] = np.nan
    else:
        info = np.iinfo(raw)
        stored = rng.integers(info.min, info.max, shape, dtype=raw, endpoint=True)
        stored.flat[:2] = (info.min, info.max)
    scaling = [("BZERO", bzero), ("BSCALE", bscale)] if (bzero, bscale) != (0, 1) else []
    if layout == "raw":
        content = _hduBytes(True, stored, [("FILTER", "i"), *scaling])
    else:
        mask = np.arange(77, dtype=np.int32).reshape(shape)
        variance = rng.uniform(1, 2, shape).astype(np.float32)
        content = b"".join(
            [
                _hduBytes(True, None, [("FILTER", "i")]),
                _hduBytes(False, stored, [("EXTTYPE", "IMAGE"), *scaling]),
                _hduBytes(False, mask, [("EXTTYPE", "MASK"), ("MP_EDGE", 4)]),
                _hduBytes(False, variance, [("EXTTYPE", "VARIANCE")]),
            ]
        )
    path.write_bytes(content)


@pytest.mark.parametrize("layout", ["raw", "exposure"])
@pytest.mark.parametrize(("bitpix", "bzero", "bscale"), PIXEL_LAYOUTS)
@pytest.mark.parametrize("gz", [False, True])
def test_fast_path_matches_astropy_for_every_pixel_type(
    tmp_path, bitpix, bzero, bscale, layout, gz
):
    path = tmp_path / "synthetic.fits"
    _syntheticFile(path, bitpix, bzero, bscale, layout)
    if gz:
        path = tmp_path / "synthetic.fits.gz"
        path.write_bytes(gzip.compress((tmp_path / "synthetic.fits").read_bytes()))
    hdus = fits_fast.readHdus(str(path))
    assert hdus, "the fast path handles the file"
    index = 0 if layout == "raw" else 1
    with fits.open(path) as reference:
        assert reference[index].header["BITPIX"] == bitpix
        expected = reference[index].data
        fastPixels = hdus[index].pixels()
        assert fastPixels.dtype == expected.dtype.newbyteorder("=")
        np.testing.assert_array_equal(fastPixels, expected)
    fast = Exposure.readFits(path, reader="fast")
    slow = Exposure.readFits(path, reader="astropy")
    assertSamePlanes(fast.maskedImage, slow.maskedImage)
    assert fast.filter == slow.filter == "i"


def test_fast_path_declines_what_it_does_not_handle(tmp_path):
    blank = fits.PrimaryHDU(np.arange(12, dtype=np.int16).reshape(3, 4))
    blank.header["BLANK"] = 5
    blank.header["BSCALE"] = 2.0
    blank.writeto(tmp_path / "blank.fits")
    compressed = fits.HDUList(
        [fits.PrimaryHDU(), fits.CompImageHDU(np.arange(12, dtype=np.float32).reshape(3, 4))]
    )
    compressed.writeto(tmp_path / "tiles.fits")
    for name in ("blank.fits", "tiles.fits"):
        path = tmp_path / name
        hdus = fits_fast.readHdus(str(path))
        if hdus is not None:  # the layout parses, the pixels are declined
            image = next(h for h in hdus if h.dims())
            with pytest.raises(fits_fast.Decline):
                image.pixels()
        fast = Exposure.readFits(path)  # the astropy fallback reads it
        slow = Exposure.readFits(path, reader="astropy")
        assertSamePlanes(fast.maskedImage, slow.maskedImage)
    assert np.isnan(Exposure.readFits(tmp_path / "blank.fits").image.flat[5])


def test_obs_test_round_trip(tmp_path):
    obsTestData()
    original = Exposure.readFits(exposurePath(1, "g"))
    out = tmp_path / "copy.fits.gz"
    original.writeFits(out)
    back = Exposure.readFits(out)
    assertSamePlanes(original.maskedImage, back.maskedImage)
    assert back.filter == "g"
    assert back.wcs.wcs.compare(original.wcs.wcs)
    assert back.metadata["OBSID"] == original.metadata["OBSID"]


# --- round trips -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["image.fits", "image.fits.gz"])
@pytest.mark.parametrize("reader", READERS)
def test_write_read_round_trip(tmp_path, name, reader):
    exposure = makeExposure()
    path = tmp_path / name
    exposure.writeFits(path)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == name.endswith(".gz")
    back = Exposure.readFits(path, reader=reader)
    assertSamePlanes(exposure.maskedImage, back.maskedImage)
    assert "MY_VERY_LONG_PLANE" in back.maskedImage.maskPlanes
    assert back.filter == "r"
    assert back.metadata["EXPTIME"] == 15.0
    assert back.wcs.wcs.compare(exposure.wcs.wcs)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp")]


def test_masked_image_round_trip_and_lsst_layout(tmp_path):
    mi = makeExposure(3).maskedImage
    path = tmp_path / "mi.fits"
    mi.writeFits(path)
    assertSamePlanes(mi, MaskedImage.readFits(path))
    with fits.open(path) as hdus:
        assert len(hdus) == 4 and hdus[0].data is None
        assert [h.header["EXTTYPE"] for h in hdus[1:]] == ["IMAGE", "MASK", "VARIANCE"]
        assert hdus[2].header["MP_EDGE"] == 4


def test_storage_format_honours_the_extension(tmp_path):
    fmt = FitsFormat()
    exposure = makeExposure(1)
    tmp = tmp_path / ".tmp-abc123-calexp_v1.fits.gz"
    fmt.write(exposure, str(tmp))
    assert tmp.read_bytes()[:2] == b"\x1f\x8b"
    final = tmp_path / "calexp_v1.fits.gz"
    tmp.rename(final)
    back = fmt.read(str(final))
    assert isinstance(back, Exposure)
    assertSamePlanes(exposure.maskedImage, back.maskedImage)
    with pytest.raises(ImageError):
        fmt.write({"not": "an image"}, str(tmp_path / "x.fits"))


def test_fits_format_is_a_plugin():
    from pipetask.plugins import catalog, load_item

    assert catalog().get("format", "fits").distribution == "pipetask-image"
    assert load_item("format", "fits").extension == ".fits"


# --- the model ---------------------------------------------------------------------------


def test_masked_image_from_arrays():
    mi = MaskedImage(np.arange(12, dtype=np.uint16).reshape(3, 4))
    assert mi.image.dtype == np.float32 and mi.shape == (3, 4)
    assert mi.getWidth() == 4 and mi.getHeight() == 3
    assert not mi.mask.any() and not mi.variance.any()
    with pytest.raises(ImageError, match="shape"):
        MaskedImage(np.zeros((3, 4)), mask=np.zeros((4, 3), np.int32))
    with pytest.raises(ImageError, match="2-D"):
        MaskedImage(np.zeros(5))
    with pytest.raises(ImageError, match="integers"):
        MaskedImage(np.zeros((2, 2)), mask=np.zeros((2, 2)))


def test_plane_bit_masks():
    mi = MaskedImage(np.zeros((2, 2)))
    assert mi.getPlaneBitMask(["EDGE", "NO_DATA"]) == 0b1_0001_0000
    assert mi.getPlaneBitMask("BAD") == 1
    assert mi.getPlaneBitMask([]) == 0
    with pytest.raises(ImageError, match=r"unknown mask plane 'EGDE'.*EDGE"):
        mi.getPlaneBitMask(["EGDE"])
    bit = mi.addMaskPlane("STREAK")
    assert bit == 9 and mi.addMaskPlane("STREAK") == 9
    assert mi.getPlaneBitMask("STREAK") == 1 << 9
    with pytest.raises(ImageError, match="share bit"):
        MaskedImage(np.zeros((2, 2)), maskPlanes={"A": 1, "B": 1})
    assert issubclass(ImageError, PipetaskError)


# --- bad files ---------------------------------------------------------------------------


def badFiles(tmp_path) -> dict[str, object]:
    good = tmp_path / "good.fits"
    makeExposure(2, shape=(300, 200)).writeFits(good)
    data = good.read_bytes()
    files = {
        "truncated.fits": data[: len(data) // 2],
        "truncated.fits.gz": gzip.compress(data)[: len(gzip.compress(data)) // 2],
        "junk.fits": b"this is not a FITS file\n" * 200,
        "empty.fits": b"",
        "corrupt.fits.gz": b"\x1f\x8b\x08\x00" + b"\x00garbage" * 100,
    }
    table = fits.HDUList(
        [fits.PrimaryHDU(), fits.BinTableHDU.from_columns([fits.Column("a", "J", array=[1, 2])])]
    )
    table.writeto(tmp_path / "table.fits")
    cube = fits.PrimaryHDU(np.zeros((2, 3, 4), np.float32))
    cube.writeto(tmp_path / "cube.fits")
    for name, content in files.items():
        (tmp_path / name).write_bytes(content)
    return [*files, "table.fits", "cube.fits", "missing.fits"]


@pytest.mark.parametrize("reader", READERS)
def test_bad_files_raise_image_error_naming_the_file(tmp_path, reader):
    for name in badFiles(tmp_path):
        path = tmp_path / name
        with pytest.raises(ImageError) as info:
            Exposure.readFits(path, reader=reader)
        assert str(path) in str(info.value), name


def test_truncated_obs_test_file(tmp_path):
    obsTestData()
    source = exposurePath(2, "g")
    data = source.read_bytes()
    target = tmp_path / "exp_v2_fg.fits.gz"
    target.write_bytes(data[: len(data) // 3])
    for reader in READERS:
        with pytest.raises(ImageError, match="exp_v2_fg.fits.gz"):
            MaskedImage.readFits(target, reader=reader)
    shutil.copyfile(source, target)  # a whole copy reads fine
    assert MaskedImage.readFits(target).shape == (2000, 1026)
