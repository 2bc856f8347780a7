"""The outcome of a work item whose task raised: one place for every worker."""

from __future__ import annotations

import logging
import traceback
from typing import Any

from ..errors import PipetaskError, TaskError, storageError
from .base import FAILED, Outcome

log = logging.getLogger("pipetask")


def failureOutcome(
    item: dict[str, Any],
    exc: Exception,
    where: str,
    outputRoot: Any,
    doraise: bool = False,
    extra: dict[str, Any] | None = None,
) -> Outcome:
    """The failed outcome of ``item`` (``where`` names it in the log line).

    A full disk or another storage failure is not the item's fault: one line naming the
    output, and ``extra["stopRun"]`` asks the runner to stop. ``TaskError`` and pipetask's
    own errors (a missing dataset, a bad file) say what is wrong in one line; anything else
    is unexpected and shows its traceback (with ``--doraise`` the runner prints it, once).
    """
    extra = {} if extra is None else extra
    storage = storageError(exc)
    if storage is not None:
        storage = f"{storage} (writing into {str(outputRoot)!r})"
        log.error("Failed on %s: %s", where, storage)
        extra["stopRun"] = storage
        return Outcome(item, FAILED, error=storage, extra=extra)
    expected = isinstance(exc, TaskError | PipetaskError)
    error = f"{type(exc).__name__}: {exc}"
    text = "".join(traceback.format_exception(exc))
    if doraise or (expected and not log.isEnabledFor(logging.DEBUG)):
        log.error("Failed on %s: %s", where, error)
    else:
        log.error("Failed on %s: %s\n%s", where, error, text.rstrip())
    keep = text if (doraise or not expected) else ""
    return Outcome(item, FAILED, error=error, traceback=keep, extra=extra)
