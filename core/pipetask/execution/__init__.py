"""Running one task over many data IDs: jobs, outcomes and the executors that run them.

An executor takes a :class:`Job` (everything a worker needs to build the task once) and
the data IDs, and streams back one :class:`Outcome` per data ID. Executors are plugins
(hook ``pipetask_executors``); ``serial`` and ``process`` (``-j N``) are built in.
"""

from .base import Executor, Outcome
from .job import Job

__all__ = ["Executor", "Job", "Outcome"]
