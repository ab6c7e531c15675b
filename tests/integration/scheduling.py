"""A whole scheduling system for integration tests: metastore, DAG processor, scheduler and local
executor, driven from the test's thread.

``system`` is one on the dialect of ``migrated_db_url``; ``make_system(**sections)`` builds one
with other settings (``core={"parallelism": 1}``). DAG files written with :meth:`System.add_dag`
start with :data:`HEADER`, which also gives tasks ``note`` (append a line to a journal file, so
a test sees what each try did and when, as the tries saw it) and ``wait_for`` (block until a
gate file exists, so a test decides when a task may finish).

Test modules import both fixtures (``system`` is built by ``make_system``)::

    from scheduling import System, make_system_fixture, system_fixture  # noqa: F401
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from tradewind.executors import create_executor
from tradewind.executors.base import BaseExecutor
from tradewind.metastore import engine as engine_module
from tradewind.metastore.models import DagRun, Job, TaskInstance, TaskInstanceHistory
from tradewind.metastore.store import dags as dag_store
from tradewind.metastore.store import runs as run_store
from tradewind.metastore.store import tasks as task_store
from tradewind.metastore.store import xcom as xcom_store
from tradewind.parsing.processor import DagProcessor
from tradewind.scheduler.loop import Scheduler
from tradewind.scheduler.trigger import trigger_dag
from tradewind.settings import Settings
from tradewind.states import DagRunState, DagRunType, TaskState

HEADER = """
import os
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from tradewind import DAG, TaskGroup, task, task_group
from tradewind.exceptions import SkipTask
from tradewind.operators import (
    BashOperator, BranchPythonOperator, EmptyOperator, PythonOperator, ShortCircuitOperator,
)
from tradewind.sensors import PythonSensor


def note(journal, *words):
    # One write per line: lines of tries running side by side never interleave.
    with open(journal, "a") as out:
        out.write(" ".join(str(w) for w in words) + "\\n")


def wait_for(gate, limit=60.0):
    end = time.monotonic() + limit
    while not os.path.exists(gate):
        if time.monotonic() > end:
            raise TimeoutError(f"{gate} never appeared")
        time.sleep(0.02)


def work(journal, seconds=0.0, gate=None, ti=None):
    note(journal, ti.task_id, os.getpid(), ti.try_number, "start", time.time())
    if gate:
        wait_for(gate)
    time.sleep(seconds)
    note(journal, ti.task_id, os.getpid(), ti.try_number, "end", time.time())
"""

FINISHED_RUN = {DagRunState.SUCCESS.value, DagRunState.FAILED.value}
ACTIVE_TASK = {TaskState.QUEUED, TaskState.RUNNING}

# Settings every system starts from; a test's own sections are merged over them.
BASE_SECTIONS: dict[str, dict[str, Any]] = {
    "core": {"load_examples": False, "parallelism": 8},
    "scheduler": {"run_dag_processor": False},
}

# For tests whose logic does not depend on the database: run them on SQLite alone.
sqlite_only = pytest.mark.parametrize("db_dialect", ["sqlite"])
# For tests of several schedulers sharing a database, which SQLite does not allow.
servers_only = pytest.mark.parametrize(
    "db_dialect",
    [
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("mysql", marks=pytest.mark.mysql),
    ],
)


@dataclass
class System:
    settings: Settings
    sessions: sessionmaker[Session]
    dags: Path
    scheduler: Scheduler

    def add_dag(self, name: str, body: str) -> None:
        """Write ``dags/<name>.py`` (HEADER + body) and parse the DAGs folder."""
        (self.dags / f"{name}.py").write_text(HEADER + textwrap.dedent(body))
        DagProcessor(self.settings, self.sessions).scan()

    def trigger(
        self,
        dag_id: str,
        conf: dict[str, Any] | None = None,
        *,
        logical_date: datetime | None = None,
        unpause: bool = True,
    ) -> str:
        with self.sessions.begin() as session:
            if unpause:
                dag_store.set_paused(session, dag_id, False)
            run = trigger_dag(
                session, dag_id, now=datetime.now(UTC), conf=conf, logical_date=logical_date
            )
            return run.run_id

    def set_paused(self, dag_id: str, paused: bool) -> None:
        with self.sessions.begin() as session:
            dag_store.set_paused(session, dag_id, paused)

    def run_until(self, done: Callable[[], bool], timeout: float = 30) -> bool:
        """Run the scheduler until ``done()`` (or the timeout); returns ``done()``."""
        self.scheduler.run_until(done, timeout=timeout)
        return done()

    def settle(self, seconds: float = 1.0) -> None:
        """Let the scheduler run for a while (to show that something does *not* happen)."""
        self.scheduler.run_until(lambda: False, timeout=seconds)

    def run(self, dag_id: str, run_id: str) -> DagRun:
        with self.sessions() as session:
            found = run_store.get_run(session, dag_id, run_id)
            assert found is not None, f"no run {run_id} of {dag_id}"
            return found

    def run_state(self, dag_id: str, run_id: str) -> str | None:
        with self.sessions() as session:
            found = run_store.get_run(session, dag_id, run_id)
            return found.state if found else None

    def wait(self, dag_id: str, run_id: str, timeout: float = 60) -> str | None:
        """Run the scheduler until the run is finished; returns its state."""
        self.run_until(lambda: self.run_state(dag_id, run_id) in FINISHED_RUN, timeout)
        return self.run_state(dag_id, run_id)

    def states(self, dag_id: str, run_id: str) -> dict[str, TaskState]:
        with self.sessions() as session:
            return task_store.states_of_run(session, dag_id, run_id)

    def state(self, dag_id: str, run_id: str, task_id: str) -> TaskState | None:
        return self.states(dag_id, run_id).get(task_id)

    def instance(self, dag_id: str, run_id: str, task_id: str) -> TaskInstance:
        with self.sessions() as session:
            ti = task_store.get_instance(session, dag_id, run_id, task_id)
            assert ti is not None, f"no task instance {task_id} in {run_id}"
            return ti

    def instances(self, dag_id: str, run_id: str) -> list[TaskInstance]:
        with self.sessions() as session:
            return task_store.instances_of_run(session, dag_id, run_id)

    def history(self, dag_id: str, run_id: str, task_id: str) -> list[TaskInstanceHistory]:
        """The finished tries of a task instance, in try order."""
        with self.sessions() as session:
            return list(
                session.scalars(
                    select(TaskInstanceHistory)
                    .where(
                        TaskInstanceHistory.dag_id == dag_id,
                        TaskInstanceHistory.run_id == run_id,
                        TaskInstanceHistory.task_id == task_id,
                    )
                    .order_by(TaskInstanceHistory.try_number)
                ).all()
            )

    def xcom(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> Any:
        with self.sessions() as session:
            return xcom_store.get_xcom(
                session, dag_id, run_id, task_id, "return_value", map_index=map_index
            )

    def mapped(self, dag_id: str, run_id: str, task_id: str) -> dict[int, TaskState]:
        """The states of a task's instances by map_index (-1 alone: not expanded)."""
        with self.sessions() as session:
            return task_store.instance_states(session, dag_id, run_id).get(task_id, {})


def asset_runs(system: System, dag_id: str) -> list[DagRun]:
    """The DAG's asset-triggered runs, oldest first."""
    with system.sessions() as session:
        return list(
            session.scalars(
                select(DagRun)
                .where(DagRun.dag_id == dag_id, DagRun.run_type == DagRunType.ASSET_TRIGGERED.value)
                .order_by(DagRun.id)
            ).all()
        )


def count_rows(system: System, model: type) -> int:
    """How many rows the model's table holds."""
    with system.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def start_scheduler(system: System, executor: BaseExecutor) -> Scheduler:
    """Another scheduler on the system's settings and metastore, with ``executor``; started (the
    test stops it)."""
    scheduler = Scheduler(system.settings, system.sessions, executor)
    scheduler.start()
    return scheduler


def die_silently(system: System, scheduler: Scheduler) -> None:
    """The scheduler (started) dies without a word: its job's heartbeat gets an hour old, and
    the next scheduler to start takes over its tries."""
    assert scheduler.job_id is not None
    with system.sessions.begin() as session:
        session.execute(
            update(Job)
            .where(Job.id == scheduler.job_id)
            .values(latest_heartbeat=datetime.now(UTC) - timedelta(hours=1))
        )


def system_sections(**sections: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """BASE_SECTIONS with ``sections`` merged over them, key by key."""
    merged = {name: dict(values) for name, values in BASE_SECTIONS.items()}
    for name, values in sections.items():
        merged.setdefault(name, {}).update(values)
    return merged


@contextmanager
def running_system(settings: Settings, dags: Path, *, start: bool = True) -> Iterator[System]:
    """A System on ``settings`` (its scheduler started unless ``start`` is False)."""
    engine = engine_module.create_engine(settings.database)
    sessions = engine_module.session_factory(engine)
    scheduler = Scheduler(settings, sessions, create_executor(settings))
    try:
        if start:
            scheduler.start()
        try:
            yield System(settings, sessions, dags, scheduler)
        finally:
            if start:
                scheduler.stop()
    finally:
        engine.dispose()


@contextmanager
def tradewind_process(
    settings: Settings, *args: str, log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """``python -m tradewind ARGS`` with exactly ``settings``, its output appended to ``log``;
    stopped if still running."""
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tradewind", *args],
            env={**os.environ, **settings.to_env()},
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield proc
    finally:
        stop(proc)


def scheduler_process(
    settings: Settings, log: Path
) -> AbstractContextManager[subprocess.Popen[bytes]]:
    """``python -m tradewind scheduler`` (see :func:`tradewind_process`)."""
    return tradewind_process(settings, "scheduler", log=log)


def stop(proc: subprocess.Popen[Any]) -> None:
    """SIGTERM, then SIGKILL if it is still there after 30 s; reaped either way."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def poll(condition: Callable[[], bool], timeout: float = 60.0) -> bool:
    """Wait (bounded) for ``condition()`` while other processes do the work; returns it."""
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            return False
        time.sleep(0.05)
    return True


@pytest.fixture(name="make_system")
def make_system_fixture(
    migrated_db_url: str, tmp_path: Path, make_settings: Callable[..., Settings]
) -> Iterator[Callable[..., System]]:
    """Build a started System with extra settings sections; stopped after the test."""
    dags = tmp_path / "dags"
    dags.mkdir()
    with ExitStack() as stack:

        def make(**sections: dict[str, Any]) -> System:
            merged = system_sections(**sections)
            merged["core"]["dags_folder"] = str(dags)
            settings = make_settings(tmp_path, migrated_db_url, **merged)
            return stack.enter_context(running_system(settings, dags))

        yield make


@pytest.fixture(name="system")
def system_fixture(make_system: Callable[..., System]) -> System:
    """A started System with the base settings (local executor, parallelism 8)."""
    return make_system()


# ---- reading what tries did ------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One try's lines in a journal written by ``work``: its task, pid, try and times."""

    task_id: str
    pid: int
    try_number: int
    start: float
    end: float | None


def read_journal(path: Path) -> list[Entry]:
    """The tries ``work`` recorded in ``path``, in the order they started."""
    starts: dict[tuple[str, int, int], float] = {}
    ends: dict[tuple[str, int, int], float] = {}
    for line in path.read_text().splitlines() if path.exists() else []:
        task_id, pid, try_number, what, at = line.split()
        key = (task_id, int(pid), int(try_number))
        (starts if what == "start" else ends)[key] = float(at)
    entries = [Entry(*key, start, ends.get(key)) for key, start in starts.items()]
    return sorted(entries, key=lambda e: e.start)


def most_at_once(intervals: Sequence[tuple[Any, Any]]) -> int:
    """The largest number of [start, end] intervals that overlap (touching ends do not)."""
    edges = sorted(
        itertools.chain.from_iterable(((start, 1), (end, -1)) for start, end in intervals),
        key=lambda edge: (edge[0], edge[1]),
    )
    running = peak = 0
    for _, step in edges:
        running += step
        peak = max(peak, running)
    return peak


def row_intervals(rows: Sequence[TaskInstance | TaskInstanceHistory]) -> list[tuple[Any, Any]]:
    """The [start_date, end_date] of finished tries as the scheduler recorded them."""
    out = []
    for row in rows:
        assert row.start_date is not None, row.task_id
        assert row.end_date is not None, row.task_id
        out.append((row.start_date, row.end_date))
    return out


def pid_alive(pid: int) -> bool:
    """Whether a process exists and is not a zombie."""
    try:
        status = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return status.rsplit(")", 1)[1].split()[0] != "Z"


def wait_gone(pids: Sequence[int], timeout: float = 10.0) -> list[int]:
    """Wait (bounded) until none of ``pids`` runs; returns those still running."""
    end = time.monotonic() + timeout
    alive = [p for p in pids if pid_alive(p)]
    while alive and time.monotonic() < end:
        time.sleep(0.05)
        alive = [p for p in alive if pid_alive(p)]
    return alive
