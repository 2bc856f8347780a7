"""obs_test: the LSST test camera (one CCD) for pipetask.

The camera itself is :data:`obs_test.camera.camera`; the plugin module registers it under
the name ``test`` without importing it.
"""
