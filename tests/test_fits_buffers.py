"""The fast FITS reader reuses its buffers (the compressed file, the converted image) from
one read to the next: an image handed out earlier never changes, whatever still refers to
it, and every image reads as astropy reads it."""

from __future__ import annotations

import gc
import gzip
import threading

import numpy as np
import pytest
from _shared_data import DATA_IDS, obsTestData, rawPath
from astropy.io import fits
from pipetask_image import Exposure, fits_fast
from pipetask_image.pixel_buffers import BufferPool


def astropyImage(path) -> np.ndarray:
    """The pixels of ``path`` as astropy reads them, converted to float32."""
    with fits.open(path) as hdus:
        index = 0 if hdus[0].data is not None else 1
        return hdus[index].data.astype(np.float32)


def assertBitwiseEqual(actual: np.ndarray, expected: np.ndarray) -> None:
    assert actual.dtype == expected.dtype == np.float32 and actual.shape == expected.shape
    assert np.array_equal(actual.view(np.uint32), expected.view(np.uint32))


def address(array: np.ndarray) -> int:
    return array.__array_interface__["data"][0]


def test_an_image_read_earlier_never_changes_when_the_next_is_read():
    obsTestData()
    expected = [astropyImage(rawPath(*dataId)) for dataId in DATA_IDS]
    kept = []
    for _ in range(2):
        for dataId, image in zip(DATA_IDS, expected, strict=True):
            kept.append(Exposure.readFits(rawPath(*dataId)))
            assertBitwiseEqual(kept[-1].image, image)
    for exposure, image in zip(kept, expected * 2, strict=True):
        assertBitwiseEqual(exposure.image, image)
    for i, a in enumerate(kept):
        for b in kept[i + 1 :]:
            assert not np.shares_memory(a.image, b.image)


def test_views_and_exported_buffers_keep_an_image_from_reuse():
    obsTestData()
    first, second = rawPath(*DATA_IDS[0]), rawPath(*DATA_IDS[2])
    image = Exposure.readFits(first).image
    rows, column = image[10:20], image[:, 3]
    exported = memoryview(image)
    saved = image.copy()
    del image
    gc.collect()
    later = [Exposure.readFits(second).image for _ in range(3)]
    assertBitwiseEqual(rows, saved[10:20])
    assertBitwiseEqual(column, saved[:, 3])
    assertBitwiseEqual(np.asarray(exported), saved)
    for image in later:
        assert not np.shares_memory(image, rows) and not np.shares_memory(image, column)
        assertBitwiseEqual(image, astropyImage(second))


def test_a_released_image_lends_its_buffer_to_the_next_read():
    obsTestData()
    first = Exposure.readFits(rawPath(1, "g"))
    where = address(first.image)
    del first
    gc.collect()
    second = Exposure.readFits(rawPath(3, "r"))
    assert address(second.image) == where
    assertBitwiseEqual(second.image, astropyImage(rawPath(3, "r")))


def test_reads_in_threads_never_share_a_buffer(tmp_path):
    obsTestData()
    paths = [rawPath(*dataId) for dataId in DATA_IDS]
    # A smaller image too: a buffer of another size is never handed out for it.
    small = tmp_path / "small.fits.gz"
    fits.PrimaryHDU(np.arange(1200, dtype=np.uint16).reshape(30, 40)).writeto(
        tmp_path / "small.fits"
    )  # BITPIX 16 with BZERO 32768, as the raws
    small.write_bytes(gzip.compress((tmp_path / "small.fits").read_bytes()))
    paths.append(small)
    expected = {path: astropyImage(path) for path in paths}
    failures: list[str] = []

    def reader(offset: int) -> None:
        held = []
        for i in range(8):
            path = paths[(i + offset) % len(paths)]
            held.append((path, Exposure.readFits(path).image))
            if i % 3 == 2:
                held.pop(0)  # let some buffers go back to be reused
            for seen, image in held:
                if not np.array_equal(image.view(np.uint32), expected[seen].view(np.uint32)):
                    failures.append(f"{seen.name} changed")

    threads = [threading.Thread(target=reader, args=(offset,)) for offset in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []


def test_buffer_pool_hands_out_a_buffer_again_only_when_free_and_of_a_fitting_size():
    pool = BufferPool(spare=0.25)
    a = pool.array((100,), np.dtype(np.float32))
    where = address(a)
    a[:] = 1
    b = pool.array((100,), np.dtype(np.float32))  # a is alive: a new buffer
    assert not np.shares_memory(a, b) and (a == 1).all()
    del a, b
    c = pool.array((110,), np.dtype(np.float32))  # within the spare room of the last one
    d = pool.array((50, 2), np.dtype(np.float32))
    assert c.shape == (110,) and d.shape == (50, 2) and not np.shares_memory(c, d)
    del c, d
    e = pool.array((10,), np.dtype(np.float32))  # far smaller: not kept in a big buffer
    assert e.base.nbytes == int(40 * 1.25)
    exact = BufferPool()
    f = exact.array((3, 4), np.dtype(np.int16))
    where = address(f)
    del f
    g = exact.array((3, 4), np.dtype(np.int16))
    assert address(g) == where and g.flags.c_contiguous and g.dtype == np.int16


@pytest.mark.parametrize("dtype", [None, np.float64])
def test_pixels_in_another_type_or_the_file_s_own_are_never_pooled(dtype):
    obsTestData()
    hdus = fits_fast.readHdus(str(rawPath(1, "g")))
    first = hdus[0].pixels(dtype)
    again = hdus[0].pixels(dtype)
    assert not np.shares_memory(first, again)
    with fits.open(rawPath(1, "g")) as reference:
        np.testing.assert_array_equal(first, reference[0].data)
        assert first.dtype == (dtype or reference[0].data.dtype.newbyteorder("="))
