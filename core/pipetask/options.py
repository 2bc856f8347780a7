"""``RunOptions``: everything ``pipetask run`` was asked to do, independent of argparse.

The CLI makes one from its arguments; :mod:`pipetask.runner` and
:mod:`pipetask.run_pipeline` turn it into a run plan, below which no options travel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class RunOptions:
    """Everything ``pipetask run`` was asked to do, independent of argparse."""

    task: str
    repo: str | None = None
    pipeline: str | None = None
    ids: list[list[str]] | None = None
    output: str | None = None
    calib: str | None = None
    file: list[str] | None = None
    overrides: list[tuple[str, str]] = field(default_factory=list)
    clobberConfig: bool = False
    noBackupConfig: bool = False
    noVersions: bool = False
    show: list[str] = field(default_factory=list)
    debug: bool = False
    debugFile: str | None = None
    doraise: bool = False
    logLevels: list[str] = field(default_factory=list)
    logFormat: str = "console"
    logFile: str | None = None
    processes: int = 1
    executor: str | None = None
    scheduler: str | None = None
    timeout: float | None = None
    skipExisting: bool = False
    clobberVersions: bool = False
    clobberOutput: bool = False
    profile: str | None = None
    sweeps: list[str] = field(default_factory=list)
    sweepZip: bool = False

    @classmethod
    def fromArgs(cls, args: Any) -> RunOptions:
        """Options from the ``pipetask run`` argparse namespace."""
        logFormat = args.log_format or ("long" if args.longlog else "console")
        return cls(
            task=args.task or "",
            repo=args.repo,
            pipeline=getattr(args, "pipeline", None),
            ids=args.ids,
            output=args.output,
            calib=args.calib,
            file=args.file,
            overrides=list(args.overrides or []),
            clobberConfig=args.clobber_config,
            noBackupConfig=args.no_backup_config,
            noVersions=args.no_versions,
            show=[item for group in (args.show or []) for item in group],
            debug=args.debug or bool(args.debug_file),
            debugFile=args.debug_file,
            doraise=args.doraise,
            logLevels=[level for group in args.logLevels for level in group],
            logFormat=logFormat,
            logFile=args.log_file,
            processes=args.processes,
            executor=args.executor,
            scheduler=args.scheduler,
            timeout=args.timeout,
            skipExisting=args.skip_existing,
            clobberVersions=getattr(args, "clobber_versions", False),
            clobberOutput=getattr(args, "clobber_output", False),
            profile=getattr(args, "profile", None),
            sweeps=list(getattr(args, "sweeps", None) or []),
            sweepZip=getattr(args, "sweep_zip", False),
        )
