"""``pipetask report REPO``: the recorded outcome of every data ID of past runs."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "report",
        help="list the outcome of every data ID of past runs in a repository",
        description="List the latest outcome (ok, failed with its error, skipped) of every "
        "data ID that runs wrote into REPO. Exit status 1 if any latest outcome failed.",
    )
    parser.add_argument("repo", metavar="REPO", help="output repository of earlier runs")
    parser.add_argument("--task", metavar="TASK", help="only this task")
    parser.add_argument("--failed", action="store_true", help="only data IDs that failed")
    parser.add_argument("--runs", action="store_true", help="one line per run instead")
    parser.add_argument(
        "--sweep", action="store_true", help="the variants x metrics table of a sweep's outputs"
    )
    parser.add_argument("--csv", action="store_true", help="with --sweep: print CSV")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import os
    from collections import Counter

    from ..dataid import formatDataId
    from ..errors import ButlerError
    from ..outcomes import latestOutcomes, readOutcomes
    from ..runner import rootedPath

    repo = rootedPath(args.repo, "PIPE_OUTPUT_ROOT")
    if not os.path.isdir(repo):
        raise ButlerError(f"repository {repo!r} not found")
    if args.sweep or args.csv:
        from .sweep_report import report

        return report(repo, args.sweep, args.csv)
    records = readOutcomes(repo, args.task)
    if not records:
        print(f"no runs recorded in {args.repo}")
        return 0
    if args.runs:
        perRun: dict[tuple[str, str], Counter] = {}
        for record in records:
            perRun.setdefault((record.task, record.run), Counter())[record.status] += 1
        for (task, runName), counts in perRun.items():
            print(f"{task} {runName}: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
        return 0
    latest = latestOutcomes(records)
    failed = 0
    for record in latest.values():
        failed += record.status == "failed"
        if args.failed and record.status != "failed":
            continue
        error = f"  {record.error}" if record.error else ""
        print(f"{record.task} {formatDataId(record.dataId)} {record.status}{error}")
    counts = Counter(r.status for r in latest.values())
    print("total: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    return 1 if failed else 0
