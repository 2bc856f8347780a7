"""Imported once by the process that the local cluster's workers are forked from.

Everything a worker needs before its first data ID (Dask distributed, pipetask's
quantum runner, the installed plugins' descriptions) is imported there, once, so that a
worker starts in a fraction of a second instead of importing it all again. The package
versions a worker reports to the scheduler when it registers are looked up there too
(Dask caches them), so a worker does not read every installed package's metadata again.
"""

import contextlib
import gc
import signal

# Ctrl-C is the pipetask process's to handle (it stops the workers in order). This
# process was started with it held back (see executor.startForkServer); from here on it
# is ignored, and so in every worker forked from here (the fork server hands its workers
# the disposition it found, before it set its own).
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})

import distributed  # noqa: E402, F401
import pipetask.butler  # noqa: E402, F401
import pipetask.pipeline.quantum  # noqa: E402, F401
from distributed.versions import get_versions  # noqa: E402
from pipetask.plugins import catalog  # noqa: E402

import pipetask_dask.worker  # noqa: E402, F401

with contextlib.suppress(Exception):  # a broken plugin is reported by the run itself
    catalog()
with contextlib.suppress(Exception):
    get_versions()
# What is imported lives as long as the workers: out of their collector's sight (and
# never copied by a collection touching it in a forked worker).
gc.freeze()
