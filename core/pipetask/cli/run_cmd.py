"""``pipetask run TASK REPO [options]``: run a command-line task over a repository."""

from __future__ import annotations

import argparse
import math

from . import run_options

EPILOG = """\
--id grammar: KEY=VALUE tokens; VALUE is 3, g, 1^3 (or), 1..3 (inclusive range),
1..9:2 (range with step) or 1..3^7; commas are literal. Keys in one --id AND together;
several --id options select the union. --id with no tokens selects everything; without
any --id nothing is processed.

-c NAME=VALUE: VALUE is a TOML value (10, true, ["EDGE", "NO_DATA"], "text"); a bare
word is accepted for a string field, True or False for a bool field. Retarget a subtask
with NAME._target=TASK.
Overrides apply in this order: field defaults, the camera's config/<task>.toml then
config/<camera>/<task>.toml, then every -C file and -c value from left to right.

@FILE reads more options from FILE (one or more a line, # starts a comment).

Exit status: 0 all data IDs succeeded; N (at most 100) when N data IDs failed; 2 for a
bad command line, config, repository, or a refused config comparison; 130 if
interrupted. Relative repository paths are taken under $PIPE_INPUT_ROOT,
$PIPE_OUTPUT_ROOT and $PIPE_CALIB_ROOT when set.
"""

SHOW_HELP = (
    "print and exit without processing: config[=PATTERN] (the effective config as TOML "
    "that -C accepts), history=PATTERN (where each value was set), data (one line per "
    "data ID), tasks (the subtask tree), pipeline (labels, connections, config changes), "
    "graph (every quantum, whether it runs and why); add 'run' to process afterwards"
)


class _OrderedOverride(argparse.Action):
    """Keep -c and -C values in one list, in command-line order."""

    def __call__(self, parser, namespace, values, option_string=None):
        overrides = list(getattr(namespace, "overrides", None) or [])
        kind = "file" if self.dest == "configFiles" else "value"
        overrides.extend((kind, value) for value in values)
        namespace.overrides = overrides


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run a command-line task over the data of a repository",
        description="Run TASK over the data IDs of repository REPO that the --id options "
        "select (or over one file with --file).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        fromfile_prefix_chars="@",
    )
    parser.convert_arg_line_to_args = run_options.argFileReader(parser)
    parser.add_argument(
        "task", metavar="TASK", nargs="?", help="task name (see 'pipetask list'); not with -p"
    )
    parser.add_argument("repo", metavar="REPO", nargs="?", help="input repository")
    parser.add_argument(
        "-p",
        "--pipeline",
        metavar="FILE[#SUBSET]",
        help="run a TOML pipeline file (or a subset, or labels L1,L2) instead of one TASK: "
        "pipetask run -p FILE REPO ...",
    )
    data = parser.add_argument_group("data")
    data.add_argument(
        "--id",
        dest="ids",
        action="append",
        nargs="*",
        metavar="KEY=VALUE",
        help="select data IDs (repeatable; see the grammar below)",
    )
    data.add_argument("--output", metavar="OUT", help="output repository (chains to REPO)")
    data.add_argument("--calib", metavar="CALIB", help="repository of calibration products")
    data.add_argument(
        "--file",
        action="append",
        metavar="PATH",
        help="run on a file, without a repository (repeatable)",
    )
    config = parser.add_argument_group("config")
    config.add_argument(
        "-c",
        "--config",
        dest="configValues",
        action=_OrderedOverride,
        nargs="+",
        metavar="[LABEL:]NAME=VALUE",
        help="config override (repeatable); with -p, prefix the label",
    )
    config.add_argument(
        "-C",
        "--config-file",
        "--configfile",
        dest="configFiles",
        action=_OrderedOverride,
        nargs="+",
        metavar="[LABEL:]FILE",
        help="TOML config override file (repeatable); with -p, prefix the label",
    )
    config.add_argument(
        "--clobber-config",
        action="store_true",
        help="replace a stored config (and package versions) that differ",
    )
    config.add_argument(
        "--no-backup-config",
        action="store_true",
        help="with --clobber-config, keep no backup of the replaced config",
    )
    config.add_argument(
        "--no-versions", action="store_true", help="neither store nor check package versions"
    )
    show = parser.add_argument_group("inspection and debugging")
    show.add_argument("--show", action="append", nargs="+", metavar="ITEM", help=SHOW_HELP)
    show.add_argument(
        "--debug",
        action="store_true",
        help="turn on debug variables from debug.toml or debug.py in the working directory "
        "(or a debug.py on $PYTHONPATH)",
    )
    show.add_argument("--debug-file", metavar="FILE", help="debug variables file (implies --debug)")
    show.add_argument(
        "--doraise",
        action="store_true",
        help="stop at the first failing data ID and show its traceback",
    )
    logs = parser.add_argument_group("logging")
    logs.add_argument(
        "-L",
        "--loglevel",
        dest="logLevels",
        action="append",
        nargs="+",
        default=[],
        metavar="[COMPONENT=]LEVEL",
        help="DEBUG, INFO, WARN or ERROR, globally or per component",
    )
    logs.add_argument("--longlog", action="store_true", help="time, level and location per line")
    logs.add_argument(
        "--log-format",
        choices=("console", "long", "json"),
        default=None,
        help="log line format (default console)",
    )
    logs.add_argument("--log-file", metavar="PATH", help="also write log lines to PATH")
    execution = parser.add_argument_group("execution")
    execution.add_argument(
        "-j",
        "--processes",
        type=_positiveInt,
        default=1,
        metavar="N",
        help="number of processes (default 1)",
    )
    execution.add_argument(
        "--executor", metavar="NAME", help="executor plugin (serial, process, ...)"
    )
    execution.add_argument(
        "--scheduler", metavar="ADDRESS", help="scheduler address for a cluster executor"
    )
    execution.add_argument(
        "--timeout",
        type=_positiveFloat,
        metavar="SECONDS",
        help="fail a data ID that runs longer than this",
    )
    execution.add_argument(
        "--skip-existing",
        action="store_true",
        help="resume: skip data IDs (quanta) whose outputs already exist, saying what is "
        "redone and why",
    )
    sweep = parser.add_argument_group("sweeps")
    sweep.add_argument(
        "--sweep",
        dest="sweeps",
        action="append",
        metavar="[LABEL:]FIELD=VALUES",
        help="run once per value: VALUES as in --id (3^5^10, 1..9:2) or a float range "
        "(2.0..4.0:0.5); several --sweep give every combination; each variant writes "
        "OUT/sweep/FIELD=VALUE; see docs/pipelines.md",
    )
    sweep.add_argument(
        "--sweep-zip",
        action="store_true",
        help="pair the n-th values of every --sweep instead of taking every combination",
    )
    run_options.addOptions(parser)
    parser.set_defaults(handler=run, overrides=[])


def _positiveInt(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


#: The longest --timeout, in seconds (a year): beyond it no system can wait.
MAX_TIMEOUT = 365 * 24 * 3600.0


def _positiveFloat(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be more than 0")
    if not math.isfinite(value) or value > MAX_TIMEOUT:
        raise argparse.ArgumentTypeError(
            f"{text!r} must be a finite number of seconds, at most {MAX_TIMEOUT:.0f} "
            f"(leave --timeout out for no timeout)"
        )
    return value


def run(args: argparse.Namespace) -> int:
    from ..options import RunOptions
    from ..runner import runTask

    _positionals(args)
    run_options.resolve(args)
    if args.sweep_zip and not args.sweeps:
        from ..errors import ConfigError

        raise ConfigError("--sweep-zip pairs the values of several --sweep options; none given")
    return runTask(RunOptions.fromArgs(args))


def _positionals(args: argparse.Namespace) -> None:
    """``run TASK REPO``, or ``run -p FILE REPO`` whose one positional is the repository."""
    from ..errors import ConfigError

    if args.pipeline:
        if args.repo is not None:
            raise ConfigError(
                f"with -p give REPO only, not a task and a repository ({args.task} {args.repo})"
            )
        args.task, args.repo = "", args.task
    elif not args.task:
        raise ConfigError(
            "the following arguments are required: TASK (pipetask run TASK REPO), or -p FILE "
            "for a pipeline"
        )
