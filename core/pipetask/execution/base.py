"""The executor interface and the outcome of one data ID."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from .stop import StopRequest

if TYPE_CHECKING:
    from .job import Job

OK, FAILED, SKIPPED = "ok", "failed", "skipped"


@dataclass
class Outcome:
    """What happened to one data ID.

    ``error`` is one line (``ExcType: message``); ``traceback`` is the formatted traceback
    for unexpected exceptions (empty for a ``TaskError``); ``taskTime`` is the time spent
    inside the task itself, ``duration`` the whole time including the framework's work.
    """

    dataId: dict[str, Any]
    status: str
    error: str = ""
    traceback: str = ""
    duration: float = 0.0
    taskTime: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Whether the data ID succeeded."""
        return self.status == OK


class Executor:
    """Runs a job over data IDs and streams back outcomes, in any order.

    Subclasses implement :meth:`run`. ``processes`` is the ``-j`` value; ``options`` are
    executor-specific settings from the command line (e.g. a scheduler address).

    ``supports`` names the settings the executor honours (``processes`` above one,
    ``timeout``, ``scheduler``); the runner refuses a command line that asks an executor
    for one it does not support, rather than ignoring it. ``stop`` is the run's
    :class:`~pipetask.execution.stop.StopRequest` (set by the runner): :meth:`run` looks
    at ``stop.requested`` at least every
    :data:`~pipetask.execution.stop.POLL_SECONDS` and, once it is set, starts no more
    data IDs, stops the running ones cleanly, yields the outcomes that still finish, and
    returns. ``inProcess`` says that tasks run in the calling thread, where a stop
    interrupts them (see :meth:`StopRequest.interruptible`).
    """

    name = ""
    supports: ClassVar[frozenset[str]] = frozenset({"processes", "timeout"})
    inProcess: ClassVar[bool] = False

    def __init__(self, processes: int = 1, **options: Any) -> None:
        self.processes = max(1, int(processes))
        self.options = options
        self.stop = StopRequest()

    def start(self) -> None:
        """Acquire what the run needs (start or reach a cluster) before anything is
        written; a :class:`~pipetask.errors.PipetaskError` here is a set-up error."""

    def run(self, job: Job, dataIds: Sequence[dict[str, Any]]) -> Iterator[Outcome]:
        """Process every data ID; yield an :class:`Outcome` for each as it finishes.

        Failures are outcomes too, never exceptions; the caller stops consuming (and
        calls :meth:`close`) when it wants to stop early, as ``--doraise`` does.
        """
        raise NotImplementedError

    def close(self) -> None:
        """Release workers; called once when the run ends, even after an error."""
