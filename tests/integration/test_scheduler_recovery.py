"""Schedulers that crowd: two schedulers sharing a PostgreSQL or MariaDB metastore, and SQLite's
lease. (A scheduler killed with SIGKILL is a fault test: tests/faults/test_killed_processes.py.)"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from scheduling import (  # noqa: F401
    System,
    make_system_fixture,
    read_journal,
    servers_only,
    sqlite_only,
    system_fixture,
)

from tradewind.executors import create_executor
from tradewind.metastore import engine as engine_module
from tradewind.scheduler.loop import LeaseHeld, Scheduler
from tradewind.states import DagRunState


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
