"""``pipetask report REPO``: the recorded outcome of every data ID of past runs."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report",
        help="list the outcome of every data ID of past runs in a repository",
        description="List the latest outcome (ok, failed with its error, skipped, or not "
        "run: selected by a run that stopped before it) of every data ID that runs wrote "
        "into REPO. Exit status 1 if any latest outcome failed or was not run, or if the "
        "latest run of a task did not finish.",
    )
    parser.add_argument("repo", metavar="REPO", help="output repository of earlier runs")
    parser.add_argument("--task", metavar="TASK", help="only this task")
    parser.add_argument("--failed", action="store_true", help="only data IDs that failed")
    parser.add_argument("--runs", action="store_true", help="one line per run instead")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import os
    import sys
    from collections import Counter

    from ..dataid import formatDataId
    from ..errors import ButlerError
    from ..outcomes import FAILED, NOT_RUN, latestOutcomes, readRuns
    from ..runner import rootedPath

    repo = rootedPath(args.repo, "PIPE_OUTPUT_ROOT")
    if not os.path.isdir(repo):
        raise ButlerError(f"repository {repo!r} not found")
    try:
        runs = readRuns(repo, args.task)
    except OSError as exc:
        raise ButlerError(f"cannot read the run records of {repo}: {exc}") from None
    for record in runs:
        if record.badLines:
            print(
                f"pipetask report: warning: skipped {record.badLines} unreadable "
                f"line{'s' if record.badLines > 1 else ''} of {record.path}",
                file=sys.stderr,
            )
    if not runs:
        print(f"no runs recorded in {args.repo}")
        return 0
    unfinished = {}
    for record in runs:  # the latest run of each task decides
        unfinished[record.task] = None if record.finished or record.running() else record
    if args.runs:
        for record in runs:
            counts = Counter(o.status for o in record.outcomes)
            notRun = [] if record.running() else record.notRun()
            counts.update({NOT_RUN: len(notRun)} if notRun else {})
            text = ", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no outcomes"
            print(f"{record.task} {record.run}: {text}{_state(record)}")
        return 1 if any(unfinished.values()) else 0
    outcomes = []
    for record in runs:
        outcomes.extend([] if record.running() else record.notRun())
        outcomes.extend(record.outcomes)
    latest = latestOutcomes(outcomes)
    bad = 0
    for outcome in latest.values():
        bad += outcome.status in (FAILED, NOT_RUN)
        if args.failed and outcome.status != FAILED:
            continue
        error = f"  {outcome.error}" if outcome.error else ""
        print(f"{outcome.task} {formatDataId(outcome.dataId)} {outcome.status}{error}")
    counts = Counter(r.status for r in latest.values())
    print("total: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    for record in filter(None, unfinished.values()):
        print(f"incomplete: {record.task} run {record.run} did not finish{_state(record)}")
    return 1 if bad or any(unfinished.values()) else 0


def _state(record) -> str:
    """How a run ended, as a suffix: stopped, killed, still running."""
    if record.running():
        return " (still running)"
    if not record.finished:
        return " (it ended without recording its end: killed?)"
    stopped = (record.end or {}).get("stopped")
    return f" (stopped: {stopped})" if stopped else ""
