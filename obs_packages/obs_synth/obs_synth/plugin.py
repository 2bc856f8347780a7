"""Plugin module: describes the camera without importing it (kept light for ``--help``)."""

from pipetask.plugins import Description, hookimpl


@hookimpl
def pipetask_cameras():
    """The ``synth`` camera."""
    return [
        Description("synth", "obs_synth.camera:camera", "simulated 8-CCD camera (keys visit, ccd)")
    ]
