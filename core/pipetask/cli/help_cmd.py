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


def describeConfig(config, prefix: str = "") -> list[str]:
    """One entry per field of ``config`` (recursing into subtasks and nested configs)."""
    from ..config.toml_io import tomlValue

    lines: list[str] = []
    for name, field in config._fields.items():
        full = prefix + name
        child = getattr(field, "childConfig", None)
        if child is not None:
            target = getattr(config._storage[name], "target", None)
            impl = f" -> {target.__module__}:{target.__qualname__}" if target else ""
            lines.append(f"{full}  [{field.describe()}]{impl}")
            lines.append(f"    {field.doc}")
            if hasattr(config._storage[name], "_selection"):
                continue
            lines.extend(describeConfig(child(config), full + "."))
            continue
        value = config._storage[name]
        shown = "None" if value is None else tomlValue(field.toPlain(value))
        lines.append(f"{full}  [{field.describe()}] = {shown}")
        lines.append(f"    {field.doc}")
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
