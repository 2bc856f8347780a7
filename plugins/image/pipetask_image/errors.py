"""The error raised for files that are not readable images."""

from __future__ import annotations

from pipetask.errors import PipetaskError


class ImageError(PipetaskError):
    """A file is missing, corrupt, truncated or holds no image; the message names it.

    Also raised for inconsistent planes and unknown mask-plane names.
    """
