"""A test-only plugin of probe tasks, and helpers for tests that run ``pipetask``.

``probePluginEnv(root)`` writes the plugin (a module and its ``.dist-info`` with an entry
point in the ``pipetask`` group) into ``root`` and returns an environment whose
``PYTHONPATH`` holds it: the CLI and every worker, local or external, discover it like any
installed plugin, and nothing is installed into the environment.

- ``probeTask``: a data ID can kill its own process (``killWhen``) or hang (``hangWhen``);
- ``serialProbe``: the same, declaring that it cannot run in parallel;
- ``slowProbe``: sleeps ``seconds`` per data ID (``stubborn``: ignoring SIGTERM meanwhile)
  and then writes ``slowDone`` (one small JSON dataset), which ``--skip-existing`` looks at.
"""

from __future__ import annotations

import os
import signal
import textwrap
from pathlib import Path

PROBE_SOURCE = '''
"""Test-only tasks: a data ID can kill its own process or hang."""

import os
import signal
import time

from pipetask import Config, Field, Struct, Task
from pipetask.plugins import Description, hookimpl


class ProbeConfig(Config):
    killWhen = Field(doc="data ID (KEY=VALUE ...) that kills its process", dtype=str, default="")
    hangWhen = Field(doc="data ID (KEY=VALUE ...) that sleeps an hour", dtype=str, default="")


def _matches(spec, dataId):
    wanted = dict(token.split("=", 1) for token in spec.split())
    return bool(wanted) and all(str(dataId.get(k)) == v for k, v in wanted.items())


class ProbeTask(Task):
    ConfigClass = ProbeConfig
    _DefaultName = "probeTask"
    storeConfig = False
    storeMetadata = False

    def runDataRef(self, dataRef):
        self.log.info("Probing data ID %s in process %d", dataRef.dataId, os.getpid())
        if _matches(self.config.killWhen, dataRef.dataId):
            time.sleep(0.5)
            os.kill(os.getpid(), signal.SIGKILL)
        if _matches(self.config.hangWhen, dataRef.dataId):
            time.sleep(3600)
        return Struct(pid=os.getpid())


class SerialProbeTask(ProbeTask):
    """A probe that declares it cannot run in parallel."""
    _DefaultName = "serialProbe"
    canMultiprocess = False


class SlowConfig(Config):
    seconds = Field(doc="seconds of sleep per data ID", dtype=float, default=1.0)
    stubborn = Field(doc="ignore SIGTERM while sleeping (a worker slow to stop)", dtype=bool,
                     default=False)


class SlowTask(Task):
    """Sleeps, then writes slowDone: what --skip-existing looks at."""
    ConfigClass = SlowConfig
    _DefaultName = "slowProbe"
    storeConfig = False
    outputDatasetTypes = ("slowDone",)

    def runDataRef(self, dataRef):
        self.log.info("Sleeping on data ID %s in process %d", dataRef.dataId, os.getpid())
        if self.config.stubborn:
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
        time.sleep(self.config.seconds)
        if self.config.stubborn:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})
        dataRef.put({"seconds": self.config.seconds}, "slowDone")
        return Struct()


@hookimpl
def pipetask_tasks():
    return [
        Description("probeTask", "pipetask_probe:ProbeTask", "test probe", kind="cmdline"),
        Description("serialProbe", "pipetask_probe:SerialProbeTask", "serial probe",
                    kind="cmdline"),
        Description("slowProbe", "pipetask_probe:SlowTask", "slow test probe", kind="cmdline"),
    ]
'''


def probePluginEnv(root: Path) -> dict[str, str]:
    """Write the probe plugin into ``root``; the environment of a command that sees it."""
    (root / "pipetask_probe.py").write_text(textwrap.dedent(PROBE_SOURCE))
    info = root / "pipetask_probe-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: pipetask-probe\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[pipetask]\nprobe = pipetask_probe\n")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(root), env.get("PYTHONPATH")]))
    return env


def sigintDefault() -> None:
    """``preexec_fn`` of a child that a test will send SIGINT: a child started from a
    non-interactive shell's background job inherits SIGINT ignored, and Python then
    never turns it into ``KeyboardInterrupt``; the child gets the default back."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
