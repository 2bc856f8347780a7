"""A picklable executor job whose items log two lines each (for the Dask executor's tests).

Found by the Dask workers through the test process's ``sys.path``, which the process they
are forked from inherits.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field

from pipetask.execution.base import OK, Outcome
from pipetask.logs import dataIdContext

#: The logger the items log through.
LOGGER = "logjob"


@dataclass
class LoggingJob:
    """Each item ``{"i": n}`` logs ``first of n`` then ``second of n``, labelled with it."""

    key: str = field(default_factory=lambda: uuid.uuid4().hex)

    def makeWorker(self) -> LoggingWorker:
        return LoggingWorker(self)


@dataclass
class LoggingWorker:
    job: LoggingJob

    def process(self, item: dict) -> Outcome:
        log = logging.getLogger(LOGGER)
        with dataIdContext(item):
            log.info("first of %d", item["i"])
            log.warning("second of %d", item["i"])
        return Outcome(item, OK)
