"""Clearing a queued or running task instance restarts it, as in Airflow: it is restarting
until its try's process has ended (the scheduler stops it as soon as it hears of the clear),
then it runs again with the next try number. Two tries of one task instance never run at
once. Marking a running task instance by hand stops its process just as promptly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from scheduling import (  # noqa: F401
    Entry,
    System,
    make_system_fixture,
    pid_alive,
    read_journal,
    running_system,
    scheduler_process,
    sqlite_only,
    system_fixture,
    system_sections,
    wait_gone,
)
from sqlalchemy import update
from webtest import Web, make_web_fixture  # noqa: F401

from tradewind.metastore.models import DagRun, TaskInstance
from tradewind.scheduler import marking
from tradewind.scheduler.operations import clear_instances
from tradewind.settings import Settings
from tradewind.states import TaskState

# Try 1 waits on a gate that never opens; stopped, it takes its time to go (its failure
# callback sleeps, then notes "end"): the next try must not start before that. Try 2 works.
GATED = """
JOURNAL = {journal!r}


def gated(ti=None):
    if ti.try_number > 1:
        work(JOURNAL, ti=ti)
        return
    note(JOURNAL, ti.task_id, os.getpid(), ti.try_number, "start", time.time())
    wait_for({gate!r}, limit=120)


def last_words(context):
    time.sleep(0.5)
    ti = context["ti"]
    note(JOURNAL, ti.task_id, os.getpid(), ti.try_number, "end", time.time())


with DAG("gated", schedule=None):
    work_task = PythonOperator(
        task_id="work", python_callable=gated, on_failure_callback=last_words
    )
    after = PythonOperator(
        task_id="after", python_callable=lambda ti=None: work(JOURNAL, ti=ti)
    )
    work_task >> after
"""

RESTARTING = TaskState.RESTARTING


def gated(system: System, tmp_path: Path) -> tuple[str, Path]:
    """A run of ``gated`` whose task ``work`` is running its first try; and the journal."""
    journal = tmp_path / "journal"
    system.add_dag("gated", GATED.format(journal=str(journal), gate=str(tmp_path / "never")))
    run_id = system.trigger("gated")
    assert system.run_until(
        lambda: (
            bool(tries(journal, "work"))
            and system.state("gated", run_id, "work") is TaskState.RUNNING
        )
    )
    return run_id, journal


def tries(journal: Path, task_id: str) -> list[Entry]:
    return [e for e in read_journal(journal) if e.task_id == task_id]


def poll(done: Callable[[], bool], timeout: float = 30) -> bool:
    """Wait (bounded) for ``done()`` while a scheduler process does the work."""
    end = time.monotonic() + timeout
    while not done() and time.monotonic() < end:
        time.sleep(0.05)
    return done()


def clear_work(system: System, run_id: str) -> list[tuple[str | None, int]]:
    with system.sessions.begin() as session:
        cleared = clear_instances(session, "gated", run_id, ["work"], now=datetime.now(UTC))
        return [(ti.state, ti.try_number) for ti in cleared]


def assert_ran_again_after_the_old_try(
    system: System, run_id: str, journal: Path, *, killed: bool = False
) -> None:
    """The run succeeded with try 2 of ``work``, started after try 1's process had ended."""
    assert system.wait("gated", run_id) == "success"
    first, second = tries(journal, "work")
    assert (first.try_number, second.try_number) == (1, 2)
    assert not pid_alive(first.pid)
    assert second.end is not None
    # The old try's last act (its failure callback, after it was stopped) came before the
    # new try's start; a try killed outright never wrote its end.
    if killed:
        assert first.end is None
    else:
        assert first.end is not None
        assert first.end < second.start
    ti = system.instance("gated", run_id, "work")
    assert (ti.state, ti.try_number) == ("success", 2)
    history = system.history("gated", run_id, "work")
    assert [(h.try_number, h.state) for h in history] == [(1, "failed"), (2, "success")]
    assert [e.try_number for e in tries(journal, "after")] == [1]


@pytest.mark.parametrize("executor", ["local", "sequential"])
def test_clearing_a_running_task_stops_its_try_before_the_next_one_starts(
    make_system: Callable[..., System], tmp_path: Path, executor: str
) -> None:
    # The sweep for abandoned tries comes only every 30 s: it is not what stops the try.
    system = make_system(core={"executor": executor}, scheduler={"job_timeout": 60})
    run_id, journal = gated(system, tmp_path)
    [old] = tries(journal, "work")
    assert clear_work(system, run_id) == [(RESTARTING.value, 1)]
    # Nothing is recorded yet: the try is still running.
    assert system.history("gated", run_id, "work") == []
    assert system.state("gated", run_id, "work") is RESTARTING
    assert system.run_until(
        lambda: system.state("gated", run_id, "work") is not RESTARTING, timeout=20
    )
    # Back to none (or on to the next try) only once the old process is gone.
    assert not pid_alive(old.pid)
    assert_ran_again_after_the_old_try(system, run_id, journal)


@pytest.mark.parametrize(
    "db_dialect", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_clearing_a_running_task_through_the_api_restarts_it(
    make_web: Callable[..., Web], tmp_path: Path
) -> None:
    web = make_web(scheduler={"job_timeout": 60})
    run_id, journal = gated(web.system, tmp_path)
    answer = web.post(
        "/api/v1/dags/gated/clearTaskInstances",
        json={"dag_run_id": run_id, "task_ids": ["work"], "dry_run": False, "only_failed": False},
    )
    assert answer.status_code == 200, answer.text
    cleared = answer.json()["task_instances"]
    assert [(t["task_id"], t["state"], t["try_number"]) for t in cleared] == [
        ("work", "restarting", 1)
    ]
    assert_ran_again_after_the_old_try(web.system, run_id, journal)


@sqlite_only
def test_clearing_a_run_restarts_its_running_task_and_resets_the_rest(
    make_web: Callable[..., Web], tmp_path: Path
) -> None:
    web = make_web(scheduler={"job_timeout": 60})
    run_id, journal = gated(web.system, tmp_path)
    answer = web.post(f"/api/v1/dags/gated/dagRuns/{run_id}/clear", json={"dry_run": False})
    assert answer.status_code == 200, answer.text
    assert web.system.states("gated", run_id) == {"work": RESTARTING, "after": TaskState.NONE}
    assert_ran_again_after_the_old_try(web.system, run_id, journal)


@sqlite_only
def test_marking_a_running_task_success_stops_its_process_and_runs_downstream(
    make_system: Callable[..., System], tmp_path: Path
) -> None:
    system = make_system(scheduler={"job_timeout": 60})
    run_id, journal = gated(system, tmp_path)
    [old] = tries(journal, "work")
    with system.sessions.begin() as session:
        marked = marking.mark_tasks(
            session, "gated", run_id, ["work"], TaskState.SUCCESS, now=datetime.now(UTC)
        )
    assert [ti.state for ti in marked] == ["success"]
    # Stopped on the scheduler's next pass, long before its 30 s sweep could.
    assert system.run_until(lambda: not pid_alive(old.pid), timeout=20)
    assert system.wait("gated", run_id) == "success"
    assert [e.try_number for e in tries(journal, "after")] == [1]
    # The stopped try's own report (failed) came too late to count.
    ti = system.instance("gated", run_id, "work")
    assert (ti.state, ti.try_number) == ("success", 1)
    assert [(h.try_number, h.state) for h in system.history("gated", run_id, "work")] == [
        (1, "success")
    ]


@sqlite_only
def test_a_restarting_task_whose_process_was_killed_runs_again(
    make_system: Callable[..., System], tmp_path: Path
) -> None:
    system = make_system(scheduler={"job_timeout": 60})
    run_id, journal = gated(system, tmp_path)
    [old] = tries(journal, "work")
    assert clear_work(system, run_id) == [(RESTARTING.value, 1)]
    # Gone before the scheduler even heard of the clear.
    os.killpg(old.pid, signal.SIGKILL)
    assert wait_gone([old.pid]) == []
    assert_ran_again_after_the_old_try(system, run_id, journal, killed=True)


@sqlite_only
def test_a_restarting_task_no_live_scheduler_holds_runs_again_after_the_sweep(
    make_system: Callable[..., System], tmp_path: Path
) -> None:
    system = make_system(scheduler={"job_timeout": 2})
    journal = tmp_path / "journal"
    system.add_dag(
        "plain",
        f"""
        def plain(ti=None):
            work({str(journal)!r}, ti=ti)

        with DAG("plain", schedule=None):
            PythonOperator(task_id="work", python_callable=plain)
        """,
    )
    run_id = system.trigger("plain")
    assert system.wait("plain", run_id) == "success"
    # As if try 2 had been cleared while a scheduler that has died since ran it: nobody
    # holds its process, nobody will report its end.
    with system.sessions.begin() as session:
        session.execute(
            update(TaskInstance)
            .where(TaskInstance.dag_id == "plain", TaskInstance.run_id == run_id)
            .values(state=RESTARTING.value, try_number=2, queued_by_job_id=424242)
        )
        session.execute(
            update(DagRun)
            .where(DagRun.dag_id == "plain", DagRun.run_id == run_id)
            .values(state="running", end_date=None)
        )
    assert system.wait("plain", run_id) == "success"
    assert [e.try_number for e in tries(journal, "work")] == [1, 3]
    history = system.history("plain", run_id, "work")
    assert [(h.try_number, h.state) for h in history] == [
        (1, "success"),
        (2, "failed"),
        (3, "success"),
    ]


@pytest.mark.parametrize(
    "db_dialect", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_a_clear_from_the_command_line_wakes_the_scheduler_to_restart_the_task(
    migrated_db_url: str, tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    # No unprompted look for an hour, no sweep for 60 s: only the wake-up can do it in time.
    sections = system_sections(
        core={"dags_folder": str(dags)},
        scheduler={"wake_interval": 3600.0, "job_timeout": 120},
    )
    settings = make_settings(tmp_path, migrated_db_url, **sections)
    journal = tmp_path / "journal"
    log = tmp_path / "scheduler.log"
    with running_system(settings, dags, start=False) as system:
        system.add_dag("gated", GATED.format(journal=str(journal), gate=str(tmp_path / "never")))
        with scheduler_process(settings, log):
            run_id = system.trigger("gated")
            assert poll(lambda: bool(tries(journal, "work"))), log.read_text()
            [old] = tries(journal, "work")
            command = ["tasks", "clear", "gated", run_id, "--task-id", "work", "--yes"]
            subprocess.run(
                [sys.executable, "-m", "tradewind", *command],
                env={**os.environ, **settings.to_env()},
                capture_output=True,
                text=True,
                check=True,
            )
            done = poll(lambda: system.run_state("gated", run_id) == "success", timeout=40)
            assert done, log.read_text()
    first, second = tries(journal, "work")
    assert first.pid == old.pid
    assert first.end is not None
    assert first.end < second.start
    assert second.try_number == 2
