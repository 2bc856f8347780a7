"""``pipetask``: the command-line entry point.

Each subcommand lives in its own module of this package, which defines
``register(subparsers)`` (adds its parser, with ``set_defaults(handler=run)``) and
``run(args) -> int``. Modules keep heavy imports inside ``run`` so that ``--help`` is fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from ..errors import PipetaskError

#: Subcommand modules, in the order ``--help`` lists them.
SUBCOMMANDS = ("run", "ingest", "ingestCalibs", "list", "help", "report")

EXIT_USAGE = 2


class ArgumentParser(argparse.ArgumentParser):
    """argparse with one-line errors, exit status 2, and no option abbreviations."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str):  # noqa: D102 - argparse API
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")

    def _get_formatter(self) -> argparse.HelpFormatter:
        # argparse sizes its formatter with shutil.get_terminal_size, and makes one for
        # every add_argument: importing shutil (and zlib, bz2, lzma) costs each start.
        return self.formatter_class(prog=self.prog, width=terminalColumns() - 2)


def terminalColumns() -> int:
    """The terminal's width as ``shutil.get_terminal_size().columns`` gives it: ``COLUMNS``
    when set to a positive number, else the width of standard output's terminal, else 80."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns if columns > 0 else 80


def build_parser(only: str | None = None) -> ArgumentParser:
    """The ``pipetask`` parser with every available subcommand, or with ``only`` that one.

    A command names its subcommand first; registering the others too (their modules,
    options and help texts) would only cost start-up time.
    """
    parser = ArgumentParser(
        prog="pipetask",
        description="Run astronomical processing tasks over data repositories.",
        epilog="Run 'pipetask COMMAND --help' for the options of one command.",
    )
    subparsers = parser.add_subparsers(
        title="commands", metavar="COMMAND", parser_class=ArgumentParser
    )
    for name in SUBCOMMANDS if only is None else (only,):
        moduleName = f"{__package__}.{name}_cmd"
        try:
            module = importlib.import_module(moduleName)
        except ModuleNotFoundError as exc:
            if exc.name != moduleName:
                raise  # the subcommand exists but is broken: do not hide it
            continue
        module.register(subparsers)
    for command in subparsers.choices.values():
        command.set_defaults(commandParser=command)  # its own usage for its errors
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run ``pipetask`` with ``argv`` and return the exit status."""
    if argv is None:
        argv = sys.argv[1:]
    first = argv[0] if argv else None
    parser = build_parser(first if first in SUBCOMMANDS else None)
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        command = getattr(args, "commandParser", parser)
        command.error(f"unrecognized arguments: {' '.join(unknown)}")
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(handler(args) or 0)
    except PipetaskError as exc:
        print(f"pipetask: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("pipetask: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
