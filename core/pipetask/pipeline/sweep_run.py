"""Running a sweep: one runner and one executor over the combined graph of every variant.

Before the first quantum: the output lock is taken; the shared labels' configs are stored
in the run's output and each variant's varying labels' configs in the variant's own
output (``OUT/sweep/<variant>``, chained to ``OUT``); what is already done is found (a
sweep always reuses finished quanta, so adding a value later runs only the new variant);
the combined graph is stored in ``OUT``. Then the pipeline runner's loop runs it: each
outcome is registered in the output its label writes into.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from typing import Any

from ..butler.atomic import owner, writeTextAtomic
from .plan import RunPlan
from .run import (
    RunState,
    defineOutputTypes,
    drive,
    executePlan,
    pipelineJob,
    storeProvenance,
)
from .scheduler import QuantumQueue
from .sweep import SWEEP_DIR, SWEEP_FILE, Variant, variantLabel

log = logging.getLogger("pipetask")


class SweepState(RunState):
    """Run state whose labels write into their variant's output."""

    def __init__(self, plan: RunPlan, butler: Any, queue: Any, consumers: list, butlers: dict):
        super().__init__(plan, butler, queue, consumers)
        self.butlers = butlers

    def butlerOf(self, label: str) -> Any:
        return self.butlers.get(label, self.butler)

    def dropPending(self) -> None:
        self.removeUnregistered()
        for butler in {id(b): b for b in [self.butler, *self.butlers.values()]}.values():
            butler.output.registry.dropPendingOf(owner())


def _subPipeline(pipeline: Any, labels: list[str]) -> Any:
    from .pipeline import Pipeline

    return Pipeline([pipeline.nodes[label] for label in labels], pipeline.source)


def executeSweep(plan: RunPlan, varying: list[str], variants: list[Variant], executor: Any) -> int:
    """Run the sweep whose combined graph is ``plan.graph`` with an executor (which it
    closes); the exit status. Signals stop it as they stop any run."""

    def body(plan: RunPlan, executor: Any) -> int:
        return _executeSweep(plan, varying, variants, executor)

    return executePlan(plan, executor, body)


def _executeSweep(plan: RunPlan, varying: list[str], variants: list[Variant], executor: Any) -> int:
    from ..butler import Butler
    from ..runlock import outputLock
    from .graph_io import saveGraph
    from .record import previousQuanta
    from .resume import doneQuanta

    graph = plan.graph
    shared = [label for label in plan.pipeline.labels if label not in varying]
    with outputLock(plan.output):
        executor.start()  # a cluster that cannot start is a set-up error: nothing written yet
        butler = Butler(plan.repo, output=plan.output, calib=plan.calib)
        root = butler.outputRoot
        attempts, succeeded = previousQuanta(root, plan.runName)
        butler.output  # noqa: B018 - created here, once
        sharedPlan = replace(plan, pipeline=_subPipeline(plan.pipeline, shared))
        defineOutputTypes(sharedPlan, butler)
        replaced = storeProvenance(sharedPlan, butler)
        butlers: dict[str, Any] = {}
        for variant in variants:
            vb = Butler(str(root), output=str(root / SWEEP_DIR / variant.name), calib=plan.calib)
            vb.output  # noqa: B018
            writeTextAtomic(
                root / SWEEP_DIR / variant.name / SWEEP_FILE,
                json.dumps(variant.describe(varying), indent=1),
            )
            vplan = replace(plan, pipeline=_subPipeline(variant.pipeline, varying))
            defineOutputTypes(vplan, vb)
            replaced |= {variantLabel(x, variant.name) for x in storeProvenance(vplan, vb)}
            butlers.update({variantLabel(x, variant.name): vb for x in varying})
        done, reasons = doneQuanta(
            graph, butler, succeeded, replaced, lambda label: butlers.get(label, butler)
        )
        log.info(
            "sweep: %d variants, %d quanta (%d shared), %d done already, %d to run",
            len(variants),
            len(graph),
            sum(graph.count(x) for x in shared),
            len(done),
            len(graph) - len(done),
        )
        saveGraph(graph, root)
        queue = QuantumQueue(graph, done)
        _addPending(graph, butler, butlers, set(done))
        types = {
            row[0]: row for b in [butler, *butlers.values()] for row in b.runtimeDatasetTypes()
        }
        job = pipelineJob(plan, root, datasetTypes=types.values())
        state = SweepState(plan, butler, queue, [], butlers)
        status = drive(state, job, done, attempts, executor)
    for vb in {id(b): b for b in butlers.values()}.values():
        vb.close()
    butler.close()
    return status


def sweepDone(plan: RunPlan, butler: Any, varying: list[str], variants: list[Variant]) -> list:
    """What a sweep would skip, without writing anything (for ``--show graph``): quanta
    whose outputs exist, in the run's output or in a variant's that exists already."""
    from ..butler import Butler
    from ..butler.repository import isRepository
    from .record import previousQuanta
    from .resume import doneQuanta

    root = butler.outputRoot
    if not isRepository(root):
        return []
    butlers: dict[str, Any] = {}
    missing: set[str] = set()
    for variant in variants:
        folder = root / SWEEP_DIR / variant.name
        labels = [variantLabel(x, variant.name) for x in varying]
        if isRepository(folder):
            vb = Butler(str(root), output=str(folder), calib=plan.calib, registryWrites=False)
            butlers.update(dict.fromkeys(labels, vb))
        else:
            missing.update(labels)
    succeeded = previousQuanta(root, plan.runName)[1]
    done, _ = doneQuanta(
        plan.graph, butler, succeeded, missing, lambda label: butlers.get(label, butler)
    )
    for vb in {id(b): b for b in butlers.values()}.values():
        vb.close()
    return done


def _addPending(graph: Any, butler: Any, butlers: dict, done: set) -> None:
    """Record every output the run may write as pending, in the output that gets it."""
    rows: dict[int, tuple[Any, list]] = {}
    for label, task in graph.tasks.items():
        target = butlers.get(label, butler)
        types = [target.getDatasetType(c.datasetType) for c in task.connections.outputs]
        if not types:
            continue
        _, found = rows.setdefault(id(target), (target, []))
        for i in range(graph.count(label)):
            if (label, i) not in done:
                dataId = graph.dataId(label, i)
                found.extend((t.name, dataId, t.path(dataId)) for t in types)
    for target, found in rows.values():
        target.output.registry.addPendingMany(found, owner())
