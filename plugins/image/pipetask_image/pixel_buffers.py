"""Buffers a reader fills again and again: the buffer of an earlier read, once nothing
refers to it any more, is used again for the next.

Reading one image after another (a task's loop over data IDs) would otherwise ask the
allocator for new megabyte-sized buffers each time, and whether it hands back memory the
process already touched or fresh pages the kernel must map and zero depends on the order
of everything else allocated in between. A buffer is reused only when no array, view or
exported buffer refers to it, exactly when it would otherwise have been freed, so what a
reader handed out earlier never changes. The buffer of the last read stays allocated.
"""

from __future__ import annotations

import sys

import numpy as np


def _unreferenced() -> int:
    """What ``sys.getrefcount`` says of a buffer only a local name refers to."""
    buffer = np.empty(1, np.uint8)
    return sys.getrefcount(buffer)


_UNREFERENCED = _unreferenced()


class BufferPool:
    """Byte buffers handed out as arrays (each buffer the base of the arrays made from
    it), one kept per reader running at the same time: each call takes one out and puts
    one back.

    Parameters
    ----------
    spare : float
        Room for growth: a buffer made is this much larger than asked for, and one
        holding up to that much more than asked for is reused (0: only the same size).
    """

    def __init__(self, spare: float = 0.0) -> None:
        self._free: list[np.ndarray] = []
        self._spare = spare

    def array(self, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        """An uninitialised C-contiguous array of ``shape`` and ``dtype``, in a buffer
        no one else refers to."""
        dtype = np.dtype(dtype)
        size = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
        try:
            buffer = self._free.pop()
        except IndexError:
            buffer = None
        # Any array or view using the buffer, or a memoryview of one, adds a reference.
        if (
            buffer is None
            or not size <= buffer.nbytes <= size * (1 + self._spare)
            or sys.getrefcount(buffer) != _UNREFERENCED
        ):
            buffer = np.empty(int(size * (1 + self._spare)), np.uint8)
        self._free.append(buffer)
        return buffer[:size].view(dtype).reshape(shape)
