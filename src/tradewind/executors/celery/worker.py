"""The worker side of the celery executor: the task that runs one try, and its cancel command.

A ``tradewind celery worker`` registers the Celery task :func:`run_try` on its app with
:func:`register`, handing it the function that claims a try in the metastore (the CLI passes
:func:`tradewind.metastore.store.claims.claim`: executors do not touch the metastore's tables
themselves), and runs it in a pool of threads. Each call:

1. claims the try with the function it was given (:class:`ClaimTry`); a try claimed
   already (the same message delivered again: a redelivery after the visibility
   timeout, a broker reconnect, a resend by the scheduler), one its task instance no longer
   waits for, and one this metastore has no task instance for (a message of another
   installation sharing the broker, or of a deleted run) is dropped with
   :class:`celery.exceptions.Ignore`, which acknowledges the message and writes nothing to
   the result backend;
2. hands the workload to the worker's embedded local executor (see :class:`TryPool`): the try
   runs in a process of its own, forked by a warm fork server, in a process group of its own;
3. relays the try's running message as the Celery state ``RUNNING`` with a heartbeat, again
   every ``celery.heartbeat_interval`` while the try runs, and returns the finished message.

The thread only waits: the tries of one worker process share one local executor, which a
dispatcher thread polls, routing each event to the thread waiting for that try. If the worker
dies (even by SIGKILL) its fork server sees its control socket close, kills every try's
process group and exits; each try also gets SIGKILL from the kernel when the fork server dies.
The scheduler then notices the silent heartbeat and retries the try by its policy.
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any, Protocol

from celery.exceptions import Ignore
from celery.worker.control import control_command
from sqlalchemy.orm import Session, sessionmaker

from tradewind import reports
from tradewind.executors.base import TaskEvent
from tradewind.executors.celery import dbbackend
from tradewind.executors.celery.app import CLAIMED_STATE, RUNNING_STATE, TASK_NAME
from tradewind.executors.local import LocalExecutor
from tradewind.executors.processes.runners import DEFAULT_RUNNER
from tradewind.metastore import engine as engine_module
from tradewind.metastore import outage
from tradewind.reports import Kind
from tradewind.settings import Settings
from tradewind.workloads import Claim, TaskKey, Workload

log = logging.getLogger(__name__)

CANCEL_COMMAND = "tradewind_cancel"
# Only runners of tradewind itself may be named by a message.
RUNNER_PACKAGE = "tradewind."
# How long the dispatcher waits for events before it looks at new requests anyway.
_POLL = 1.0


class ClaimTry(Protocol):
    """Claims the try ``key`` for ``worker`` as Celery task ``task_id`` and commits.

    ``retried`` says an earlier attempt of this claim failed, perhaps after its COMMIT went
    through (a claim found with this worker, task id and time is then ours).
    """

    def __call__(
        self,
        session: Session,
        key: TaskKey,
        *,
        worker: str,
        task_id: str,
        now: datetime,
        retried: bool = False,
    ) -> Claim: ...


class TryPool:
    """One local executor shared by the task threads of a worker process.

    Only the dispatcher thread touches the executor; task threads hand it requests and wait
    on a queue of their own for their try's events.
    """

    def __init__(self, settings: Settings, runner: str) -> None:
        self._executor = LocalExecutor(settings, runner=runner)
        self._requests: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._waiters: dict[TaskKey, queue.SimpleQueue[TaskEvent]] = {}
        self._lock = threading.Lock()
        self._started = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._loop, name="tradewind-tries", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._started.wait()
        if self._error is not None:
            raise self._error

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def run(self, workload: Workload) -> queue.SimpleQueue[TaskEvent]:
        """Start the try; its events arrive on the returned queue, the finished one last."""
        events: queue.SimpleQueue[TaskEvent] = queue.SimpleQueue()
        with self._lock:
            self._waiters[workload.key] = events
        self._request(lambda: self._executor.submit(workload))
        return events

    def cancel(self, key: TaskKey) -> None:
        self._request(lambda: self._executor.cancel(key))

    def forget(self, key: TaskKey) -> None:
        with self._lock:
            self._waiters.pop(key, None)

    def _request(self, request: Callable[[], None]) -> None:
        self._requests.put(request)
        self._executor.wakeup()

    def _loop(self) -> None:
        try:
            self._executor.start()
        except BaseException as exc:
            self._error = exc
            return
        finally:
            self._started.set()
        while True:
            try:
                self._step()
            except Exception:
                log.exception("the worker's try dispatcher failed; going on")
                time.sleep(0.1)

    def _step(self) -> None:
        while True:
            try:
                request = self._requests.get_nowait()
            except queue.Empty:
                break
            request()
        for event in self._executor.poll(_POLL):
            with self._lock:
                if event.kind is Kind.FINISHED:
                    events = self._waiters.pop(event.key, None)
                else:
                    events = self._waiters.get(event.key)
            if events is not None:
                events.put(event)


class WorkerRuntime:
    """What a worker process keeps for all its tries: the metastore engine and the pools."""

    def __init__(self, settings: Settings, claim_try: ClaimTry) -> None:
        self.settings = settings
        self.name = f"{socket.gethostname()}:{os.getpid()}"
        self._claim_try = claim_try
        self._engine = engine_module.create_engine(settings.database)
        self._sessions: sessionmaker[Session] = engine_module.session_factory(self._engine)
        self._pools: dict[str, TryPool] = {}
        self._tasks: dict[str, tuple[TryPool, TaskKey]] = {}
        self._lock = threading.Lock()

    def claim(self, key: TaskKey, task_id: str) -> Claim:
        """Claim the try, waiting while the metastore is away. After a failed attempt (whose
        COMMIT may have gone through) a claim with this worker, task id and time is ours."""
        now = datetime.now(UTC)
        tried = False

        def attempt() -> Claim:
            nonlocal tried
            with self._sessions() as session:
                retried, tried = tried, True
                return self._claim_try(
                    session, key, worker=self.name, task_id=task_id, now=now, retried=retried
                )

        return outage.ride_out(attempt, dbbackend.OUTAGE)

    def pool(self, runner: str) -> TryPool:
        with self._lock:
            pool = self._pools.get(runner)
            if pool is None or not pool.alive:
                pool = TryPool(self.settings, runner)
                pool.start()
                self._pools[runner] = pool
            return pool

    def track(self, task_id: str, pool: TryPool, key: TaskKey) -> None:
        with self._lock:
            self._tasks[task_id] = (pool, key)

    def untrack(self, task_id: str) -> None:
        with self._lock:
            found = self._tasks.pop(task_id, None)
        if found is not None:
            found[0].forget(found[1])

    def cancel(self, task_id: str) -> bool:
        with self._lock:
            found = self._tasks.get(task_id)
        if found is None:
            return False
        found[0].cancel(found[1])
        return True


# This worker process's runtime, by pid (a process forked from a worker makes its own).
_runtimes: dict[int, WorkerRuntime] = {}
_runtime_lock = threading.Lock()


def runtime_for(settings: Settings, claim_try: ClaimTry) -> WorkerRuntime:
    """This worker process's runtime, made at its first try."""
    with _runtime_lock:
        runtime = _runtimes.get(os.getpid())
        if runtime is None:
            runtime = _runtimes[os.getpid()] = WorkerRuntime(_embedded(settings), claim_try)
        return runtime


def prepare(settings: Settings, claim_try: ClaimTry) -> threading.Thread:
    """Start this worker process's runtime and its default runner's fork server in the
    background, so that the first try does not wait a second for them (the worker consumes
    meanwhile; a try that comes first waits for what is under way, as it would have)."""

    def start() -> None:
        try:
            runtime_for(settings, claim_try).pool(DEFAULT_RUNNER)
        except Exception:
            log.exception("could not start the try runner ahead of the first try")

    thread = threading.Thread(target=start, name="tradewind-prepare", daemon=True)
    thread.start()
    return thread


def _embedded(settings: Settings) -> Settings:
    # Every try a worker takes starts at once: the worker's own concurrency is the limit.
    core = settings.core.model_copy(update={"parallelism": max(1024, settings.core.parallelism)})
    return settings.model_copy(update={"core": core})


def register(app: Any, claim_try: ClaimTry) -> None:
    """Make ``app`` (:func:`~tradewind.executors.celery.app.make_app`) a worker's: the task
    :data:`~tradewind.executors.celery.app.TASK_NAME` runs :func:`run_try`, claiming each try
    with ``claim_try``."""

    def run_claiming(self: Any, workload_json: Mapping[str, Any], runner: str) -> dict[str, Any]:
        return run_try(self, workload_json, runner, claim_try)

    app.task(name=TASK_NAME, bind=True, acks_late=True, reject_on_worker_lost=True)(run_claiming)


def run_try(
    self: Any, workload_json: Mapping[str, Any], runner: str, claim_try: ClaimTry
) -> dict[str, Any]:
    """The Celery task ``tradewind.run_try`` (bound): claim the try, run it, report it."""
    settings: Settings = self.app.tradewind_settings
    if not runner.startswith(RUNNER_PACKAGE):
        raise ValueError(f"runner {runner!r} is refused: only runners of tradewind are run")
    workload = Workload.from_json(workload_json)
    task_id: str = self.request.id
    runtime = runtime_for(settings, claim_try)
    claimed = runtime.claim(workload.key, task_id)
    if claimed is not Claim.CLAIMED:
        # Ignore acknowledges the message: it is dropped for good, and logged once.
        level = logging.WARNING if claimed is Claim.UNKNOWN else logging.INFO
        log.log(level, "dropping message %s for %s: %s", task_id, workload.key, claimed.value)
        raise Ignore()
    # From now on the scheduler hears of this try at every heartbeat: if this worker dies
    # before the try's process reports, the try is still noticed as lost, not left waiting.
    _report(self, task_id, None)
    pool = runtime.pool(runner)
    runtime.track(task_id, pool, workload.key)
    try:
        events = pool.run(workload)
        return _follow(self, task_id, workload.key, events, pool=pool, settings=settings)
    finally:
        runtime.untrack(task_id)


def _follow(
    task: Any,
    task_id: str,
    key: TaskKey,
    events: queue.SimpleQueue[TaskEvent],
    *,
    pool: TryPool,
    settings: Settings,
) -> dict[str, Any]:
    interval = settings.celery.heartbeat_interval
    running: dict[str, Any] | None = None
    next_beat = time.monotonic() + interval
    while True:
        try:
            event: TaskEvent | None = events.get(timeout=max(0.0, next_beat - time.monotonic()))
        except queue.Empty:
            event = None
        if event is not None and event.kind is Kind.FINISHED:
            result: dict[str, Any] = {"message": reports.encode(event.report)}
            if running is not None:
                result["running"] = running
            return result
        if event is not None:
            running = reports.encode(event.report)
        elif not pool.alive:
            return {"message": reports.encode(reports.lost("the worker's try runner died"))}
        if event is not None or time.monotonic() >= next_beat:
            _report(task, task_id, running)
            next_beat = time.monotonic() + interval


def _report(task: Any, task_id: str, running: dict[str, Any] | None) -> None:
    """A heartbeat: CLAIMED until the try's process runs, then RUNNING with its message."""
    now = datetime.now(UTC).isoformat()
    meta: dict[str, Any]
    if running is None:
        state, meta = CLAIMED_STATE, {"heartbeat": now}
    else:
        state, meta = RUNNING_STATE, {"message": running, "heartbeat": now}
    try:
        task.update_state(task_id=task_id, state=state, meta=meta)
    except Exception as exc:  # the backend is away for a moment: the next heartbeat tries again
        log.warning("could not report %s running: %s", task_id, exc)


@control_command(args=[("task_id", str)], signature="<task_id>")  # type: ignore[untyped-decorator]
def tradewind_cancel(state: Any, task_id: str) -> dict[str, Any]:
    """Remote control: stop the try of Celery task ``task_id`` if it runs in this worker."""
    runtime = _runtimes.get(os.getpid())
    if runtime is None or not runtime.cancel(task_id):
        return {"ok": "not here"}
    return {"ok": "cancelling"}
