"""What a backend needs before it can run: its third-party library, named for the user."""

from __future__ import annotations

import importlib
from types import ModuleType

from pipetask import ConfigError

#: Import name -> the distribution a user installs to get it.
DISTRIBUTIONS = {
    "sep": "sep",
    "photutils": "photutils",
    "astroscrappy": "astroscrappy",
    "skimage": "scikit-image",
}


def requireLibrary(module: str, taskName: str) -> ModuleType:
    """Import ``module`` or raise a one-line error naming the distribution to install."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        top = module.partition(".")[0]
        dist = DISTRIBUTIONS.get(top, top)
        raise ConfigError(
            f"{taskName}: this backend needs the {dist!r} distribution, which is not "
            f"installed or cannot be imported ({exc}); install it with 'pip install {dist}' "
            f"(or 'pip install pipetask-processing[{dist}]'), or retarget the subtask"
        ) from None
