"""The ``dask`` executor: data IDs as Dask tasks, on a local cluster or a real one.

Without a scheduler address the executor starts a ``LocalCluster`` on the loopback
interface with ``processes`` (``-j``) worker processes of one thread each, and shuts it
down when the run ends. The cluster starts in the background as soon as the executor is
made, while the command line builds the graph and the run writes its configs and opens
its record (:meth:`DaskExecutor.start` does not wait for it: :meth:`DaskExecutor.run`
does, before it hands out the first items); its workers are forked from one process
that imported what they need once (:func:`startForkServer`), and ignore Ctrl-C from
birth (it is the run's to handle). With ``--scheduler ADDRESS`` it connects to that
scheduler and leaves the cluster running.

Items (data IDs, or a pipeline's ready quanta) travel in batches: each Dask task
(:func:`pipetask_dask.worker.runBatch`) runs several items one after the other, so that
a run of many small items does not pay the scheduler's cost per task for each. The
first batches hold about a :data:`BATCHES_PER_WORKER`-th of each worker's share (at most
:data:`FIRST_BATCH` items); once outcomes come back, a batch holds about
:data:`BATCH_SECONDS` of work at the items' measured pace (at most :data:`MAX_BATCH`),
never more than that share unless it is under :data:`BALANCE_SECONDS` of work. At most
:data:`BATCHES_IN_FLIGHT` batches per worker are with the scheduler at once, so later
batches are sized from what was learnt. A batch is made of the items ready when it is
sent (a pipeline's queue may hold fewer). Each worker builds the task and the Butler
once and reuses them. Outcomes are fetched as batches complete, in Dask's callback
thread, while the main thread records the ones before. A worker sends a notice when it
starts a batch, so the client knows what each worker runs:

- a worker that dies while running a batch (killed, segfault, out of memory) has its
  batch's items sent again one per task, so that an item that kills its worker fails
  alone (Dask's ``KilledWorker``); a batch that was merely queued on it is sent again (at
  most :data:`RESUBMITS` times);
- with ``timeout``, items travel one per task; one running past ``timeout`` seconds
  fails with a ``TimeoutError``; its task is cancelled and its worker process stopped
  (Dask cannot stop a running thread); the worker's nanny starts a fresh one.

The log records of each item come back with its outcome, labelled with their data ID;
the parent's main thread hands them to its own log handlers just before the outcome (and
so cleanly around a progress bar). The local cluster's start and shutdown times are
logged apart from the run.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import logging
import os
import pickle
import queue
import signal
import socket
import sys
import threading
import time
import traceback
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from pipetask.errors import PipetaskError
from pipetask.execution.base import FAILED, Executor, Outcome, workSource
from pipetask.execution.job import Job
from pipetask.execution.stop import POLL_SECONDS, StopRequest
from pipetask.logs import currentLevels

from .worker import QUIET_LOGGERS, IgnoreInterrupts, exitWorker, killFromNanny, stopJob

log = logging.getLogger("pipetask.run")

#: Seconds to wait for the scheduler at ``--scheduler`` to answer.
CONNECT_TIMEOUT = 30.0
#: Times a data ID lost with a dying worker before it started is submitted again.
RESUBMITS = 2
#: Batches per worker handed to the scheduler at once (the rest wait in the client):
#: one running, the next ones queued on it while its outcomes travel back.
BATCHES_IN_FLIGHT = 3
#: Items in a first batch at most (the items' pace is not known yet), and in any batch.
FIRST_BATCH = 16
MAX_BATCH = 512
#: Seconds of work a batch aims at once the items' pace is known: long enough that the
#: scheduler's cost per task (a few milliseconds) is lost in it.
BATCH_SECONDS = 0.25
#: Seconds of work below which a batch is not cut smaller to balance the workers.
BALANCE_SECONDS = 0.05
#: Batches a worker's share of what is ready is cut into at least (balance at the end).
BATCHES_PER_WORKER = 4
#: Seconds without any news before the client checks that the cluster has workers.
QUIET_CHECK = 30.0
#: Seconds to wait for the result of a finished Dask task to arrive.
FETCH_TIMEOUT = 60.0
#: Seconds the client sleeps at most between looks at its deadlines.
TICK = 5.0
#: Settings of the local cluster: a worker holds the batch it runs and the next one (so
#: it never waits for the scheduler between two); a data ID that kills its worker fails
#: at once instead of killing three more (a batch only queued on it is sent again, see
#: :data:`RESUBMITS`); workers keep
#: glibc's adaptive allocator (Dask's fixed MALLOC_TRIM_THRESHOLD_ makes every large
#: array a fresh mmap: numpy-heavy tasks ran 1.7x slower) and skip the statistical
#: profiler, which only a dashboard would show; the scheduler, nannies and workers look
#: at their event loop's health every half second instead of every 20 ms, and sample
#: their process's resources every 2 s (disk counters and GIL contention not at all):
#: these only feed a dashboard, and each wake-up takes the CPU and the GIL from the
#: data IDs (two workers on two cores) and from the run's main thread. For the same
#: reason the nannies and workers check the workers' memory every second instead of ten
#: times a second, the scheduler runs no active memory manager (results are fetched at
#: once: there are no replicas to reduce) and the client does not poll the scheduler for
#: the information a notebook shows: together that halves the CPU the idle cluster
#: takes (from about 4% of a core to 2%), all of it taken from the data IDs.
LOCAL_CLUSTER_CONFIG = {
    "distributed.scheduler.allowed-failures": 0,
    "distributed.scheduler.worker-saturation": 2.0,
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "500ms",
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.admin.system-monitor.disk": False,
    "distributed.admin.system-monitor.gil.enabled": False,
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.scheduler.active-memory-manager.start": False,
    "distributed.client.scheduler-info-interval": "60s",
}


#: Every worker process of the local cluster ends when this process ends, however it ends
#: (see :func:`pipetask_dask.worker.dask_setup`); workers are forked from a server process
#: that imported :mod:`pipetask_dask.preload` once (see :func:`startForkServer`).
LOCAL_WORKER_PRELOAD = {
    "distributed.worker.preload": ["pipetask_dask.worker"],
    "distributed.worker.multiprocessing-method": "forkserver",
}
#: Modules the fork server imports once for every worker.
FORK_SERVER_PRELOAD = ["pipetask_dask.preload"]
#: Set in the fork server's environment (hence every worker's) unless already set: one
#: thread per numerical library in a one-thread worker (Dask's own defaults, which it
#: can only set at a worker's spawn).
WORKER_ENVIRONMENT = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
#: Seconds to wait at exit for a local cluster still starting (a run that never used it).
START_WAIT = 60.0
#: Seconds a stopped run waits for the data IDs already running to finish (a running
#: Dask task cannot be interrupted); those still running then end with the cluster.
STOP_GRACE = 5.0


class DaskExecutorError(PipetaskError):
    """The Dask cluster could not be started or reached."""


def _importQuietly() -> None:
    """Import Dask distributed, keeping its INFO chatter out of pipetask's output.

    Dask sets its loggers to INFO when imported; they go back to WARNING unless ``-L``
    already set a level for ``distributed``; without one, the local cluster's own
    warning that it "closed without starting up" is left out too, since the run reports
    the failed start itself, in one line. What the import made lives as long as the
    process: it is moved out of the garbage collector's sight (``gc.freeze``), so that
    neither the collections during the run nor the last one at exit walk through it
    again (that last one took about a quarter of a second).
    """
    if "distributed" in sys.modules:
        return
    logger = logging.Logger.manager.loggerDict.get("distributed")
    level = logger.level if type(logger) is logging.Logger else logging.NOTSET
    import distributed  # noqa: F401

    logging.getLogger("distributed").setLevel(level or logging.WARNING)
    if not level:
        logging.getLogger("distributed.deploy.spec").setLevel(logging.ERROR)
    gc.freeze()


def startForkServer() -> None:
    """Start the process that local workers are forked from (once per process).

    It imports :data:`FORK_SERVER_PRELOAD` once, so a worker starts without importing
    Dask and pipetask again, and the plugin modules this process has loaded by now (the
    run's tasks and their subtasks, with the libraries they import), so each worker does
    not import those again either; it ends with this process. It ignores Ctrl-C, and so
    do its workers (the run stops them in order): it starts with Ctrl-C held back (the
    signal mask is inherited), and the first module it imports ignores it and lets it
    through. In this process Ctrl-C is held back while the server is spawned, not
    ignored: one pressed at that moment arrives just after, and stops the run.
    """
    import multiprocessing
    from multiprocessing import forkserver, resource_tracker

    # The fork server starts multiprocessing's resource tracker first, which lets Ctrl-C
    # through again once started: started before Ctrl-C is held back, it is left as is.
    resource_tracker.ensure_running()
    preload = FORK_SERVER_PRELOAD + pluginModulesLoaded()
    log.debug("dask: local workers are forked from a process that imported %s", preload)
    multiprocessing.get_context("forkserver").set_forkserver_preload(preload)
    saved = {name: os.environ.get(name) for name in WORKER_ENVIRONMENT}
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        for name, value in WORKER_ENVIRONMENT.items():
            os.environ.setdefault(name, value)
        forkserver.ensure_running()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def stopForkServer() -> None:
    """End the fork server of the local workers at once (its workers are gone).

    SIGTERM ends it without the seconds-long teardown of an interpreter that imported
    Dask; a command whose output is piped then ends when ``pipetask`` does. A worker
    still alive ends with it (see :func:`pipetask_dask.worker.dask_setup`).
    """
    from multiprocessing import forkserver

    server = getattr(forkserver, "_forkserver", None)
    pid = getattr(server, "_forkserver_pid", None)
    if pid is None:
        return
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGTERM)
    with contextlib.suppress(Exception):
        server._stop()  # reaps it and forgets it: a later run starts a fresh one


def pluginModulesLoaded() -> list[str]:
    """The modules of installed pipetask plugins that this process has imported."""
    from pipetask.plugins import entryPoints

    try:
        packages = {
            target.partition(":")[0].partition(".")[0] for _, target, _ in entryPoints("pipetask")
        }
    except Exception:  # a broken plugin record: the run reports it itself
        return []
    packages.discard("pipetask")
    return sorted(name for name in list(sys.modules) if name.partition(".")[0] in packages)


def _probe(address: str) -> None:
    """Fail at once on a malformed address, an unknown scheme or a TCP port where
    nothing listens.

    Dask's client would retry a refused connection until its timeout, and a client built
    on a malformed address (or an unknown scheme) hangs for a minute when collected.
    """
    from distributed.comm import parse_address, parse_host_port
    from distributed.comm.registry import get_backend

    scheme, location = parse_address(address)
    get_backend(scheme)
    if scheme not in ("tcp", "tls"):
        return
    host, port = parse_host_port(location)
    if not port:
        raise ValueError(f"no port in address {address!r}")
    with socket.create_connection((host, port), timeout=CONNECT_TIMEOUT):
        pass


def _workerPlugin(cls: type) -> type:
    """``cls`` as a Dask ``WorkerPlugin`` (built here so the worker module stays light)."""
    from distributed import WorkerPlugin

    return type(cls.__name__, (cls, WorkerPlugin), {"__module__": cls.__module__})


def _emit(fields: dict[str, Any]) -> None:
    """Hand a log record shipped by a worker to this process's handlers."""
    record = logging.makeLogRecord(fields)
    logging.getLogger(record.name).handle(record)


def batchSize(items: int, workers: int, timeout: float | None, pace: float | None = None) -> int:
    """Items per Dask task, for ``items`` ready: at most a :data:`BATCHES_PER_WORKER`-th
    of a worker's share (unless that is under :data:`BALANCE_SECONDS` of work);
    :data:`BATCH_SECONDS` of work at ``pace`` (seconds per item, once known), else
    :data:`FIRST_BATCH`; one with a timeout (it applies to each item)."""
    if timeout:
        return 1
    share = -(-items // (max(1, workers) * BATCHES_PER_WORKER))
    if pace is None:
        return max(1, min(FIRST_BATCH, share))
    pace = max(pace, 1e-6)
    share = max(share, int(BALANCE_SECONDS / pace))
    return max(1, min(MAX_BATCH, int(BATCH_SECONDS / pace), share))


def _fetch(future: Any) -> Any:
    """The result of a Dask task that ended (unpickled), or its exception.

    Called in Dask's callback thread as each task ends, so results travel and are
    unpickled while the main thread records the outcomes that came before.
    """
    try:
        if future.status == "finished":
            return pickle.loads(future.result(timeout=FETCH_TIMEOUT))
        return future.exception(timeout=FETCH_TIMEOUT) or RuntimeError(
            f"the Dask task was {future.status}"
        )
    except BaseException as exc:  # cancelled, or its worker vanished meanwhile
        return exc


def _failed(dataId: dict[str, Any], error: str, **kwargs: Any) -> Outcome:
    log.error("Failed on dataId=%s: %s", dataId, error)
    return Outcome(dataId, FAILED, error=error, **kwargs)


class DaskExecutor(Executor):
    """Run data IDs as tasks of a Dask cluster.

    Parameters
    ----------
    processes : `int`
        Worker processes of the local cluster (``-j``); ignored with a scheduler.
    **options
        ``scheduler``: address of a running Dask scheduler (``--scheduler``);
        ``timeout``: seconds a data ID may run (``--timeout``).
    """

    name = "dask"
    supports = frozenset({"processes", "timeout", "scheduler"})

    def __init__(self, processes: int = 1, **options: Any) -> None:
        super().__init__(processes, **options)
        if options.get("scheduler") and self.processes > 1:
            raise DaskExecutorError(
                f"-j {self.processes} sizes a local Dask cluster; with --scheduler the "
                f"workers of that cluster run the data IDs: leave out -j or --scheduler"
            )
        self.client: Any = None
        self.cluster: Any = None
        self._restarts: list[threading.Thread] = []
        self._starting: threading.Thread | None = None
        self._startError: BaseException | None = None
        self._startSeconds = 0.0
        self._settings: Any = None
        self._workers = 0
        if options.get("scheduler"):
            self._inBackground(self._connectRemote)
        else:
            startForkServer()
            self._inBackground(self._startLocal)

    def _inBackground(self, start: Any) -> None:
        """Start the local cluster, or connect to the scheduler, in a thread while the
        command line builds the graph; :meth:`start` waits for it. A run that never
        starts is cleaned up at exit."""

        def begin() -> None:
            try:
                start()
            except BaseException as exc:  # reported by start()
                self._startError = exc

        self._starting = threading.Thread(target=begin, name="pipetask-dask-start", daemon=True)
        self._starting.start()
        atexit.register(self.close)

    def _connectRemote(self) -> None:
        begin = time.perf_counter()
        _importQuietly()
        from distributed import Client

        address = self.options["scheduler"]
        _probe(address)
        self.client = Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
        self._workers = len(self.client.nthreads())
        self._startSeconds = time.perf_counter() - begin

    def _startLocal(self) -> None:
        begin = time.perf_counter()
        _importQuietly()
        import dask
        from distributed import Client, LocalCluster

        # Kept for the cluster's life: a worker restarted by its nanny is forked too.
        self._settings = dask.config.set({**LOCAL_CLUSTER_CONFIG, **LOCAL_WORKER_PRELOAD})
        self.cluster = LocalCluster(
            n_workers=self.processes,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
            silence_logs=logging.CRITICAL,
        )
        client = Client(self.cluster, set_as_default=False)
        client.register_plugin(_workerPlugin(IgnoreInterrupts)())
        self.client = client
        self._startSeconds = time.perf_counter() - begin

    def start(self) -> None:
        """Reach the scheduler at ``--scheduler`` (one that does not answer is a set-up
        error, before anything is written). A local cluster goes on starting in the
        background while the run writes its configs and opens its record; :meth:`run`
        waits for it. Only a local start that has already failed is reported here."""
        if self.options.get("scheduler") or self._startError is not None:
            self.connect()

    def connect(self, stop: StopRequest | None = None) -> Any:
        """The ``distributed.Client`` of this executor, once connected or started; None
        if ``stop`` is requested while the start goes on."""
        if self._starting is not None:
            return self._waitForStart(stop)
        if self.client is None:
            raise DaskExecutorError("the Dask executor is closed")
        return self.client

    def _waitForStart(self, stop: StopRequest | None = None) -> Any:
        """The client, once the background start (or connection) is over; None if
        ``stop`` is requested first (:meth:`close` then waits for the start)."""
        starting = self._starting
        assert starting is not None
        begin = time.perf_counter()
        while starting.is_alive():
            if stop is not None and stop.requested:
                return None
            starting.join(timeout=POLL_SECONDS)
        self._starting = None
        waited = time.perf_counter() - begin
        error = self._startError
        address = self.options.get("scheduler")
        if address:
            if isinstance(error, (OSError, TimeoutError, ValueError)):
                self.close()
                raise DaskExecutorError(
                    f"cannot connect to the Dask scheduler at {address} (--scheduler): {error}"
                ) from None
            if error is not None:
                self.close()
                raise error
            log.info(
                "dask: scheduler %s with %d workers, connected in %.2f s (in the background; "
                "the run waited %.2f s)",
                address,
                self._workers,
                self._startSeconds,
                waited,
            )
            return self.client
        if error is not None or self.client is None:
            self.close()
            raise DaskExecutorError(f"cannot start a local Dask cluster: {error}") from None
        log.info(
            "dask: local cluster of %d worker processes at %s, started in %.2f s "
            "(in the background; the run waited %.2f s for it)",
            self.processes,
            self.cluster.scheduler_address,
            self._startSeconds,
            waited,
        )
        return self.client

    def run(self, job: Job, dataIds: Sequence[dict[str, Any]]) -> Iterator[Outcome]:
        if not dataIds:
            return
        try:
            client = self.connect(self.stop)  # a local cluster may still be starting
        except DaskExecutorError as exc:  # it failed after start(): the run ends, recorded
            self.stop.request(str(exc))
            return
        if client is None:
            return  # the run stopped before the cluster was up: nothing ran
        from distributed import KilledWorker

        from .worker import runBatch

        timeout = self.options.get("timeout") or None
        topic = f"pipetask-{job.key}"
        news: queue.Queue = queue.Queue()
        levels = currentLevels(skip=QUIET_LOGGERS)
        todo = workSource(dataIds)  # a list, or a pipeline's queue that grows as we go
        workers = self.processes if self.cluster is not None else len(client.nthreads())
        size = batchSize(len(todo), workers, timeout)
        window = max(2, workers * BATCHES_IN_FLIGHT)
        pace = [0.0, 0]  # seconds and count of the items run so far

        def onEvent(event: tuple[float, dict[str, Any]]) -> None:
            # Runs in the client's event loop: hand it to the main thread.
            message = event[1]
            if message.get("op") == "start":
                news.put(("start", message["batch"], message["attempt"], message["worker"]))

        batches: dict[int, list[int]] = {}  # batch number -> numbers of its items
        futures: dict[int, Any] = {}  # batch number -> future of its current attempt
        attempts: dict[int, int] = {}
        running: dict[int, tuple[str, float]] = {}  # batch number -> (worker, start time)
        held: dict[int, Any] = {}  # item number -> data ID (or quantum) handed out
        name = getattr(job, "taskName", "pipeline")

        def submit(number: int) -> None:
            attempt = attempts[number] = attempts.get(number, -1) + 1
            batch = [(index, held[index]) for index in batches[number]]
            batch = pickle.dumps(batch, protocol=pickle.HIGHEST_PROTOCOL)
            submitted = client.submit(
                runBatch,
                job,
                number,
                batch,
                attempt,
                topic,
                levels,
                key=f"{name}-{job.key[:12]}-{number}-{attempt}",
                pure=False,
            )
            futures[number] = submitted
            submitted.add_done_callback(lambda f: news.put(("done", number, attempt, _fetch(f))))

        def addBatch(indices: list[int]) -> None:
            number = len(batches)
            batches[number] = indices
            submit(number)

        def takeBatch() -> list[int]:
            indices: list[int] = []
            while len(indices) < size:
                work = todo.take()
                if work is None:
                    break
                held[work[0]] = work[1]
                indices.append(work[0])
            return indices

        log.debug("dask: %d items, up to %d per task", len(todo), size)
        client.subscribe_topic(topic, onEvent)
        lastNews = time.monotonic()
        stopBy: float | None = None
        try:
            while todo.more or futures:
                if self.stop.requested and stopBy is None:
                    # No worker starts another item of this run; those already running
                    # may still finish (and are then recorded) for a few seconds.
                    stopBy = time.monotonic() + STOP_GRACE
                    with contextlib.suppress(Exception):
                        client.run(stopJob, job.key, on_error="ignore")
                if stopBy is not None and (time.monotonic() > stopBy or not futures):
                    return
                while stopBy is None and len(futures) < window:
                    if pace[1]:
                        size = batchSize(len(todo), workers, timeout, pace[0] / pace[1])
                    indices = takeBatch()
                    if not indices:
                        break
                    addBatch(indices)
                if not futures:
                    break
                items = self._next(news, min(POLL_SECONDS, self._waitTime(running, timeout)))
                if items:
                    lastNews = time.monotonic()
                elif time.monotonic() - lastNews > QUIET_CHECK:
                    lastNews = time.monotonic()
                    self._checkWorkers(client, sum(len(batches[n]) for n in futures))
                finished = []
                for kind, number, attempt, payload in items:
                    if attempts.get(number) != attempt or number not in futures:
                        continue  # news of an attempt that is over
                    if kind == "start":
                        running[number] = (payload, time.monotonic())
                    else:
                        finished.append((number, payload))
                for number, result in finished:
                    started = running.pop(number, None)
                    del futures[number]
                    indices = batches[number]
                    if isinstance(result, BaseException):
                        if isinstance(result, KilledWorker) and stopBy is None:
                            if started is None and attempts[number] < RESUBMITS:
                                submit(number)  # it was only queued on the worker that died
                                continue
                            if len(indices) > 1:
                                for index in indices:  # find the item that kills workers
                                    addBatch([index])
                                continue
                        for index in indices:
                            yield self._failure(held.pop(index), result, started, KilledWorker)
                        continue
                    for index, outcome, records in result:
                        for fields in records:
                            _emit(fields)
                        held.pop(index, None)
                        if outcome is not None:  # None: the run stopped before it started
                            pace[0] += outcome.duration
                            pace[1] += 1
                            yield outcome
                yield from self._expire(running, futures, batches, held, timeout)
        finally:
            with contextlib.suppress(Exception):
                client.cancel(list(futures.values()), force=True)
            with contextlib.suppress(Exception):
                client.unsubscribe_topic(topic)

    @staticmethod
    def _next(news: queue.Queue, timeout: float) -> list[tuple]:
        """Every item of ``news``, waiting up to ``timeout`` seconds for the first."""
        try:
            items = [news.get(timeout=timeout)]
        except queue.Empty:
            return []
        while True:
            try:
                items.append(news.get_nowait())
            except queue.Empty:
                return items

    @staticmethod
    def _waitTime(running: dict[int, tuple[str, float]], timeout: float | None) -> float:
        if not timeout or not running:
            return TICK
        first = min(started for _, started in running.values())
        return min(TICK, max(0.0, first + timeout - time.monotonic()))

    @staticmethod
    def _failure(
        dataId: dict[str, Any],
        exc: BaseException,
        started: tuple[str, float] | None,
        killedType: type,
    ) -> Outcome:
        if isinstance(exc, killedType):
            lastWorker = getattr(getattr(exc, "last_worker", None), "address", None)
            where = (started and started[0]) or lastWorker or "unknown"
            error = f"WorkerDied: the Dask worker running it died ({where})"
            return _failed(dataId, error)
        error = f"{type(exc).__name__}: {exc}"
        text = "".join(traceback.format_exception(exc))
        return _failed(dataId, error, traceback=text)

    def _expire(
        self,
        running: dict[int, tuple[str, float]],
        futures: dict[int, Any],
        batches: Mapping[int, list[int]],
        held: dict[int, Any],
        timeout: float | None,
    ) -> Iterator[Outcome]:
        """Fail the items running past ``timeout`` (one per batch with a timeout); cancel
        them, restart their workers."""
        if not timeout:
            return
        now = time.monotonic()
        for number, (worker, started) in list(running.items()):
            if now - started <= timeout:
                continue
            del running[number]
            futures.pop(number).cancel(force=True)
            self._restart(worker)
            error = f"TimeoutError: no result after {timeout:g} s (--timeout); worker stopped"
            for index in batches[number]:
                yield _failed(held.pop(index), error, duration=now - started)

    def _restart(self, worker: str) -> None:
        """Stop ``worker``, whose thread still runs a data ID past the timeout.

        Dask cannot stop a running thread, so the worker process is stopped: by its nanny,
        which then starts a fresh one, or, without a nanny, from the worker's own event
        loop (which the stuck thread does not block).
        """

        def stop() -> None:
            try:  # through its nanny, which then starts a fresh worker
                self.client.run(killFromNanny, workers=[worker], nanny=True)
            except Exception:  # a worker without a nanny
                with contextlib.suppress(Exception):
                    self.client.run(exitWorker, workers=[worker], on_error="ignore")

        thread = threading.Thread(target=stop, name="pipetask-dask-stop", daemon=True)
        thread.start()
        self._restarts.append(thread)

    def _checkWorkers(self, client: Any, waiting: int) -> None:
        """Warn when data IDs wait and the cluster has no worker to run them."""
        try:
            workers = len(client.nthreads())
        except Exception as exc:
            log.warning("dask: the scheduler does not answer: %s", exc)
            return
        if workers == 0:
            log.warning(
                "dask: %d data IDs wait and no worker is connected to the scheduler %s",
                waiting,
                client.scheduler.address,
            )

    def close(self) -> None:
        """Disconnect, and shut a local cluster down (waiting for one still starting).

        Ctrl-C cannot cut the shutdown short (Dask's own waits would print tracebacks):
        outside a run's signal handling (at exit) it is ignored meanwhile.
        """
        atexit.unregister(self.close)
        default = signal.default_int_handler
        mainThread = threading.current_thread() is threading.main_thread()
        if mainThread and signal.getsignal(signal.SIGINT) is default:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            try:
                self._close()
            finally:
                signal.signal(signal.SIGINT, default)
        else:
            self._close()

    def _close(self) -> None:
        if self._starting is not None:
            self._starting.join(timeout=START_WAIT)
            self._starting = None
        for thread in self._restarts:
            thread.join(timeout=10)
        self._restarts.clear()
        client, cluster = self.client, self.cluster
        self.client = self.cluster = None
        if client is not None:
            with contextlib.suppress(Exception):
                client.close(timeout=10)
        if cluster is not None:
            begin = time.perf_counter()
            with contextlib.suppress(Exception):
                cluster.close(timeout=20)
            stopForkServer()
            log.info("dask: local cluster shut down in %.2f s", time.perf_counter() - begin)
        if self._settings is not None:
            with contextlib.suppress(Exception):
                self._settings.__exit__(None, None, None)
            self._settings = None
