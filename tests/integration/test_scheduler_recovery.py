"""Schedulers that die or crowd: a real ``tradewind scheduler`` killed with SIGKILL and started
again, two schedulers sharing a PostgreSQL or MariaDB metastore, and SQLite's lease."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from scheduling import (  # noqa: F401
    System,
    make_system_fixture,
    read_journal,
    running_system,
    servers_only,
    sqlite_only,
    system_fixture,
    system_sections,
    wait_gone,
)

from tradewind.executors import create_executor
from tradewind.metastore import engine as engine_module
from tradewind.scheduler.loop import LeaseHeld, Scheduler
from tradewind.settings import Settings
from tradewind.states import DagRunState, TaskState


def _children(pid: int) -> list[int]:
    """The processes ``pid`` started that still run (the fork server, the DAG processor)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(p) for p in (task / "children").read_text().split()]
    return found


def _wait(condition: Callable[[], bool], timeout: float = 60.0) -> bool:
    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            return False
        time.sleep(0.05)
    return True


@contextmanager
def scheduler_process(settings: Settings, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``python -m tradewind scheduler`` with exactly ``settings``; stopped if still running."""
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tradewind", "scheduler"],
            env={**os.environ, **settings.to_env()},
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


# First tries sleep long enough to be surely running when their scheduler is killed.
SLEEPERS = """
def sleeper(ti=None):
    work({journal!r}, 30 if ti.try_number == 1 else 0.2, ti=ti)

with DAG("sleepers", schedule=None):
    sleepers = [PythonOperator(task_id=f"s{{i}}", python_callable=sleeper) for i in range(4)]
    sleepers >> EmptyOperator(task_id="after")
"""


@pytest.fixture
def sleepers(
    migrated_db_url: str, tmp_path: Path, make_settings: Callable[..., Settings]
) -> Iterator[tuple[System, str]]:
    """A triggered run of four parallel sleeping tasks, and no scheduler running yet."""
    dags = tmp_path / "dags"
    dags.mkdir()
    sections = system_sections(
        core={"dags_folder": str(dags)},
        # The real command runs its DAG processor beside it; a short job_timeout lets a new
        # scheduler see quickly that the old one is gone.
        scheduler={"run_dag_processor": True, "job_timeout": 1.0, "heartbeat_interval": 0.2},
    )
    settings = make_settings(tmp_path, migrated_db_url, **sections)
    with running_system(settings, dags, start=False) as system:
        system.add_dag("sleepers", SLEEPERS.format(journal=str(tmp_path / "journal")))
        yield system, system.trigger("sleepers")


def _kill_while_running(system: System, journal: Path, log: Path, *, helpers: bool) -> list[int]:
    """Start a scheduler, SIGKILL it (and its child processes) once the four tries run;
    returns the pids of the tries and of the processes it had started."""
    with scheduler_process(system.settings, log) as proc:
        assert _wait(lambda: len(read_journal(journal)) == 4), log.read_text()
        children = _children(proc.pid)
        for pid in children if helpers else []:
            os.kill(pid, signal.SIGKILL)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    interrupted = read_journal(journal)
    assert [e.end for e in interrupted] == [None] * 4
    return [e.pid for e in interrupted] + children


# SQLite (the lease) and PostgreSQL (adoption by heartbeats); MariaDB takes the same path as
# PostgreSQL here, and its locking is covered by the test of two schedulers.
@pytest.mark.parametrize(
    "db_dialect", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_a_killed_scheduler_is_replaced_and_its_runs_complete(
    sleepers: tuple[System, str], tmp_path: Path
) -> None:
    system, run_id = sleepers
    journal, log = tmp_path / "journal", tmp_path / "scheduler.log"
    pids = _kill_while_running(system, journal, log, helpers=False)
    # The tries (and the fork server, and the DAG processor) die with their scheduler.
    assert wait_gone(pids) == []
    # Queued when the scheduler had not yet applied their running reports.
    assert {ti.state for ti in system.instances("sleepers", run_id)} <= {"queued", "running", None}
    with scheduler_process(system.settings, log):
        finished = {DagRunState.SUCCESS.value, DagRunState.FAILED.value}
        assert _wait(lambda: system.run_state("sleepers", run_id) in finished), log.read_text()
    assert system.run_state("sleepers", run_id) == DagRunState.SUCCESS.value
    assert set(system.states("sleepers", run_id).values()) == {TaskState.SUCCESS}
    # The killed tries are history; each retry was given back, so no retry was used up.
    for task_id in ("s0", "s1", "s2", "s3"):
        history = system.history("sleepers", run_id, task_id)
        assert [(h.try_number, h.state) for h in history] == [(1, "failed"), (2, "success")]
        assert system.instance("sleepers", run_id, task_id).max_tries == 1
    entries = read_journal(journal)
    for task_id in ("s0", "s1", "s2", "s3"):
        tries = [e for e in entries if e.task_id == task_id]
        # The killed try, then one complete try that started after it was gone.
        assert [(e.try_number, e.end is not None) for e in tries] == [(1, False), (2, True)]


@sqlite_only  # about processes only
def test_tries_die_when_their_fork_server_is_killed_with_the_scheduler(
    sleepers: tuple[System, str], tmp_path: Path
) -> None:
    system, _ = sleepers
    journal = tmp_path / "journal"
    pids = _kill_while_running(system, journal, tmp_path / "scheduler.log", helpers=True)
    assert wait_gone(pids) == []
    assert all(e.end is None for e in read_journal(journal))


@servers_only
def test_two_schedulers_on_one_database_run_each_try_once(
    make_system: Callable[..., System], tmp_path: Path
) -> None:
    journal = tmp_path / "journal"
    first = make_system(core={"parallelism": 6})
    second = make_system(core={"parallelism": 6})
    first.add_dag(
        "fan",
        f"""
        with DAG("fan", schedule=None, max_active_tasks=64):
            for i in range(40):
                PythonOperator(task_id=f"t{{i:02d}}", python_callable=work,
                               op_args=[{str(journal)!r}, 0.05])
        """,
    )
    run_id = first.trigger("fan")
    finished = {DagRunState.SUCCESS.value, DagRunState.FAILED.value}
    errors: list[BaseException] = []

    def drive(system: System) -> None:
        try:
            system.run_until(lambda: system.run_state("fan", run_id) in finished, timeout=90)
        except BaseException as exc:  # reported by the test's thread below
            errors.append(exc)

    threads = [threading.Thread(target=drive, args=(s,)) for s in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert first.run_state("fan", run_id) == DagRunState.SUCCESS.value
    entries = read_journal(journal)
    assert Counter(e.task_id for e in entries) == Counter(f"t{i:02d}" for i in range(40))
    assert {e.try_number for e in entries} == {1}
    instances = first.instances("fan", run_id)
    assert {(ti.state, ti.try_number) for ti in instances} == {("success", 1)}
    # Both took part: each queued some of the tries.
    jobs = {first.scheduler.job_id, second.scheduler.job_id}
    assert {ti.queued_by_job_id for ti in instances} == jobs


@sqlite_only
def test_a_second_scheduler_on_sqlite_is_told_another_holds_the_lease(system: System) -> None:
    engine = engine_module.create_engine(system.settings.database)
    try:
        sessions = engine_module.session_factory(engine)
        other = Scheduler(system.settings, sessions, create_executor(system.settings))
        with pytest.raises(LeaseHeld, match=r"another scheduler .* is running"):
            other.start()
        # Once the first one stops, the lease is free.
        system.scheduler.stop()
        other.start()
        other.stop()
    finally:
        engine.dispose()
