"""The test-only pipeline tasks of ``tests/plugins/pipetask_pipetest.py``, as a plugin.

``registerInProcess()`` adds them to this process's plugin catalog (for tests of the
Python API); ``pluginEnv(root)`` is an environment in which a ``pipetask`` subprocess
finds them as an installed plugin (a ``.dist-info`` record in ``root`` on PYTHONPATH).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

PLUGIN_DIR = Path(__file__).resolve().parent / "plugins"


def registerInProcess() -> None:
    """Make the ``pt*`` tasks known to this process's catalog (idempotent)."""
    if str(PLUGIN_DIR) not in sys.path:
        sys.path.insert(0, str(PLUGIN_DIR))
    import pipetask_pipetest
    from pipetask.plugins import catalog, get_plugin_manager

    pm = get_plugin_manager()  # other tests may have made a fresh one: check every time
    if not pm.is_registered(pipetask_pipetest):
        pm.register(pipetask_pipetest, name="pipetask_pipetest")
    if "ptCopy" not in catalog().items["task"]:
        catalog.cache_clear()


def pluginEnv(root: Path) -> dict[str, str]:
    """An environment whose ``pipetask`` commands see the ``pt*`` tasks."""
    info = root / "pipetask_pipetest-0.1.dist-info"
    info.mkdir(parents=True, exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: pipetask-pipetest\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[pipetask]\npipetest = pipetask_pipetest\n")
    paths = [str(root), str(PLUGIN_DIR), os.environ.get("PYTHONPATH", "")]
    return dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, paths)))


def makeRegistryRepo(root: Path, visits: int, ccds: int, biasCcds: list[int] | None = None):
    """A ``synth`` repository whose registry lists raws (rows only, no files), and a
    calib repository ``<root>-calib`` listing ``bias`` for ``biasCcds``."""
    from pipetask import Butler
    from pipetask.butler.repository import Repository

    Repository.create(root, "synth")
    butler = Butler(root)
    template = butler.getDatasetType("raw").template
    rows = [(v, c) for v in range(1, visits + 1) for c in range(ccds)]
    butler.output.registry.insertMany("raw", rows, lambda r: template.format(visit=r[0], ccd=r[1]))
    butler.close()
    calib = root.parent / f"{root.name}-calib"
    Repository.create(calib, "synth")
    if biasCcds:
        butler = Butler(calib)
        biasTemplate = butler.getDatasetType("bias").template
        butler.output.registry.insertMany(
            "bias", [(None, c) for c in biasCcds], lambda r: biasTemplate.format(ccd=r[1])
        )
        butler.close()
    return root, calib
