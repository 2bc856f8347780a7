"""Running work: jobs, outcomes and the executors that run them.

An executor takes a job (everything a worker needs to build its tasks once) and the
work (data IDs of one task, or a pipeline's quanta as they become ready), and streams
back one :class:`Outcome` per item. The contract is :class:`Executor`'s docstring.
Executors are plugins (hook ``pipetask_executors``); ``serial`` and ``process``
(``-j N``) are built in.
"""

from .base import Executor, Outcome
from .job import Job

__all__ = ["Executor", "Job", "Outcome"]
