"""Imported once by the process that the local cluster's workers are forked from.

Everything a worker needs before its first data ID (Dask distributed, pipetask's
quantum runner, the installed plugins' descriptions) is imported there, once, so that a
worker starts in a fraction of a second instead of importing it all again. The package
versions a worker reports to the scheduler when it registers are looked up there too
(Dask caches them), so a worker does not read every installed package's metadata again.
"""

import contextlib
import gc

import distributed  # noqa: F401
import pipetask.butler  # noqa: F401
import pipetask.pipeline.quantum  # noqa: F401
from distributed.versions import get_versions
from pipetask.plugins import catalog

import pipetask_dask.worker  # noqa: F401

with contextlib.suppress(Exception):  # a broken plugin is reported by the run itself
    catalog()
with contextlib.suppress(Exception):
    get_versions()
# What is imported lives as long as the workers: out of their collector's sight (and
# never copied by a collection touching it in a forked worker).
gc.freeze()
