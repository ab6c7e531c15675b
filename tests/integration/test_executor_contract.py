"""The contract every executor keeps, run against each of them with the scripted runner.

What a try does is chosen by its task id (see ``tradewind.testing.scripted_runner``). Tests
wait for events with a generous limit that only guards against a hang; nothing asserts how
long anything took.

The celery executor runs the contract on Redis and on RabbitMQ (kinds ``celery-redis`` and
``celery-rabbitmq``) with one real ``tradewind celery worker`` on a PostgreSQL metastore; the
tries run in the worker's processes, on this host, with the same settings home. A worker runs
only the tries its metastore waits for, so each try sent has its task instance queued there
first, as a scheduler would have it (:class:`QueuingCeleryExecutor`).
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from celerytest import (
    BROKER_KINDS,
    Brokers,
    WorkerSpec,
    brokers_fixture,  # noqa: F401
    celery_sections,
    celery_workers,
    isolate,
)
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tradewind.executors import load_executor
from tradewind.executors.base import BaseExecutor, ExecutorError, TaskEvent
from tradewind.executors.local import LocalExecutor
from tradewind.metastore import engine as engine_module
from tradewind.metastore.models import DagModel, DagRun, TaskInstance
from tradewind.reports import Cause, Kind, XCom
from tradewind.settings import Settings
from tradewind.states import TaskState
from tradewind.testing import (
    SCRIPTED_RUNNER,
    digest,
    make_workload,
    open_gate,
    spawned_pid_file,
)
from tradewind.workloads import TaskKey, Workload

CELERY_KINDS = [
    pytest.param(f"celery-{broker}", marks=pytest.mark.postgres) for broker in BROKER_KINDS
]
KINDS = ["sequential", "local", *CELERY_KINDS]
REMOTE = (
    "the celery executor leaves tries on workers running at close "
    "(a scheduler taking over adopts them)"
)
CLAIMED_ONCE = (
    "a celery worker runs a try number again only once its reschedule is recorded in the "
    "metastore (its claim); the scheduler tests cover that"
)
GRACE = 0.5
HANG_GUARD = 60.0
# A run's conf as large as a user may make it (bigger than any socket buffer or argument).
BIG_CONF = 20 << 20
# An executor_config larger than a socket's packet (a pod override with a big environment).
BIG_CONFIG = 300 << 10

CRASHES = {
    "raise": "process exited with code 1",
    "exit": "process exited with code 3",
    "osexit": "process exited with code 4",
    "segv": "killed by SIGSEGV",
    "kill": "killed by SIGKILL (out of memory?)",
    "oom": "process exited with code 1",
}


class Recorder:
    """Polls an executor and keeps every event it returned, in order."""

    def __init__(self, executor: BaseExecutor) -> None:
        self.executor = executor
        self.events: list[TaskEvent] = []

    def poll_until(self, done: Callable[[], bool]) -> None:
        limit = time.monotonic() + HANG_GUARD
        while not done():
            if time.monotonic() > limit:
                pytest.fail(f"no progress; events so far: {self.events}")
            self.events.extend(self.executor.poll(1.0))

    def of(self, key: TaskKey, kind: Kind) -> list[TaskEvent]:
        return [e for e in self.events if e.key == key and e.kind == kind]

    def finished(self, *keys: TaskKey) -> dict[TaskKey, TaskEvent]:
        self.poll_until(lambda: all(self.of(k, Kind.FINISHED) for k in keys))
        return {k: self.of(k, Kind.FINISHED)[0] for k in keys}

    def running(self, *keys: TaskKey) -> dict[TaskKey, TaskEvent]:
        self.poll_until(lambda: all(self.of(k, Kind.RUNNING) for k in keys))
        return {k: self.of(k, Kind.RUNNING)[0] for k in keys}

    def of_kind(self, kind: Kind) -> list[TaskEvent]:
        return [e for e in self.events if e.kind == kind]

    def most_running_at_once(self) -> int:
        running: set[TaskKey] = set()
        most = 0
        for event in self.events:
            if event.kind == Kind.RUNNING:
                running.add(event.key)
                most = max(most, len(running))
            else:
                running.discard(event.key)
        return most

    def started_order(self) -> list[str]:
        return [e.key.task_id for e in self.events if e.kind == Kind.RUNNING]


def gone(pid: int) -> bool:
    """The process no longer runs (it does not exist, or only as a zombie)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


def wait_gone(pid: int) -> bool:
    # A killed process needs a moment to die; this only waits, it measures nothing.
    limit = time.monotonic() + 10
    while not gone(pid) and time.monotonic() < limit:
        time.sleep(0.01)
    return gone(pid)


def open_fds() -> set[int]:
    return {int(name) for name in os.listdir("/proc/self/fd")}


def queue_instance(sessions: sessionmaker[Session], workload: Workload) -> None:
    """The task instance of ``workload`` in the metastore, queued for its try (with its DAG
    and run, made the first time)."""
    key = workload.key
    with sessions.begin() as session:
        if session.get(DagModel, key.dag_id) is None:
            session.add(DagModel(dag_id=key.dag_id, fileloc=workload.dag_file, fileloc_hash="-"))
        run = session.scalars(select(DagRun).filter_by(dag_id=key.dag_id, run_id=key.run_id))
        if run.first() is None:
            when = datetime.now(UTC)
            session.add(
                DagRun(dag_id=key.dag_id, run_id=key.run_id, logical_date=when, run_type="manual")
            )
            session.flush()
        ti = session.scalars(
            select(TaskInstance).filter_by(
                dag_id=key.dag_id, run_id=key.run_id, task_id=key.task_id, map_index=key.map_index
            )
        ).first()
        if ti is None:
            ti = TaskInstance(
                dag_id=key.dag_id, run_id=key.run_id, task_id=key.task_id, map_index=key.map_index
            )
            session.add(ti)
        ti.state, ti.try_number = TaskState.QUEUED.value, key.try_number


def queuing_celery_executor(settings: Settings, **options: Any) -> BaseExecutor:
    """The celery executor, each try's task instance queued in the metastore before it is
    sent (as the scheduler does)."""
    from tradewind.executors.celery.executor import CeleryExecutor

    class QueuingCeleryExecutor(CeleryExecutor):
        def start(self) -> None:
            self.engine = engine_module.create_engine(self.settings.database)
            super().start()

        def submit(self, workload: Workload) -> None:
            queue_instance(engine_module.session_factory(self.engine), workload)
            super().submit(workload)

        def close(self) -> None:
            super().close()
            self.engine.dispose()

    return QueuingCeleryExecutor(settings, **options)


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture
def make_executor(
    kind: str, tmp_path: Path, make_settings: Callable[..., Settings], request: Any
) -> Iterator[Callable[..., tuple[BaseExecutor, Recorder, Settings]]]:
    """Build and start an executor of this kind; ``core`` settings may be overridden.

    For a celery kind: on a PostgreSQL metastore, with one worker started with the first one.
    """
    built: list[BaseExecutor] = []
    with ExitStack() as stack:
        sections: dict[str, Any] = {}
        db_url = None
        if kind.startswith("celery-"):
            brokers: Brokers = request.getfixturevalue("brokers")
            iso = isolate(brokers, kind.removeprefix("celery-"))
            db_url, drop = request.getfixturevalue("databases").migrated("postgres", tmp_path)
            stack.callback(drop)
            sections["celery"] = celery_sections(iso)

        def make(**core: Any) -> tuple[BaseExecutor, Recorder, Settings]:
            settings = make_settings(tmp_path, db_url, core=core, **sections)
            if sections and not built:
                stack.enter_context(celery_workers(settings, WorkerSpec("w1")))
            name = kind.partition("-")[0]
            executor: BaseExecutor
            if name == "celery":
                executor = queuing_celery_executor(settings, runner=SCRIPTED_RUNNER)
            else:
                factory: Any = load_executor(name).from_settings
                executor = factory(settings, runner=SCRIPTED_RUNNER, grace_period=GRACE)
            executor.start()
            built.append(executor)
            return executor, Recorder(executor), settings

        try:
            yield make
        finally:
            for executor in built:
                executor.close()


class TestExecutorContract:
    def test_a_try_succeeds_and_its_xcom_arrives(self, make_executor: Any) -> None:
        executor, recorder, _ = make_executor()
        workload = make_workload("ok_1")
        executor.submit(workload)

        done = recorder.finished(workload.key)[workload.key]

        running = recorder.running(workload.key)[workload.key]
        assert isinstance(running.pid, int)
        assert recorder.events.index(running) < recorder.events.index(done)
        assert done.state == TaskState.SUCCESS
        assert done.report.xcoms == (XCom("return_value", "ok_1"),)

    def test_a_failure_is_reported_by_the_try(self, make_executor: Any) -> None:
        executor, recorder, _ = make_executor()
        workload = make_workload("fail_1")
        executor.submit(workload)

        done = recorder.finished(workload.key)[workload.key]

        assert done.state == TaskState.FAILED
        assert done.info == "the scripted task failed"
        assert done.report.retryable is True
        assert done.report.cause is Cause.REPORTED

    def test_each_crash_fails_only_its_own_try(self, make_executor: Any) -> None:
        executor, recorder, _ = make_executor()
        crashes = [make_workload(f"{name}_1") for name in CRASHES]
        healthy = [make_workload("sleep0.3_a"), make_workload("ok_a"), make_workload("ok_b")]
        for workload in [healthy[0], *crashes, *healthy[1:]]:
            executor.submit(workload)

        done = recorder.finished(*(w.key for w in crashes + healthy))

        for workload, info in zip(crashes, CRASHES.values(), strict=True):
            event = done[workload.key]
            assert (event.state, event.info) == (TaskState.FAILED, info), workload.key.task_id
            assert event.report.cause is Cause.LOST
        assert all(done[w.key].state == TaskState.SUCCESS for w in healthy)

    def test_a_timeout_kills_the_whole_process_group(self, make_executor: Any) -> None:
        executor, recorder, settings = make_executor()
        workload = make_workload("spawn_1", execution_timeout=0.5)
        executor.submit(workload)
        pid = recorder.running(workload.key)[workload.key].pid
        grandchild = int(spawned_pid_file(settings, workload.key).read_text())

        done = recorder.finished(workload.key)[workload.key]

        assert done.state == TaskState.FAILED
        assert done.info == "timed out after 0.5 s"
        assert done.report.cause is Cause.TIMED_OUT
        assert pid is not None
        assert wait_gone(pid)
        assert wait_gone(grandchild)

    def test_cancel_stops_a_running_try_and_its_children(self, make_executor: Any) -> None:
        executor, recorder, settings = make_executor()
        workload = make_workload("spawn_1")
        executor.submit(workload)
        recorder.running(workload.key)
        grandchild = int(spawned_pid_file(settings, workload.key).read_text())

        executor.cancel(workload.key)
        done = recorder.finished(workload.key)[workload.key]

        assert (done.state, done.info) == (TaskState.FAILED, "cancelled")
        assert done.report.cause is Cause.CANCELLED
        assert wait_gone(grandchild)

    def test_a_try_that_ignores_sigterm_is_killed_after_the_grace_period(
        self, make_executor: Any
    ) -> None:
        executor, recorder, _ = make_executor()
        workload = make_workload("stubborn_1")
        executor.submit(workload)
        pid = recorder.running(workload.key)[workload.key].pid

        executor.cancel(workload.key)
        done = recorder.finished(workload.key)[workload.key]

        assert done.info == "cancelled"
        assert pid is not None
        assert wait_gone(pid)

    def test_cancel_drops_a_queued_try_without_running_it(self, make_executor: Any) -> None:
        executor, recorder, settings = make_executor(parallelism=1)
        blocker, queued = make_workload("gate_1"), make_workload("ok_queued")
        executor.submit(blocker)
        executor.submit(queued)
        recorder.running(blocker.key)

        executor.cancel(queued.key)
        cancelled = recorder.finished(queued.key)[queued.key]
        open_gate(settings)
        recorder.finished(blocker.key)

        assert (cancelled.state, cancelled.info) == (TaskState.FAILED, "cancelled")
        assert not recorder.of(queued.key, Kind.RUNNING)

    def test_a_try_is_run_again_once_its_process_that_reported_its_end_is_gone(
        self, kind: str, make_executor: Any
    ) -> None:
        # A sensor in reschedule mode with poke_interval=0: the next poke (same key) is
        # submitted as soon as the last one reported, maybe before its process ended.
        if kind.startswith("celery-"):
            pytest.skip(CLAIMED_ONCE)
        executor, recorder, settings = make_executor()
        workload = make_workload("linger_1")
        executor.submit(workload)
        recorder.finished(workload.key)

        executor.submit(workload)  # the next run: waits for the lingering process
        executor.submit(workload)  # a duplicate of that one: dropped
        open_gate(settings)
        recorder.poll_until(lambda: len(recorder.of(workload.key, Kind.FINISHED)) == 2)
        recorder.poll_until(lambda: not executor.active_keys())

        runs = recorder.of(workload.key, Kind.RUNNING)
        assert [e.state for e in recorder.of(workload.key, Kind.FINISHED)] == [
            TaskState.SUCCESS,
            TaskState.SUCCESS,
        ]
        assert len(runs) == 2
        assert runs[0].pid != runs[1].pid

    def test_a_duplicate_of_a_running_try_is_not_run(self, make_executor: Any) -> None:
        executor, recorder, settings = make_executor()
        workload = make_workload("gate_1")
        executor.submit(workload)
        recorder.running(workload.key)

        executor.submit(workload)
        open_gate(settings)
        recorder.finished(workload.key)
        recorder.poll_until(lambda: not executor.active_keys())

        # One process ran it (a celery worker's claim drops the second delivery, whose
        # executor may then report the same process running again).
        assert len({e.pid for e in recorder.of(workload.key, Kind.RUNNING)}) == 1
        assert len(recorder.of(workload.key, Kind.FINISHED)) == 1

    def test_no_more_tries_run_at_once_than_there_are_slots(
        self, kind: str, make_executor: Any
    ) -> None:
        executor, recorder, settings = make_executor(parallelism=3)
        slots = 1 if kind == "sequential" else 3
        workloads = [make_workload(f"gate_{i}") for i in range(6)]
        for workload in workloads:
            executor.submit(workload)
        recorder.running(*(w.key for w in workloads[:slots]))
        recorder.events.extend(executor.poll(0.5))

        started_while_closed = len(recorder.of_kind(Kind.RUNNING))
        free_while_full = executor.free_slots
        open_gate(settings)
        done = recorder.finished(*(w.key for w in workloads))

        assert started_while_closed == slots
        assert free_while_full == 0
        assert recorder.most_running_at_once() == slots
        assert all(event.state == TaskState.SUCCESS for event in done.values())

    def test_higher_priority_starts_first_and_equal_ones_in_order(self, make_executor: Any) -> None:
        executor, recorder, settings = make_executor(parallelism=1)
        blocker = make_workload("gate_0")
        executor.submit(blocker)
        recorder.running(blocker.key)
        weights = {"ok_low1": 1, "ok_high1": 5, "ok_high2": 5, "ok_low2": 1, "ok_top": 9}
        workloads = [make_workload(t, priority_weight=w) for t, w in weights.items()]
        for workload in workloads:
            executor.submit(workload)

        open_gate(settings)
        recorder.finished(*(w.key for w in workloads))

        assert recorder.started_order() == [
            "gate_0",
            "ok_top",
            "ok_high1",
            "ok_high2",
            "ok_low1",
            "ok_low2",
        ]

    def test_free_slots_count_running_and_waiting_tries(
        self, kind: str, make_executor: Any
    ) -> None:
        executor, _, settings = make_executor(parallelism=2)
        capacity = 1 if kind == "sequential" else 2
        seen = [executor.free_slots]
        for i in range(capacity):
            executor.submit(make_workload(f"gate_{i}"))
            seen.append(executor.free_slots)
        executor.submit(make_workload("gate_extra"))
        seen.append(executor.free_slots)
        open_gate(settings)

        assert seen == [*range(capacity, -1, -1), 0]

    def test_close_leaves_no_process_and_no_open_file(self, kind: str, make_executor: Any) -> None:
        if kind.startswith("celery-"):
            pytest.skip(REMOTE)
        before = open_fds()
        executor, recorder, settings = make_executor(parallelism=3)
        server = executor.server_pid if isinstance(executor, LocalExecutor) else None
        workloads = [make_workload("spawn_1"), make_workload("stubborn_1"), make_workload("ok_1")]
        for workload in workloads:
            executor.submit(workload)
        recorder.running(*(w.key for w in workloads[: 1 if kind == "sequential" else 2]))
        grandchild = int(spawned_pid_file(settings, workloads[0].key).read_text())
        pids = [e.pid for e in recorder.of_kind(Kind.RUNNING) if e.pid is not None]

        executor.close()

        for pid in [*pids, grandchild, *([server] if server else [])]:
            assert wait_gone(pid), pid
        assert open_fds() == before

    def test_a_workload_of_any_size_reaches_its_try_while_the_others_run_on(
        self, kind: str, make_executor: Any
    ) -> None:
        executor, recorder, settings = make_executor()
        busy = make_workload("gate_busy")
        executor.submit(busy)
        recorder.running(busy.key)
        server = executor.server_pid if isinstance(executor, LocalExecutor) else None
        big = replace(
            make_workload("digest_big"),
            run={"conf": {"blob": "x" * BIG_CONF}},
            executor_config={"blob": "y" * BIG_CONFIG},
        )
        small = replace(make_workload("digest_small"), run={"conf": {"n": 1}})

        executor.submit(big)
        executor.submit(small)
        if kind == "sequential":
            open_gate(settings)  # its one slot is the busy try's
        done = recorder.finished(big.key, small.key)
        busy_then = recorder.of(busy.key, Kind.FINISHED)
        open_gate(settings)
        busy_done = recorder.finished(busy.key)[busy.key]

        # A remote executor sends a large workload without its run: the try reads that from the
        # metastore (brokers limit what a message may carry). The rest is still larger than a
        # socket's packet where it arrives (a celery worker's own local executor).
        run = None if kind.startswith("celery-") else digest(big.run)
        got = [run, digest(big.executor_config)]
        assert done[big.key].state == TaskState.SUCCESS, done[big.key].info
        assert done[big.key].report.xcoms == (XCom("return_value", got),)
        assert done[small.key].report.xcoms == (XCom("return_value", [digest(small.run), None]),)
        assert busy_done.state == TaskState.SUCCESS
        if kind != "sequential":
            assert busy_then == []
        if server is not None:
            assert executor.server_pid == server

    def test_a_workload_that_cannot_be_handed_over_fails_its_own_try_only(
        self, kind: str, make_executor: Any
    ) -> None:
        executor, recorder, settings = make_executor()
        busy = make_workload("gate_busy")
        executor.submit(busy)
        recorder.running(busy.key)
        server = executor.server_pid if isinstance(executor, LocalExecutor) else None
        bad = replace(make_workload("ok_bad"), executor_config={"image": object()})

        executor.submit(bad)
        after = make_workload("ok_after")
        executor.submit(after)
        if kind == "sequential":
            open_gate(settings)
        done = recorder.finished(bad.key, after.key)
        busy_then = recorder.of(busy.key, Kind.FINISHED)
        open_gate(settings)
        busy_done = recorder.finished(busy.key)[busy.key]

        assert done[bad.key].state == TaskState.FAILED
        assert "JSON serializable" in done[bad.key].info
        assert not recorder.of(bad.key, Kind.RUNNING)
        assert done[after.key].state == TaskState.SUCCESS
        assert busy_done.state == TaskState.SUCCESS
        if kind != "sequential":
            assert busy_then == []
        if server is not None:
            assert executor.server_pid == server

    def test_poll_returns_as_soon_as_an_event_arrives(self, make_executor: Any) -> None:
        executor, _, _ = make_executor()
        workload = make_workload("sleep30_1")
        executor.submit(workload)

        # Were poll to wait for its whole timeout, the test's own time limit would end it.
        events = executor.poll(240)

        assert [(e.key, e.kind) for e in events] == [(workload.key, Kind.RUNNING)]
        executor.cancel(workload.key)

    @pytest.mark.timeout(60)
    def test_wakeup_ends_a_poll_from_another_thread(self, make_executor: Any) -> None:
        executor, _, _ = make_executor()
        waker = threading.Timer(0.2, executor.wakeup)
        waker.start()

        events = executor.poll(None)

        waker.join()
        assert events == []


class TestLocalExecutor:
    @pytest.fixture
    def kind(self) -> str:
        return "local"

    def test_a_dead_fork_server_loses_its_tries_and_a_new_one_starts(
        self, make_executor: Any
    ) -> None:
        executor, recorder, _ = make_executor()
        sleeper = make_workload("sleep30_1")
        executor.submit(sleeper)
        pid = recorder.running(sleeper.key)[sleeper.key].pid
        old_server = executor.server_pid

        os.kill(old_server, signal.SIGKILL)
        lost = recorder.finished(sleeper.key)[sleeper.key]
        after = make_workload("ok_after")
        executor.submit(after)
        done = recorder.finished(after.key)[after.key]

        assert lost.state == TaskState.FAILED
        assert "fork server" in lost.info
        assert lost.report.cause is Cause.LOST
        assert wait_gone(pid)
        assert done.state == TaskState.SUCCESS
        assert executor.server_pid not in (None, old_server)

    def test_a_runner_that_cannot_be_imported_is_a_clear_error_at_start(
        self, make_settings: Callable[..., Settings], tmp_path: Path
    ) -> None:
        executor = LocalExecutor(make_settings(tmp_path), runner="tradewind.no_such_module:run")

        with pytest.raises(ExecutorError, match="cannot import the runner module"):
            executor.start()
