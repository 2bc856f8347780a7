"""The compiled loops of :mod:`pipetask_stats_numba.loops`, compiled once per installation.

The first process that needs them compiles them ahead of time with numba, in a child
process (the compiler's output is kept out of the run's log), into an ordinary extension
module, in a cache folder, under a name that changes with the source of the
loops, the Python, the numpy and the CPU (and ``$NUMBA_CPU_NAME``, which names another CPU
to compile for, as for numba's own cache). Every later process (every run, every worker)
loads that module in about a millisecond, without importing numba at all (importing numba
alone costs about half a second of CPU).

The cache folder is ``__pycache__`` beside this file, or ``$NUMBA_CACHE_DIR/pipetask``
when that variable is set, or ``~/.cache/pipetask`` (``$XDG_CACHE_HOME``) when the first
is not writable. The module is built in a temporary folder and renamed into place, under
a lock: a process that finds another one building uses the numpy kernel meanwhile (the same
bits) instead of waiting or building it again.

The ahead-of-time build needs a C compiler and linker (numba's ``pycc`` links the code
with a small C module). Without one, or without a writable cache folder, the loops are
compiled by numba's just-in-time compiler instead, with numba's own on-disk cache: the
same bits, but each process then imports numba. A failed build is remembered in the cache
folder (a ``.failed`` file), so that it is not retried by every process.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.machinery
import importlib.util
import logging
import os
import shutil
import sys
import sysconfig
import tempfile
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

#: Name of the built extension module (its ``PyInit_`` function).
MODULE = "_pipetask_stats_loops"
_HERE = Path(__file__).resolve().parent
_SUFFIX = sysconfig.get_config_var("EXT_SUFFIX") or ".so"


def _cpu() -> str:
    """The CPU model and features: the built module is compiled for this CPU."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as info:
            lines = [line for line in info if line.startswith(("model name", "flags"))]
        return "".join(sorted(set(lines)))
    except OSError:
        import platform

        return platform.processor() + platform.machine()


def targetCpu() -> str:
    """The CPU the module is compiled for: this one (``host``), unless numba's own
    ``NUMBA_CPU_NAME`` names another (e.g. ``generic``, for a module that runs on any CPU
    of this architecture, or under valgrind, which knows no AVX-512)."""
    return os.environ.get("NUMBA_CPU_NAME") or "host"


def cacheKey() -> str:
    """What the built module depends on, hashed: the loops' source, Python, numpy, CPU
    and the CPU compiled for."""
    digest = hashlib.sha256()
    for part in (
        (_HERE / "loops.py").read_bytes(),
        (_HERE / "native.py").read_bytes(),
        sys.version.encode(),
        np.__version__.encode(),
        _cpu().encode(),
        targetCpu().encode(),
    ):
        digest.update(part)
        digest.update(b"\0")
    return digest.hexdigest()[:20]


def _writable(folder: Path) -> bool:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(folder, os.W_OK | os.X_OK)


def cacheFolders() -> list[Path]:
    """The cache folders, in the order they are tried."""
    environ = os.environ.get("NUMBA_CACHE_DIR")
    if environ:
        return [Path(environ) / "pipetask"]
    user = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return [_HERE / "__pycache__", Path(user) / "pipetask"]


def _load(path: Path) -> ModuleType:
    loader = importlib.machinery.ExtensionFileLoader(MODULE, str(path))
    spec = importlib.util.spec_from_file_location(MODULE, path, loader=loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def _compile(folder: Path, key: str, work: Path) -> Path:
    """Compile the loops ahead of time in the empty folder ``work`` (which the caller
    removes), then rename the module into ``folder`` (in this process); its path."""
    import warnings

    from . import loops

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pycc's pending deprecation
        from numba.pycc import CC

    target = folder / f"{MODULE}-{key}{_SUFFIX}"
    cc = CC(MODULE)
    cc.output_dir = str(work)
    cc.output_file = MODULE + _SUFFIX
    cc.target_cpu = targetCpu()
    for name, (function, signature) in loops.EXPORTS.items():
        cc.export(name, signature)(function)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cc.compile()
    os.replace(work / cc.output_file, target)
    return target


def build(folder: Path, key: str) -> Path:
    """Compile the loops ahead of time into ``folder`` in a child process (so the
    compiler's output and numba's import stay out of this one); the module's path."""
    import subprocess

    log.info(
        "compiling the statistics kernel once for this installation (up to a minute); "
        "other processes use the numpy kernel meanwhile (the same results)"
    )
    # The build folder is made and removed here: LLVM may abort the child (e.g. for a
    # NUMBA_CPU_NAME it does not know), which then cleans up nothing.
    work = Path(tempfile.mkdtemp(prefix="build-", dir=folder))
    try:
        child = subprocess.run(
            [sys.executable, "-m", __name__, str(folder), key, str(work)],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    target = folder / f"{MODULE}-{key}{_SUFFIX}"
    if child.returncode != 0 or not target.exists():
        lines = [line for line in child.stderr.splitlines() if line.strip()]
        why = lines[-1] if lines else f"exit status {child.returncode}"
        if targetCpu() != "host":
            why = f"{why} (compiling for NUMBA_CPU_NAME={targetCpu()!r})"
        raise RuntimeError(why)
    return target


@contextlib.contextmanager
def _buildLock(folder: Path, key: str) -> Iterator[bool]:
    """Hold the build lock of ``key`` in ``folder``; yields False when another process
    holds it (it is building the module now)."""
    import fcntl

    try:
        fd = os.open(folder / f"{MODULE}-{key}.lock", os.O_RDWR | os.O_CREAT, 0o666)
    except OSError:
        yield True  # no lock file possible: build anyway (the rename keeps it safe)
        return
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


class _JitLoops:
    """The loops compiled by numba's just-in-time compiler (with numba's disk cache)."""

    def __init__(self) -> None:
        from numba import njit

        from . import loops

        self.cached = True
        for name, (function, _) in loops.EXPORTS.items():
            setattr(self, name, self._compile(njit, function))

    def _compile(self, njit: Any, function: Any) -> Any:
        try:
            return njit(cache=True, nogil=True)(function)
        except RuntimeError:  # numba: "cannot cache function ...: no locator available"
            self.cached = False
            return njit(nogil=True)(function)


def _remember(path: Path, text: str) -> None:
    """Write ``path`` under a temporary name, then rename it (best effort)."""
    temporary = None
    try:
        with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False) as file:
            temporary = file.name
            file.write(text)
        os.replace(temporary, path)
    except OSError:
        if temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(temporary)


def jitLoops() -> Any:
    """The loops compiled just in time (the fallback; also for tests)."""
    return _JitLoops()


def compiledLoops() -> tuple[Any, str]:
    """The compiled loops and how they were obtained: ``"ahead-of-time, loaded"``,
    ``"ahead-of-time, built"`` or ``"just-in-time"`` (see the module docstring); no loops
    (``None``) while another process builds them: the caller then uses the numpy kernel."""
    key = cacheKey()
    name = f"{MODULE}-{key}{_SUFFIX}"
    folders = cacheFolders()
    for folder in folders:
        path = folder / name
        if path.exists():
            try:
                return _load(path), "ahead-of-time, loaded"
            except ImportError as error:  # a corrupt or foreign file: build again below
                log.debug("cannot load %s: %s", path, error)
    for folder in folders:
        if not _writable(folder):
            continue
        failed = folder / f"{MODULE}-{key}.failed"
        if failed.exists():
            break
        with _buildLock(folder, key) as mine:
            if not mine:
                return None, "being built by another process: numpy meanwhile"
            path = folder / name
            try:
                module = _load(path) if path.exists() else _load(build(folder, key))
                return module, "ahead-of-time, built"
            except Exception as error:  # no compiler, linker or headers: remember, fall back
                log.warning(
                    "compiled statistics kernel: the ahead-of-time build failed (%s); "
                    "using numba's just-in-time compiler in each process",
                    str(error).splitlines()[0] if str(error) else type(error).__name__,
                )
                _remember(failed, f"{type(error).__name__}: {error}\n")
        break
    return jitLoops(), "just-in-time"


if __name__ == "__main__":  # the child process of build()
    _compile(Path(sys.argv[1]), sys.argv[2], Path(sys.argv[3]))
