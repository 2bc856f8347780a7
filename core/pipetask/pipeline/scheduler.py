"""Which quanta may run now: the queue of ready quanta an executor draws from.

The runner marks each outcome with :meth:`QuantumQueue.finish`; a quantum becomes ready
when every quantum whose outputs it reads has succeeded (or was skipped as already
done). A failed quantum *blocks* its descendants: they are never handed out and are
reported as blocked, not failed.

Executors see the queue as their list of work (a
:class:`~pipetask.execution.base.WorkSource`): ``len(queue)`` is what is left to hand out
(ready or waiting), :meth:`QuantumQueue.take` gives a ready quantum or None when none is
ready *now*, :attr:`QuantumQueue.more` says whether any may still come, and iterating
hands out ready quanta until none is ready (a serial executor iterates: each outcome it
yields is finished before it asks for the next quantum).
"""

from __future__ import annotations

from array import array
from collections import deque
from collections.abc import Iterable, Iterator

from .graph import QuantumGraph
from .quantum import QuantumItem


class QuantumQueue:
    """Ready quanta of a graph, in graph order, released as their inputs complete.

    Parameters
    ----------
    graph : QuantumGraph
        The run's graph.
    done : iterable of (label, index)
        Quanta already complete (resume): they count as succeeded and are not handed out.
    """

    def __init__(self, graph: QuantumGraph, done: Iterable[tuple[str, int]] = ()) -> None:
        self.graph = graph
        labels = list(graph.tasks)
        self._labelIndex = {label: n for n, label in enumerate(labels)}
        self._labels = labels
        #: per label: number of unfinished upstream quanta of each quantum
        self._waiting = {label: array("l", bytes(8 * graph.count(label))) for label in labels}
        #: per producer label: for each of its quanta, the (label number, index) reading it
        self._dependents: dict[str, list[list[int]]] = {}
        for label in labels:
            for edge in graph.tasks[label].edges.values():
                if edge.producer is None:
                    continue
                readers = self._dependents.setdefault(
                    edge.producer, [[] for _ in range(graph.count(edge.producer))]
                )
                waiting = self._waiting[label]
                code = self._labelIndex[label]
                for i in range(graph.count(label)):
                    for row in edge.rows(i):
                        readers[row].append(code)
                        readers[row].append(i)
                        waiting[i] += 1
        self._state = {label: bytearray(graph.count(label)) for label in labels}
        self._ready: deque[tuple[str, int]] = deque()
        self.outstanding = 0
        self._taken = 0
        self._left = sum(graph.count(label) for label in labels)
        self.blocked: list[tuple[str, int]] = []
        for label, index in done:
            self._state[label][index] = _DONE
            self._left -= 1
        for label, index in done:
            self._release(label, index)
        for label in labels:
            waiting, state = self._waiting[label], self._state[label]
            for i in range(graph.count(label)):
                if waiting[i] == 0 and state[i] == _WAITING:
                    state[i] = _READY
                    self._ready.append((label, i))

    # -- what executors use --------------------------------------------------------------
    def __len__(self) -> int:
        return self._left

    def __bool__(self) -> bool:
        return self._left > 0

    def take(self) -> tuple[int, QuantumItem] | None:
        """``(number, quantum)`` of a ready quantum, or None (the executor contract of
        :class:`~pipetask.execution.base.WorkSource`)."""
        item = self.pop()
        if item is None:
            return None
        self._taken += 1
        return self._taken - 1, item

    @property
    def more(self) -> bool:
        """Whether anything may still be handed out."""
        return not self.exhausted

    def pop(self) -> QuantumItem | None:
        """A ready quantum (handed out: the runner must :meth:`finish` it), or None."""
        if not self._ready:
            return None
        label, index = self._ready.popleft()
        self._state[label][index] = _RUNNING
        self._left -= 1
        self.outstanding += 1
        return QuantumItem(label, index, self.graph.dataId(label, index))

    @property
    def ready(self) -> int:
        """Number of quanta ready now."""
        return len(self._ready)

    @property
    def exhausted(self) -> bool:
        """Whether nothing is ready and nothing handed out can make anything ready."""
        return not self._ready and (self.outstanding == 0 or self._left == 0)

    def __iter__(self) -> Iterator[QuantumItem]:
        while True:
            item = self.pop()
            if item is None:
                return
            yield item

    # -- what the runner uses ------------------------------------------------------------
    def finish(self, label: str, index: int, ok: bool) -> list[tuple[str, int]]:
        """Record the outcome of a handed-out quantum; returns the quanta it blocks."""
        state = self._state[label]
        if state[index] != _RUNNING:
            return []
        self.outstanding -= 1
        state[index] = _DONE if ok else _FAILED
        if ok:
            self._release(label, index)
            return []
        return self._block(label, index)

    def _release(self, label: str, index: int) -> None:
        readers = self._dependents.get(label)
        if not readers:
            return
        pairs = readers[index]
        for k in range(0, len(pairs), 2):
            reader = self._labels[pairs[k]]
            i = pairs[k + 1]
            waiting = self._waiting[reader]
            waiting[i] -= 1
            if waiting[i] == 0 and self._state[reader][i] == _WAITING:
                self._state[reader][i] = _READY
                self._ready.append((reader, i))

    def _block(self, label: str, index: int) -> list[tuple[str, int]]:
        blocked: list[tuple[str, int]] = []
        todo = [(label, index)]
        while todo:
            producer, j = todo.pop()
            readers = self._dependents.get(producer)
            if not readers:
                continue
            pairs = readers[j]
            for k in range(0, len(pairs), 2):
                reader = self._labels[pairs[k]]
                i = pairs[k + 1]
                state = self._state[reader]
                if state[i] in (_WAITING, _READY):
                    if state[i] == _READY:
                        self._ready.remove((reader, i))
                    state[i] = _BLOCKED
                    self._left -= 1
                    blocked.append((reader, i))
                    todo.append((reader, i))
        self.blocked.extend(blocked)
        return blocked

    def notRun(self) -> list[tuple[str, int]]:
        """Quanta neither handed out, done, failed nor blocked (left by a stop)."""
        return [
            (label, i)
            for label in self._labels
            for i, s in enumerate(self._state[label])
            if s in (_WAITING, _READY)
        ]


_WAITING, _READY, _RUNNING, _DONE, _FAILED, _BLOCKED = range(6)
