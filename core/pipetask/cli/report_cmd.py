"""``pipetask report REPO``: the recorded outcome of every data ID of past runs."""

from __future__ import annotations

import argparse
import os

TYPE_CHECKING = False  # not typing's: importing typing costs `pipetask --help` start-up
if TYPE_CHECKING:
    from typing import Any


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
    parser.add_argument(
        "--html",
        metavar="FILE",
        help="write a self-contained HTML report (outcomes, timings, memory, task graph, "
        "failures with rerun commands, thumbnails, config, sweep plots) to FILE; only the "
        "failures and the totals are printed",
    )
    parser.add_argument(
        "--sweep", action="store_true", help="the variants x metrics table of a sweep's outputs"
    )
    parser.add_argument("--csv", action="store_true", help="with --sweep: print CSV")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import gc

    gc.disable()  # reading a record builds ~10 objects per quantum and frees none of them:
    try:  # collecting meanwhile would only slow a large report down, several fold
        return _report(args)
    finally:
        gc.enable()


def _report(args: argparse.Namespace) -> int:
    import glob
    import sys
    from collections import Counter

    from ..dataid import formatDataId
    from ..errors import ButlerError
    from ..outcomes import FAILED, NOT_RUN, latestOutcomes, readRuns
    from ..setup import rootedPath

    repo = rootedPath(args.repo, "PIPE_OUTPUT_ROOT")
    if not os.path.isdir(repo):
        raise ButlerError(f"repository {repo!r} not found")
    if args.sweep or args.csv:
        from .sweep_report import report

        return report(repo, args.sweep, args.csv)
    try:
        runs = readRuns(repo, args.task)
    except OSError as exc:
        raise ButlerError(f"cannot read the run records of {repo}: {exc}") from None
    runsDir = os.path.join(repo, "runs", args.task or "*", "*.jsonl")
    for path in sorted(p for p in glob.glob(runsDir) if not os.path.isfile(p)):
        print(f"pipetask report: warning: skipped {path}: not a file", file=sys.stderr)
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
    html = _writeHtml(repo, args.html, None if args.task else runs) if args.html else None
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
    if html is not None and not args.task:  # the page's rows are the latest outcomes
        return _printFailures(html.quanta, unfinished)
    outcomes = []
    for record in runs:
        outcomes.extend([] if record.running() else record.notRun())
        outcomes.extend(record.outcomes)
    latest = latestOutcomes(outcomes)
    bad = 0
    for outcome in latest.values():
        bad += outcome.status in (FAILED, NOT_RUN)
        if (args.failed or args.html) and outcome.status != FAILED:
            continue  # with --html the page holds the detail: only failures are printed
        error = f"  {outcome.error}" if outcome.error else ""
        print(f"{outcome.task} {formatDataId(outcome.dataId)} {outcome.status}{error}")
    counts = Counter(r.status for r in latest.values())
    print("total: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    return _printEnd(bad, unfinished)


def _printEnd(bad: int, unfinished: dict) -> int:
    """The runs that did not finish; the exit status."""
    for record in filter(None, unfinished.values()):
        print(f"incomplete: {record.task} run {record.run} did not finish{_state(record)}")
    return 1 if bad or any(unfinished.values()) else 0


def _printFailures(rows: list, unfinished: dict) -> int:
    """With ``--html``: the failed quanta and the totals, from the page's rows."""
    from collections import Counter

    from ..dataid import formatDataId

    for row in rows:
        if row.status == "failed":
            error = f"  {row.error}" if row.error else ""
            print(f"{row.label} {formatDataId(row.dataId)} failed{error}")
    counts = Counter("ok" if row.status == "succeeded" else row.status for row in rows)
    print("total: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    return _printEnd(counts["failed"] + counts["not run"], unfinished)


def _state(record) -> str:
    """How a run ended, as a suffix: stopped, killed, still running."""
    if record.running():
        return " (still running)"
    if not record.finished:
        return " (it ended without recording its end: killed?)"
    stopped = (record.end or {}).get("stopped")
    return f" (stopped: {stopped})" if stopped else ""


def _writeHtml(repo: str, target: str, runs: list | None) -> Any:
    """Write the HTML report of ``repo`` to ``target`` (atomically) and say where."""
    from ..butler.atomic import writeTextAtomic
    from ..errors import ButlerError
    from ..report.from_record import buildReport
    from ..report.page import renderHtml

    report = buildReport(repo, runs=runs)
    html = renderHtml(report)
    directory = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(directory):
        raise ButlerError(f"--html {target}: directory {directory} does not exist")
    try:
        writeTextAtomic(target, html)
    except OSError as exc:
        raise ButlerError(f"--html {target}: cannot write: {exc.strerror or exc}") from None
    print(f"wrote the HTML report of {len(report.quanta)} quanta to {target}")
    return report
