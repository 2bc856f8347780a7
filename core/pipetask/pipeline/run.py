"""The pipeline runner: executes a :class:`~pipetask.pipeline.plan.RunPlan`.

In order: take the output lock; create the output and define the dataset types the
labels write; store (or compare) each label's config and the package versions; store the
graph; decide what is already done (``--skip-existing``); then hand ready quanta to the
executor as their inputs complete. This process is the only writer of the registry: each
outcome carries the files its quantum wrote and is registered here, in one transaction,
before the quanta that read them are released. Writes a worker may leave half done are
recorded as pending first, so a run killed at any moment leaves a registry that the
next open recovers.

Outcomes go to the consumers (the run record, the progress bar, the summary); a failed
quantum blocks its descendants, which are recorded as blocked.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..butler.atomic import owner, removeDeadTemporaries
from ..execution.base import FAILED, OK, SKIPPED, Outcome
from .graph_io import graphPath, saveGraph
from .plan import RunPlan
from .quantum import PipelineJob, QuantumItem, configHash
from .resume import doneQuanta
from .scheduler import QuantumQueue

log = logging.getLogger("pipetask")
BLOCKED = "blocked"


def defineOutputTypes(plan: RunPlan, butler: Any) -> None:
    """Define, in the output, each written dataset type the camera does not declare (its
    keys from the connection; FITS when it renames a FITS type, else JSON)."""
    from ..errors import ButlerError

    for node in plan.pipeline.nodes.values():
        for conn in node.connections.outputs:
            try:
                butler.getDatasetType(conn.datasetType)
                continue
            except ButlerError:
                pass
            declared = getattr(node.taskClass.ConfigClass(), "connections", None)
            default = butler.camera.datasetType(getattr(declared, conn.name, ""))
            fmt = default.format if default is not None else "json"
            butler.registerDatasetType(conn.datasetType, keys=list(conn.dimensions), format=fmt)


def storeProvenance(plan: RunPlan, butler: Any) -> set[str]:
    """Store or compare each label's config and the package versions; the labels whose
    stored config was replaced (their quanta are redone)."""
    from ..butler.provenance import checkConfig, checkPackages

    settings = plan.settings
    backup = not settings.noBackupConfig
    replaced = set()
    stores = False
    for label, node in plan.pipeline.nodes.items():
        if not getattr(node.taskClass, "storeConfig", True):
            continue
        stores = True
        if checkConfig(butler, label, node.config, settings.clobberConfig, backup) == "replaced":
            replaced.add(label)
    if stores and not settings.noVersions:
        clobber = settings.clobberConfig or settings.clobberVersions
        checkPackages(butler, None, clobber, backup, hint="--clobber-versions (or --no-versions)")
    return replaced


def pipelineWrites(pipeline: Any) -> bool:
    """Whether a run of ``pipeline`` writes into its output (datasets or a stored config):
    a run that writes nothing needs no lock and runs on a read-only repository."""
    return any(
        node.connections.outputs or getattr(node.taskClass, "storeConfig", True)
        for node in pipeline.nodes.values()
    )


class RunState:
    """The outcomes of one run as they arrive, and what they mean for the rest."""

    def __init__(
        self,
        plan: RunPlan,
        butler: Any,
        queue: QuantumQueue,
        consumers: list,
        writes: bool = True,
    ) -> None:
        self.plan = plan
        self.butler = butler
        self.queue = queue
        self.consumers = consumers
        #: whether the run writes into its output (else it leaves the output untouched)
        self.writes = writes
        #: (label, index) of every quantum with an outcome, and of those done (ok, skipped)
        self.seen: set[tuple[str, int]] = set()
        self.done: set[tuple[str, int]] = set()
        self.counts: dict[str, Counter] = {label: Counter() for label in plan.graph.tasks}
        self.failures: list[Outcome] = []
        self.hashes = {
            label: configHash(task.configText) for label, task in plan.graph.tasks.items()
        }

    def butlerOf(self, label: str) -> Any:
        """The Butler whose output ``label`` writes into."""
        return self.butler

    def dropPending(self) -> None:
        """Forget the pending rows this process left (what was not written), and resolve
        those of the run's ended workers; a full disk leaves them to the next command."""
        if not self.writes:
            return
        self.removeUnregistered()
        repository = self.butler.output
        try:
            repository.registry.dropPendingOf(owner())
        except Exception as exc:  # a full disk: the next command that opens it recovers
            log.warning("pending writes left for the next command to resolve: %s", exc)
        repository.recoverAtShutdown()

    def removeUnregistered(self) -> None:
        """Remove the output files of quanta that did not succeed and that nobody
        registered: a worker stopped after writing, or a task that failed after writing one
        of its outputs. Registry rows and files then agree with the run record."""
        graph = self.plan.graph
        for label, task in graph.tasks.items():
            if not task.connections.outputs:
                continue
            butler = self.butlerOf(label)
            types = [butler.getDatasetType(c.datasetType) for c in task.connections.outputs]
            for i in range(graph.count(label)):
                if (label, i) in self.done:
                    continue
                dataId = graph.dataId(label, i)
                for dsType in types:
                    path = butler.outputRoot / dsType.path(dataId)
                    if path.exists() and not butler.datasetExists(dsType.name, dataId, write=True):
                        log.debug("removing %s: its quantum did not succeed", path)
                        with contextlib.suppress(OSError):
                            path.unlink()

    def emit(self, outcome: Outcome) -> None:
        label = outcome.extra["label"]
        self.counts[label][outcome.status] += 1
        key = (label, outcome.extra["quantum"])
        self.seen.add(key)
        if outcome.status in (OK, SKIPPED):
            self.done.add(key)
        outcome.extra["configHash"] = self.hashes[label]
        for consumer in self.consumers:
            consumer(outcome)

    def add(self, outcome: Outcome) -> None:
        """Register what the quantum wrote, release or block what follows, record it."""
        item = outcome.dataId
        label, index = _key(outcome)
        outcome.extra.setdefault("label", label)
        outcome.extra.setdefault("quantum", index)
        ok = outcome.status == OK
        if ok:
            written = outcome.extra.get("written") or []
            try:
                self.butlerOf(label).registerWritten(written)
            except Exception as exc:  # the registry refused: the quantum did not happen
                outcome.status = FAILED
                outcome.error = f"{type(exc).__name__}: cannot register outputs: {exc}"
                ok = False
        else:
            self.failures.append(outcome)
            if "WorkerDied" in outcome.error or "Timeout" in outcome.error:
                self._removeTemporaries(label, dict(item))
        self.emit(outcome)
        for blockedLabel, i in self.queue.finish(label, index, ok):
            dataId = self.plan.graph.dataId(blockedLabel, i)
            blocked = Outcome(
                QuantumItem(blockedLabel, i, dataId),
                BLOCKED,
                error=f"blocked by the failure of {label} {_format(dict(item))}",
                extra={"label": blockedLabel, "quantum": i},
            )
            self.emit(blocked)

    def _removeTemporaries(self, label: str, dataId: dict[str, Any]) -> None:
        """Temporary files a dead or stopped worker left for this quantum's outputs."""
        butler = self.butlerOf(label)
        root = butler.outputRoot
        for conn in self.plan.graph.tasks[label].connections.outputs:
            try:
                final = root / butler.getDatasetType(conn.datasetType).path(dataId)
            except Exception:
                continue
            removeDeadTemporaries(final)


def _key(outcome: Outcome) -> tuple[str, int]:
    item = outcome.dataId
    if isinstance(item, QuantumItem):
        return item.label, item.index
    return outcome.extra["label"], outcome.extra["quantum"]


def _format(dataId: dict[str, Any]) -> str:
    from ..dataid import formatDataId

    return formatDataId(dataId)


def pendingOutputs(plan: RunPlan, butler: Any, done: set) -> list[tuple[str, dict, str]]:
    """``(datasetType, dataId, path)`` of every output the run may write."""
    rows = []
    graph = plan.graph
    for label, task in graph.tasks.items():
        types = [butler.getDatasetType(c.datasetType) for c in task.connections.outputs]
        if not types:
            continue
        for i in range(graph.count(label)):
            if (label, i) in done:
                continue
            dataId = graph.dataId(label, i)
            rows.extend((t.name, dataId, t.path(dataId)) for t in types)
    return rows


def prepare(
    plan: RunPlan, butler: Any, succeeded: Callable[[], list], graphFolder: str | None = None
) -> tuple:
    """Everything before the first quantum; ``(queue, job, number done)``. A run that
    writes nothing gives ``graphFolder`` (where its graph goes when the output cannot
    take it) and leaves the output untouched otherwise."""
    writes = graphFolder is None
    replaced: set[str] = set()
    if writes:
        butler.output  # noqa: B018 - created here, once, not by N workers
        defineOutputTypes(plan, butler)
        replaced = storeProvenance(plan, butler)
    done: list[tuple[str, int]] = []
    if plan.settings.skipExisting:
        start = time.perf_counter()
        done, reasons = doneQuanta(plan.graph, butler, succeeded(), replaced)
        log.info(
            "resume: %d of %d quanta done, %d to run (decided in %.2f s)",
            len(done),
            len(plan.graph),
            len(plan.graph) - len(done),
            time.perf_counter() - start,
        )
        for reason, count in sorted(reasons.items()):
            log.info("  redo %d: %s", count, reason)
    path = storeGraph(plan, butler.outputRoot, graphFolder)
    queue = QuantumQueue(plan.graph, done)
    if writes:
        doneSet = set(done)
        butler.output.registry.addPendingMany(pendingOutputs(plan, butler, doneSet), owner())
    job = pipelineJob(plan, butler.outputRoot, path, butler.runtimeDatasetTypes())
    return queue, job, done


def storeGraph(plan: RunPlan, outputRoot: Any, graphFolder: str | None) -> Path:
    """Store the graph in the output (``report`` and resume read it there); a run that
    writes nothing on a read-only output keeps it in ``graphFolder`` for its workers."""
    try:
        Path(outputRoot).mkdir(parents=True, exist_ok=True)
        return saveGraph(plan.graph, outputRoot)
    except OSError:
        if graphFolder is None:
            raise
        return saveGraph(plan.graph, graphFolder)


def pipelineJob(
    plan: RunPlan, outputRoot: Any, path: Path | None = None, datasetTypes: Any = ()
) -> PipelineJob:
    """What every worker of the run needs: the stored graph, where to read and write, and
    the run-time dataset types (workers open no registry)."""
    return PipelineJob(
        datasetTypes=tuple(datasetTypes),
        graphPath=str(path or graphPath(outputRoot)),
        repo=plan.repo,
        output=str(outputRoot),
        calib=plan.calib,
        doraise=plan.settings.doraise,
        debugFile=plan.settings.debugFile,
    )


def skippedOutcomes(plan: RunPlan, done: list[tuple[str, int]]) -> list[Outcome]:
    """One ``skipped`` outcome per quantum already done."""
    return [
        Outcome(
            QuantumItem(label, i, plan.graph.dataId(label, i)),
            SKIPPED,
            extra={"label": label, "quantum": i},
        )
        for label, i in done
    ]


#: Quanta listed by name when a run stops before them (the rest are counted).
MAX_LISTED = 10


def noun(graph: Any) -> str:
    """What a run's units are called: a one-task run's quanta are its data IDs."""
    return "data IDs" if len(graph.tasks) == 1 else "quanta"


def summaryLines(state: RunState, elapsed: float, stopped: str = "") -> list[str]:
    """The summary: one line per label (with the time, for a one-task run), the total
    time, each failure, then the quanta that did not run (the first few by name)."""
    graph = state.plan.graph
    one = len(graph.tasks) == 1
    lines = []
    for label, counts in state.counts.items():
        total = graph.count(label)
        notRun = total - sum(counts.values())
        tail = f"; {notRun} not run" + (f" ({stopped})" if stopped else "") if notRun else ""
        if one:
            lines.append(
                f"{label}: {counts[OK]} succeeded, {counts[FAILED]} failed, {counts[SKIPPED]} "
                f"skipped of {total} data IDs in {elapsed:.2f} s{tail}"
            )
        else:
            lines.append(
                f"{label}: {counts[OK]} succeeded, {counts[FAILED]} failed, {counts[BLOCKED]} "
                f"blocked, {counts[SKIPPED]} skipped of {total} quanta{tail}"
            )
    if not one:
        lines.append(f"{len(graph)} quanta in {elapsed:.2f} s")
    for outcome in state.failures:
        label = "" if one else f"{outcome.extra.get('label', '')} "
        lines.append(f"  failed {label}{_format(dict(outcome.dataId))}: {outcome.error}")
    notRun = [key for key in graph.quanta() if key not in state.seen]
    for label, i in notRun[:MAX_LISTED]:
        lines.append(f"  not run {'' if one else label + ' '}{_format(graph.dataId(label, i))}")
    if len(notRun) > MAX_LISTED:
        lines.append(
            f"  ... and {len(notRun) - MAX_LISTED} more not run (pipetask report "
            f"{state.butler.outputRoot} lists them all)"
        )
    return lines


def printTraceback(outcome: Outcome) -> None:
    """``--doraise``: the failing quantum's traceback, once."""
    if outcome.traceback:
        print(outcome.traceback.rstrip(), file=sys.stderr)


def executePlan(
    plan: RunPlan, executor: Any, body: Callable[..., int] | None = None, locked: bool = False
) -> int:
    """Run a plan with an executor (which it closes); the exit status. ``body(plan,
    executor)`` does the run (default: the plain runner; a sweep gives its own);
    ``locked``: the caller holds the output's lock already.

    SIGINT and SIGTERM stop the run cleanly, as for a single task (see
    :mod:`pipetask.execution.stop`): running quanta are stopped, the summary and the
    record's end are written, the exit status is 128 plus the signal number.
    """
    stop = executor.stop
    with stop.handleSignals():
        try:
            if body is not None:
                return body(plan, executor)
            return _executePlan(plan, executor, locked)
        finally:
            executor.close()


def _executePlan(plan: RunPlan, executor: Any, locked: bool = False) -> int:
    import tempfile

    from ..butler import Butler
    from ..runlock import outputLock
    from .record import previousQuanta

    writes = pipelineWrites(plan.pipeline)
    # Lock first, then open (and perhaps create) the output: two runs started together
    # into one new output must not see each other's half-made repository.
    with outputLock(plan.output) if writes and not locked else contextlib.nullcontext():
        executor.start()  # a cluster that cannot start is a set-up error: nothing written yet
        butler = Butler(plan.repo, output=plan.output, calib=plan.calib, registryWrites=writes)
        attempts, succeeded = previousQuanta(butler.outputRoot, plan.runName)
        with contextlib.ExitStack() as stack:
            folder = None if writes else stack.enter_context(tempfile.TemporaryDirectory())
            queue, job, done = prepare(plan, butler, lambda: succeeded, folder)
            state = RunState(plan, butler, queue, [], writes)
            status = drive(state, job, done, attempts, executor)
    butler.close()
    return status


def drive(state: RunState, job: Any, done: list, attempts: Counter, executor: Any) -> int:
    """Run a repository's quanta: the run record (started and ended here) and the
    summary around :func:`feed`; the exit status."""
    from .record import RecordWriter, quantumKey, recordFields

    plan, butler, queue = state.plan, state.butler, state.queue
    graph = plan.graph
    stop = executor.stop
    record = RecordWriter(str(butler.outputRoot), plan.runName, stop, required=state.writes)
    # A one-task run lists its data IDs, so a report can name those that did not run.
    selected = [graph.dataId(*key) for key in graph.quanta()] if len(graph.tasks) == 1 else []
    record.start(selected, quanta=len(graph), labels=list(graph.tasks))

    def write(outcome: Outcome) -> None:
        if outcome.status in (OK, FAILED):
            key = quantumKey(outcome.extra["label"], dict(outcome.dataId))
            attempts[key] += 1
            outcome.extra["record"] = recordFields(outcome, attempts[key])
        else:
            outcome.extra["record"] = {
                "label": outcome.extra["label"],
                "quantum": outcome.extra["quantum"],
            }
        record.record(outcome)

    state.consumers.insert(0, write)
    for outcome in skippedOutcomes(plan, done):
        state.emit(outcome)
    start = time.perf_counter()
    feed(state, job, queue, executor, plan.settings)
    why = stop.describe()
    for line in summaryLines(state, time.perf_counter() - start, why):
        log.info("%s", line)
    notRun = len(graph) - len(state.seen)
    status = runStatus(stop, len(state.failures), notRun, noun(graph))
    record.end(status, why)
    record.close()
    return status


def feed(state: Any, job: Any, work: Any, executor: Any, settings: Any) -> None:
    """The runner's loop, the same for every run (a pipeline's, a one-task run's, a
    sweep's, ``--file``'s): hand ``work`` (a live queue of ready quanta, or a list of
    items) to the executor with ``job``, and each outcome to ``state.add``, until every
    outcome is in, the run is stopped (a signal, a storage failure) or ``--doraise``
    meets a failure; then ``state.dropPending()``. A progress bar consumes the outcomes
    on a terminal; ``settings`` are the plan's (``doraise``, ``profile``)."""
    from .. import progress
    from ..profiling import profiling

    stop = executor.stop
    bar = progress.Progress(len(work)) if progress.wanted(len(work)) else None
    if bar is not None:
        state.consumers.append(lambda o: o.status == SKIPPED or bar.update(o.status == OK))
    outcomes = executor.run(job, work) if work else iter(())
    try:
        with bar or contextlib.nullcontext(), profiling(settings.profile):
            for outcome in outcomes:
                state.add(outcome)
                problem = outcome.extra.get("stopRun")
                if problem and not stop.requested:  # the storage failed, not the quantum
                    log.error("stopping the run: %s", problem)
                    stop.request(problem)
                if outcome.status == FAILED and settings.doraise:
                    printTraceback(outcome)
                    log.error("stopping at the first failure (--doraise)")
                    break
    except KeyboardInterrupt:  # a stop interrupted a quantum running in this process
        if not stop.requested:
            raise
    finally:
        close = getattr(outcomes, "close", None)
        if close is not None:
            close()  # the workers end now, not when the generator is collected
        state.dropPending()


def runStatus(stop: Any, failures: int, notRun: int, what: str, resumable: bool = True) -> int:
    """The exit status of a run that ended (``notRun`` of its ``what`` did not run): a
    signal's, 2 for a run stopped by a failure of its storage (said in one line), else
    the number of failures (capped)."""
    from ..errors import EXIT_USAGE, exitStatus

    if stop.exitStatus is not None:
        return stop.exitStatus
    if stop.requested:
        hint = " (--skip-existing runs them once the cause is fixed)" if resumable else ""
        print(
            f"pipetask: error: the run stopped: {stop.reason}; {notRun} {what} not run{hint}",
            file=sys.stderr,
        )
        return EXIT_USAGE
    return exitStatus(failures)
