"""Open a local HTML file in headless Chromium with the network cut off, and watch it.

A loopback proxy records every request the page makes (there must be none: the page is
self-contained); the browser's log is kept for console errors; a screenshot and the DOM
after scripts ran are returned. Chromium is Debian's ``chromium`` package (``.ci/run``
installs it); without it the test is skipped, and under ``CI=true`` it fails.
"""

from __future__ import annotations

import http.server
import os
import shutil
import socketserver
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest


def chromium() -> str:
    """Path of the Chromium binary, or skip (fail under CI) when it is not installed."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    message = "headless Chromium not installed (Debian package 'chromium')"
    if os.environ.get("CI") == "true":
        pytest.fail(message + "; .ci/run installs it")
    pytest.skip(message)


class _Recorder(http.server.BaseHTTPRequestHandler):
    requests: list[str] = []

    def _refuse(self) -> None:
        type(self).requests.append(f"{self.command} {self.path}")
        self.send_error(403)

    do_GET = do_POST = do_HEAD = do_CONNECT = _refuse  # noqa: N815

    def log_message(self, *args) -> None:  # quiet
        pass


@dataclass
class PageVisit:
    """What the browser did with the page."""

    dom: str
    screenshot: Path
    requests: list[str]
    log: str


_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--enable-logging=stderr",
    "--v=0",
]


def visit(page: Path, workDir: Path, size: tuple[int, int] = (1280, 2000)) -> PageVisit:
    """Load ``page`` from disk twice (DOM dump, screenshot) through a recording proxy."""
    binary = chromium()
    _Recorder.requests = []
    with socketserver.TCPServer(("127.0.0.1", 0), _Recorder) as proxy:
        threading.Thread(target=proxy.serve_forever, daemon=True).start()
        flags = [
            *_FLAGS,
            f"--proxy-server=127.0.0.1:{proxy.server_address[1]}",
            "--proxy-bypass-list=<-loopback>",
            f"--user-data-dir={workDir / 'profile'}",
            f"--window-size={size[0]},{size[1]}",
        ]
        url = page.resolve().as_uri()
        dom = subprocess.run(
            [binary, *flags, "--dump-dom", url], capture_output=True, text=True, timeout=120
        )
        shot = workDir / "page.png"
        picture = subprocess.run(
            [binary, *flags, f"--screenshot={shot}", url],
            capture_output=True,
            text=True,
            timeout=120,
        )
        proxy.shutdown()
    assert shot.is_file(), picture.stderr[-2000:]
    return PageVisit(dom.stdout, shot, list(_Recorder.requests), dom.stderr + picture.stderr)


#: Hosts Chromium itself contacts at start-up (clock, account and update checks), not the
#: page.
BROWSER_HOSTS = (
    "www.google.com",
    "accounts.google.com",
    "clients2.google.com",
    "update.googleapis.com",  # the component updater of newer builds, despite the flag
)


def pageRequests(requests: list[str]) -> list[str]:
    """The recorded requests that did not come from the browser's own start-up checks."""
    return [r for r in requests if not any(host in r for host in BROWSER_HOSTS)]


def consoleErrors(log: str) -> list[str]:
    """Lines of the browser log that report a page script error or console message."""
    return [
        line
        for line in log.splitlines()
        if "CONSOLE" in line or "Uncaught" in line or "SyntaxError" in line
    ]
