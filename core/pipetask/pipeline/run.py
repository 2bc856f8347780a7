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
import glob
import logging
import os
import sys
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from ..butler.atomic import TMP_PREFIX, owner, ownerIsDead
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
            declared = node.taskClass.ConfigClass().connections
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
        checkPackages(
            butler, None, settings.clobberConfig, backup, hint="--clobber-config (or --no-versions)"
        )
    return replaced


class RunState:
    """The outcomes of one run as they arrive, and what they mean for the rest."""

    def __init__(self, plan: RunPlan, butler: Any, queue: QuantumQueue, consumers: list) -> None:
        self.plan = plan
        self.butler = butler
        self.queue = queue
        self.consumers = consumers
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
        repository = self.butler.output
        try:
            repository.registry.dropPendingOf(owner())
        except Exception as exc:  # a full disk: the next command that opens it recovers
            log.warning("pending writes left for the next command to resolve: %s", exc)
        repository.recoverAtShutdown()

    def emit(self, outcome: Outcome) -> None:
        label = outcome.extra["label"]
        self.counts[label][outcome.status] += 1
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
            for tmp in glob.glob(str(final.parent / f"{TMP_PREFIX}*-{final.name}")):
                ownerText = os.path.basename(tmp)[len(TMP_PREFIX) :].split("-", 1)[0]
                if ownerIsDead(ownerText):
                    with contextlib.suppress(OSError):
                        os.unlink(tmp)


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


def prepare(plan: RunPlan, butler: Any, succeeded: Callable[[], list]) -> tuple:
    """Everything before the first quantum; ``(queue, job, number done)``."""
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
    saveGraph(plan.graph, butler.outputRoot)
    queue = QuantumQueue(plan.graph, done)
    doneSet = set(done)
    butler.output.registry.addPendingMany(pendingOutputs(plan, butler, doneSet), owner())
    return queue, pipelineJob(plan, butler.outputRoot), done


def pipelineJob(plan: RunPlan, outputRoot: Any) -> PipelineJob:
    """What every worker of the run needs: the stored graph and where to read and write."""
    return PipelineJob(
        graphPath=str(graphPath(outputRoot)),
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


def summaryLines(state: RunState, elapsed: float, stopped: str = "") -> list[str]:
    """The summary: one line per label, then each failure."""
    lines = []
    for label, counts in state.counts.items():
        total = state.plan.graph.count(label)
        notRun = total - sum(counts.values())
        tail = f"; {notRun} not run" + (f" ({stopped})" if stopped else "") if notRun else ""
        lines.append(
            f"{label}: {counts[OK]} succeeded, {counts[FAILED]} failed, {counts[BLOCKED]} "
            f"blocked, {counts[SKIPPED]} skipped of {total} quanta{tail}"
        )
    lines.append(f"{len(state.plan.graph)} quanta in {elapsed:.2f} s")
    for outcome in state.failures:
        label = outcome.extra.get("label", "")
        lines.append(f"  failed {label} {_format(dict(outcome.dataId))}: {outcome.error}")
    return lines


def printTraceback(outcome: Outcome) -> None:
    """``--doraise``: the failing quantum's traceback, once."""
    if outcome.traceback:
        print(outcome.traceback.rstrip(), file=sys.stderr)


def executePlan(plan: RunPlan, executor: Any, body: Callable[..., int] | None = None) -> int:
    """Run a plan with an executor (which it closes); the exit status. ``body(plan,
    executor)`` does the run (default: the plain runner; a sweep gives its own).

    SIGINT and SIGTERM stop the run cleanly, as for a single task (see
    :mod:`pipetask.execution.stop`): running quanta are stopped, the summary and the
    record's end are written, the exit status is 128 plus the signal number.
    """
    stop = executor.stop
    with stop.handleSignals():
        try:
            return (body or _executePlan)(plan, executor)
        finally:
            executor.close()


def _executePlan(plan: RunPlan, executor: Any) -> int:
    from ..butler import Butler
    from ..runlock import outputLock
    from .record import previousQuanta

    with outputLock(plan.output):
        executor.start()  # a cluster that cannot start is a set-up error: nothing written yet
        butler = Butler(plan.repo, output=plan.output, calib=plan.calib)
        attempts, succeeded = previousQuanta(butler.outputRoot, plan.runName)
        queue, job, done = prepare(plan, butler, lambda: succeeded)
        status = drive(RunState(plan, butler, queue, []), job, done, attempts, executor)
    butler.close()
    return status


def drive(state: RunState, job: Any, done: list, attempts: Counter, executor: Any) -> int:
    """Feed the queue's ready quanta to the executor and record each outcome in the run
    record (started and ended here); logs the summary; the exit status."""
    from .. import progress
    from ..outcomes import OutcomeLog
    from ..profiling import profiling
    from ..progress import Progress
    from ..runner import EXIT_USAGE, exitStatus
    from .record import quantumKey, recordFields

    plan, butler, queue = state.plan, state.butler, state.queue
    stop = executor.stop
    record = OutcomeLog(str(butler.outputRoot), plan.runName)
    record.start([], quanta=len(plan.graph), labels=list(plan.graph.tasks))

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

    bar = Progress(len(queue)) if progress.wanted(len(queue)) else None

    def show(outcome: Outcome) -> None:
        if bar is not None and outcome.status != SKIPPED:
            bar.update(outcome.status == OK)

    state.consumers[:0] = [write, show]
    for outcome in skippedOutcomes(plan, done):
        state.emit(outcome)
    start = time.perf_counter()
    outcomes = executor.run(job, queue) if queue else iter(())
    try:
        with bar or contextlib.nullcontext(), profiling(plan.settings.extra.get("profile")):
            for outcome in outcomes:
                state.add(outcome)
                problem = outcome.extra.get("stopRun")
                if problem and not stop.requested:  # the storage failed, not the quantum
                    log.error("stopping the run: %s", problem)
                    stop.request(problem)
                if outcome.status == FAILED and plan.settings.doraise:
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
    why = stop.describe()
    for line in summaryLines(state, time.perf_counter() - start, why):
        log.info("%s", line)
    if stop.exitStatus is not None:
        status = stop.exitStatus
    elif stop.requested:
        notRun = len(plan.graph) - sum(sum(c.values()) for c in state.counts.values())
        print(
            f"pipetask: error: the run stopped: {stop.reason}; {notRun} quanta not run "
            f"(--skip-existing runs them once the cause is fixed)",
            file=sys.stderr,
        )
        status = EXIT_USAGE
    else:
        status = exitStatus(len(state.failures))
    record.end(status, why)
    record.close()
    return status
