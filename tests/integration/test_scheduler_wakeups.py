"""A scheduler hears of work another process adds (a trigger from the command line) at once,
not at its next wake_interval: SQLite through the database file, PostgreSQL through LISTEN."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from scheduling import (  # noqa: F401
    System,
    make_system_fixture,
    running_system,
    scheduler_process,
    system_fixture,
    system_sections,
)
from sqlalchemy.engine import Engine

from tradewind.metastore import engine as engine_module
from tradewind.metastore import notify
from tradewind.metastore.store import pools as pool_store
from tradewind.scheduler import wakeups
from tradewind.settings import Settings

QUICK = """
with DAG("quick", schedule=None):
    EmptyOperator(task_id="first") >> EmptyOperator(task_id="second")
"""


@pytest.mark.parametrize(
    "db_dialect", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_a_run_triggered_from_another_process_starts_without_waiting_for_a_poll(
    migrated_db_url: str, tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    # The scheduler would poll the metastore only once an hour: if the run finishes while
    # the test waits (far less than that), the trigger woke the scheduler.
    sections = system_sections(
        core={"dags_folder": str(dags)},
        scheduler={"run_dag_processor": True, "wake_interval": 3600.0},
    )
    settings = make_settings(tmp_path, migrated_db_url, **sections)
    with running_system(settings, dags, start=False) as system:
        system.add_dag("quick", QUICK)
        system.set_paused("quick", False)
        with scheduler_process(settings, tmp_path / "scheduler.log"):
            # Let the scheduler settle into its long wait before the trigger comes.
            time.sleep(2.0)
            done = subprocess.run(
                [sys.executable, "-m", "tradewind", "dags", "trigger", "quick"],
                env={**os.environ, **settings.to_env()},
                capture_output=True,
                text=True,
                check=True,
            )
            run_id = done.stdout.strip().splitlines()[-1]
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and system.run_state("quick", run_id) != "success":
                time.sleep(0.1)
            assert system.run_state("quick", run_id) == "success", (
                tmp_path / "scheduler.log"
            ).read_text()


@pytest.mark.parametrize(
    "db_dialect", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_a_request_of_another_process_is_told_apart_from_other_changes(
    engine: Engine, tmp_path: Path
) -> None:
    """A notify of another process calls on_request (the scheduler then looks even right after
    its own commit); the process's own notify, or a commit without one, calls on_change."""
    heard: list[str] = []
    stop = threading.Event()
    sessions = engine_module.session_factory(engine)

    def wait_for(what: str) -> None:
        deadline = time.monotonic() + 10
        while what not in heard and time.monotonic() < deadline:
            time.sleep(0.01)
        assert what in heard, heard

    names = iter(range(100))

    def commit(*, ask: bool) -> None:
        with sessions.begin() as session:
            pool_store.set_pool(session, f"pool{next(names)}", 1, None)
            if ask:
                notify.notify(session)

    def start(own_pid: int) -> None:
        assert wakeups.start_waker(
            engine,
            lambda: heard.append("change"),
            stop,
            on_request=lambda: heard.append("request"),
            own_pid=own_pid,
        )
        time.sleep(0.3)  # the listener is up (PostgreSQL says so with one request at start)
        heard.clear()

    try:
        start(own_pid=-1)  # every notify comes from "another process"
        commit(ask=True)
        wait_for("request")
        if engine.dialect.name == "sqlite":  # PostgreSQL says nothing without a notify
            heard.clear()
            commit(ask=False)
            wait_for("change")
            assert "request" not in heard
        stop.set()
        time.sleep(1.2)
        stop.clear()
        start(own_pid=os.getpid())  # now the notify is this process's own
        commit(ask=True)
        wait_for("change")
        assert "request" not in heard
    finally:
        stop.set()
