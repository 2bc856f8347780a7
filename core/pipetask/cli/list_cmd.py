"""``pipetask list``: what the installed plugins provide, and which distribution provides it."""

from __future__ import annotations

import argparse
import sys

SECTIONS = (
    ("Command-line tasks (pipetask run TASK)", "task", "cmdline"),
    ("Statistics implementations", "task", "stats"),
    ("Other tasks", "task", ""),
    ("Pipelines (pipetask run -p NAME)", "pipeline", None),
    ("Cameras (obs packages)", "camera", None),
    ("Executors (--executor)", "executor", None),
    ("Storage formats", "format", None),
    ("Display backends", "display", None),
    ("Report thumbnails", "thumbnail", None),
    ("Report per-visit measures", "measure", None),
    ("Compiled kernels", "kernel", None),
)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "list",
        help="list installed tasks, cameras, executors and formats",
        description="List what the installed plugins provide, with the distribution of each. "
        "Exit status 1 if two plugins provide the same name.",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from ..plugins import catalog

    cat = catalog()
    for title, kind, subkind in SECTIONS:
        names = cat.names(kind, subkind)
        if not names:
            continue
        print(f"{title}:")
        width = max(len(n) for n in names)
        for name in names:
            item = cat.items[kind][name]
            print(f"  {name:<{width}}  {item.summary}  [{item.distribution}]")
        print()
    for message in cat.clashes.values():
        print(f"pipetask: error: name clash: {message}", file=sys.stderr)
    return 1 if cat.clashes else 0
