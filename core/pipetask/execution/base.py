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


class WorkSource:
    """What an executor hands out, one item at a time: a fixed list of data IDs, or a
    pipeline's live queue of ready quanta (which grows as outcomes come back).

    ``take()`` gives ``(number, item)``, or None when nothing is ready *now*; ``more``
    says whether anything may still come (for a live queue: once the outcomes of the
    items handed out are in). ``len()`` counts what is left to hand out.
    """

    def __init__(self, items: Sequence[Any]) -> None:
        self._items = items
        self._next = 0

    def take(self) -> tuple[int, Any] | None:
        if self._next >= len(self._items):
            return None
        self._next += 1
        return self._next - 1, self._items[self._next - 1]

    @property
    def more(self) -> bool:
        return self._next < len(self._items)

    def __len__(self) -> int:
        return len(self._items) - self._next


def workSource(items: Any) -> Any:
    """``items`` as a :class:`WorkSource` (a live queue already is one)."""
    return items if hasattr(items, "take") and hasattr(items, "more") else WorkSource(items)


class Executor:
    """Runs work items in some engine and streams back outcomes, in any order.

    The contract a third-party executor implements (registered with the hook
    ``pipetask_executors``; see :mod:`pipetask.hookspecs`):

    - It is constructed as ``Executor(processes=N, **options)``: ``processes`` is the
      ``-j`` value; ``options`` holds ``timeout`` (seconds per item, or None) and, when
      given on the command line, ``scheduler``. An executor that cannot honour one of
      them says so in ``supports`` and the run is refused instead of ignoring it.
    - :meth:`run` receives a *job* and the *work*. The job is picklable and holds
      everything a worker needs: ``processOne(job, item)`` (from
      :mod:`pipetask.execution.job`), called in any process, builds the job's worker
      once per process (``job.makeWorker()`` for a pipeline: the graph, the Butler, each
      task on first use) and returns the item's :class:`Outcome`; it never raises for
      a failure of the task. The work is a :class:`WorkSource` (use :func:`workSource`
      to treat a plain list the same way): ``take()`` gives ``(number, item)`` or None
      when nothing is ready now, ``more`` whether anything may still come. For a
      pipeline the items are quanta whose inputs are complete, and more become ready
      only after the outcomes already handed out have been *yielded* and consumed: so
      take what is ready, run it, yield each outcome as it arrives, take again.
    - A worker that dies, hangs past ``timeout`` or cannot be reached must not stop the
      run: yield a ``failed`` outcome for its item (``error`` starting ``WorkerDied:``
      or ``TimeoutError:``) and carry on.
    - Items are data-ID dicts (a pipeline's are
      :class:`~pipetask.pipeline.quantum.QuantumItem`, a dict that also knows its label
      and index); hand back the same object in an outcome you make yourself, so the
      runner knows which item it was.
    - Workers write dataset files but never the registry: an outcome's ``extra
      ["written"]`` lists what a quantum wrote, and the run's main process registers it.
    - :meth:`close` is called once when the run ends, even after an error.

    ``supports`` names the settings the executor honours (``processes`` above one,
    ``timeout``, ``scheduler``); the runner refuses a command line that asks an executor
    for one it does not support, rather than ignoring it. ``stop`` is the run's
    :class:`~pipetask.execution.stop.StopRequest` (set by the runner): :meth:`run` looks
    at ``stop.requested`` at least every
    :data:`~pipetask.execution.stop.POLL_SECONDS` and, once it is set, takes no more
    items, stops the running ones cleanly, yields the outcomes that still finish, and
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
        written; a :class:`~pipetask.errors.PipetaskError` here is a set-up error.

        A start that goes on in the background (a local cluster) may outlast this call,
        so that it overlaps the writing of the run's configs and record: :meth:`run`
        then waits for it, looking at ``stop.requested`` meanwhile, and a start that
        fails there ends the run through ``stop.request(reason)`` (recorded as stopped,
        exit status 2), not by raising."""

    def run(self, job: Job, dataIds: Sequence[dict[str, Any]]) -> Iterator[Outcome]:
        """Process every data ID; yield an :class:`Outcome` for each as it finishes.

        Failures are outcomes too, never exceptions; the caller stops consuming (and
        calls :meth:`close`) when it wants to stop early, as ``--doraise`` does.
        """
        raise NotImplementedError

    def close(self) -> None:
        """Release workers; called once when the run ends, even after an error."""
