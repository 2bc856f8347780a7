"""Plugin hooks of pipetask-image: the FITS storage format and the PNG display backend.

Imports nothing heavy: the targets are imported only when used.
"""

from __future__ import annotations

from pipetask.plugins import Description, hookimpl


@hookimpl
def pipetask_formats() -> list[Description]:
    return [
        Description(
            "fits",
            "pipetask_image.formats:FitsFormat",
            "LSST multi-extension FITS images (gzip when the name ends in .gz)",
        )
    ]


@hookimpl
def pipetask_display_backends() -> list[Description]:
    return [
        Description(
            "png",
            "pipetask_image.display:show",
            "zscale-stretched 8-bit PNG written into the output directory",
        )
    ]


@hookimpl
def pipetask_thumbnailers() -> list[Description]:
    return [
        Description(
            "*",
            "pipetask_image.thumbnail:thumbnail",
            "zscale grayscale thumbnail of any image dataset",
        )
    ]
