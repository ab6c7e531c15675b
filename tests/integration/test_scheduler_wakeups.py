"""A scheduler hears of work another process adds (a trigger from the command line) at once,
not at its next wake_interval: SQLite through the database file, PostgreSQL through LISTEN."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from scheduling import (  # noqa: F401
    System,
    make_system_fixture,
    running_system,
    system_fixture,
    system_sections,
)
from test_scheduler_recovery import scheduler_process

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
