"""Read-only SQLite connections that wait out a writer's commit instead of failing.

A registry has one writer (the run's main process, or an ingest) and may have readers
that open it with ``mode=ro``. Before each read, SQLite checks for a *hot journal*: a
rollback journal that exists, starts with a valid header and whose database no connection
holds a RESERVED lock on. The check is not atomic: a writer that commits and begins its
next transaction between the reader's lock check and its read of the journal header makes
the journal look hot. A read-write connection then takes the exclusive lock, finds the
writer's lock and waits; a read-only one cannot roll back and fails at once with
``SQLITE_READONLY_ROLLBACK`` ("attempt to write a readonly database"). With
``journal_mode=PERSIST`` the journal is never deleted, so only that header read guards it.

:class:`ReadOnlyConnection` retries such a read: a live writer's journal stops looking hot
at once, while the journal of a writer that died mid-transaction stays hot until a
read-write connection rolls it back; after :data:`HOT_JOURNAL_SECONDS` that is reported
as one line naming the database.
"""

from __future__ import annotations

import os
import sqlite3
import time
import urllib.parse
from typing import Any

from ..errors import ButlerError

#: SQLITE_READONLY | (3 << 8): a read-only connection found a hot journal.
SQLITE_READONLY_ROLLBACK = 776
#: How long a read waits for a journal that looks hot to stop looking so.
HOT_JOURNAL_SECONDS = 5.0


class ReadOnlyConnection(sqlite3.Connection):
    """A ``mode=ro`` connection whose :meth:`execute` retries a false hot journal."""

    path = ""

    def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:  # type: ignore[override]
        deadline = 0.0
        pause = 0.001
        while True:
            try:
                return super().execute(sql, parameters)
            except sqlite3.OperationalError as exc:
                if getattr(exc, "sqlite_errorcode", None) != SQLITE_READONLY_ROLLBACK:
                    raise
                now = time.monotonic()
                deadline = deadline or now + HOT_JOURNAL_SECONDS
                if now >= deadline:
                    raise ButlerError(
                        f"{self.path} holds a transaction interrupted by a process that died; "
                        "it is rolled back by the next command that opens it for writing"
                    ) from None
                time.sleep(pause)
                pause = min(2 * pause, 0.05)


def connectReadOnly(path: str, timeout: float = 60.0, **kw: Any) -> sqlite3.Connection:
    """Open ``path`` read-only (``mode=ro``) as a :class:`ReadOnlyConnection`."""
    uri = "file:" + urllib.parse.quote(os.path.abspath(path)) + "?mode=ro"
    conn = sqlite3.connect(uri, uri=True, timeout=timeout, factory=ReadOnlyConnection, **kw)
    conn.path = path  # type: ignore[attr-defined]
    return conn
