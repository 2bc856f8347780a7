"""Atomic file writes: write to a temporary name in the same directory, then rename."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator


@contextlib.contextmanager
def atomicPath(path: str) -> Iterator[str]:
    """Yield a temporary path beside ``path`` (same extension); rename it over ``path``
    when the block succeeds, remove it when it fails. Readers never see a partial file."""
    directory, name = os.path.split(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".tmp-{os.getpid()}-", suffix=f"-{name}", dir=directory)
    os.close(fd)
    try:
        yield tmp
        with open(tmp, "rb") as stream:
            os.fsync(stream.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomicWriteText(path: str, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomicPath(path) as tmp, open(tmp, "w", encoding="utf-8") as stream:
        stream.write(text)
