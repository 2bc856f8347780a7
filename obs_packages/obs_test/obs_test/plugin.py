"""Plugin module: describes the camera without importing it (kept light for ``--help``)."""

from pipetask.plugins import Description, hookimpl


@hookimpl
def pipetask_cameras():
    """The ``test`` camera."""
    return [Description("test", "obs_test.camera:camera", "LSST obs_test camera (one CCD)")]
