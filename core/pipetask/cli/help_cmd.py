"""``pipetask help TASK``: a task's purpose and every config field with its doc."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "help",
        help="show a task's config fields with their docs",
        description="Show what TASK does and every config field (type, default, doc).",
    )
    parser.add_argument("task", metavar="TASK", help="task name, as shown by 'pipetask list'")
    parser.set_defaults(handler=run)


def describeConfig(config) -> list[str]:
    """Two lines per field of ``config``: name, kind and default (or implementation), then
    its doc; nested configs and subtasks are followed by their own fields."""
    from ..config import walk
    from ..config.nested import targetPath
    from ..config.tomltext import tomlValue

    lines: list[str] = []
    for node in walk(config):
        if node.isNested:
            impl = "".join(f" -> {targetPath(target)}" for _, target in node.targets)
            lines.append(f"{node.path}  [{node.field.describe()}]{impl}")
        else:
            plain = node.plain
            shown = "None" if plain is None else tomlValue(plain)
            lines.append(f"{node.path}  [{node.field.describe()}] = {shown}")
        lines.append(f"    {node.doc}")
    return lines


def run(args: argparse.Namespace) -> int:
    from ..plugins import catalog, load

    desc = catalog().get("task", args.task)
    task = load(desc.target)
    import inspect

    doc = inspect.getdoc(task) or desc.summary
    print(f"{args.task} ({desc.target}, from {desc.distribution})")
    print()
    print(doc.strip())
    print()
    print("Config fields (set with -c NAME=VALUE or a -C TOML file):")
    for line in describeConfig(task.ConfigClass()):
        print(f"  {line}")
    return 0
