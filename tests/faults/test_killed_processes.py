"""Processes killed with SIGKILL in the middle of a run: the scheduler (a new one completes
every run, no try runs twice) and the web server (started again, it works, nothing is lost). A
celery worker killed mid-try: tests/faults/test_celery_faults.py."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from outages import OutageRun, outage_settings, tries_of
from scheduling import (
    System,
    poll,
    read_journal,
    running_system,
    scheduler_process,
    sqlite_only,
    system_sections,
    wait_gone,
)
from webprocess import add_admin, web_sections, webserver_process

from tradewind.settings import Settings
from tradewind.states import DagRunState, TaskState


def _children(pid: int) -> list[int]:
    """The processes ``pid`` started that still run (the fork server, the DAG processor)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(p) for p in (task / "children").read_text().split()]
    return found


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
        assert poll(lambda: len(read_journal(journal)) == 4), log.read_text()
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
        assert poll(lambda: system.run_state("sleepers", run_id) in finished), log.read_text()
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


@pytest.mark.parametrize(
    "db_dialect", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_a_web_server_killed_mid_run_is_started_again_and_loses_nothing(
    migrated_db_url: str, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = outage_settings(make_settings, tmp_path, migrated_db_url, **web_sections())
    log, web_log = tmp_path / "scheduler.log", tmp_path / "webserver.log"
    with (
        running_system(settings, settings.core.dags_folder, start=False) as system,
        scheduler_process(settings, log),
    ):
        add_admin(system)
        run = OutageRun(system, tmp_path)
        run.add_dag()
        system.set_paused("outage", False)
        with webserver_process(settings, web_log) as web:
            made = web.post("/api/v1/variables", json={"key": "before", "value": "kept"})
            assert made.status_code == 200, made.text
            started = web.post("/api/v1/dags/outage/dagRuns", json={"conf": {"n": 1}})
            assert started.status_code == 200, started.text
            run.run_id = started.json()["dag_run_id"]
            assert poll(run.first_tries_run), log.read_text()
            web.process.send_signal(signal.SIGKILL)
            web.process.wait()
        with webserver_process(settings, web_log) as web:
            assert web.get("/api/v1/variables/before").json()["value"] == "kept"
            run.end_during()
            (tmp_path / "after").touch()
            path = f"/api/v1/dags/outage/dagRuns/{run.run_id}"
            assert poll(lambda: web.get(path).json()["state"] == "success", 90), log.read_text()
            assert web.get(path).json()["conf"] == {"n": 1}
            again = web.post("/api/v1/variables", json={"key": "after", "value": "new"})
            assert again.status_code == 200, again.text
    run.assert_each_try_once()
    assert tries_of(run.journal, "spans") == [(1, True)]
