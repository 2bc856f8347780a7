"""The ``png`` display backend writes a valid zscale-stretched PNG."""

from __future__ import annotations

import struct
import zlib

import numpy as np
from pipetask_image import MaskedImage
from pipetask_image.display import PNG_SIGNATURE, show


def readPng(path):
    """Check a PNG's chunks and CRCs; return (width, height, bitDepth, colorType, pixels)."""
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    pos, chunks = 8, []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF, kind
        chunks.append((kind, body))
        pos += 12 + length
    assert chunks[0][0] == b"IHDR" and chunks[-1][0] == b"IEND"
    width, height, depth, color = struct.unpack(">IIBB", chunks[0][1][:10])
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    channels = 3 if color == 2 else 1
    rows = np.frombuffer(raw, np.uint8).reshape(height, width * channels + 1)
    assert not rows[:, 0].any()  # filter type 0 on every row
    texts = [body for kind, body in chunks if kind == b"tEXt"]
    return width, height, depth, color, rows[:, 1:], texts


def test_show_writes_a_png_of_the_right_size(tmp_path):
    rng = np.random.default_rng(0)
    image = rng.normal(100.0, 3.0, (30, 50)).astype(np.float32)
    image[0, :] = 1000.0  # a bright bottom row
    image[5, 5] = np.nan
    path = show(MaskedImage(image), title="exampleTask v1 g", outputDir=str(tmp_path / "out"))
    assert path.endswith(".png") and (tmp_path / "out").is_dir()
    width, height, depth, color, pixels, texts = readPng(tmp_path / "out" / path.split("/")[-1])
    assert (width, height, depth, color) == (50, 30, 8, 0)
    assert texts == [b"Title\x00exampleTask v1 g"]
    assert (pixels[-1] == 255).all()  # image row 0 is drawn at the bottom, as ds9 does
    assert 0 < np.median(pixels) < 255  # zscale leaves the sky grey
    assert [p.name for p in (tmp_path / "out").iterdir()] == [path.split("/")[-1]]


def test_show_accepts_arrays_and_constant_images(tmp_path):
    path = show(np.zeros((4, 7), np.uint16), title="flat/../x", outputDir=str(tmp_path))
    width, height, *_ = readPng(tmp_path / path.split("/")[-1])
    assert (width, height) == (7, 4)
    assert path.startswith(str(tmp_path))


def test_png_backend_is_a_plugin():
    from pipetask.plugins import catalog, load_item

    assert catalog().get("display", "png").distribution == "pipetask-image"
    assert load_item("display", "png") is show
