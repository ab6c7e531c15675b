"""Mapped tasks when things change under them, on SQLite and PostgreSQL: a scheduler killed
with -9 around an expansion, a DAG file changed mid-run, and a mapped task cleared with the
task it maps over, whose input has another length when it runs again."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from scheduling import (  # noqa: F401
    FINISHED_RUN,
    System,
    make_system_fixture,
    poll,
    running_system,
    scheduler_process,
    system_fixture,
    system_sections,
)

from tradewind.scheduler.operations import clear_tasks
from tradewind.settings import Settings
from tradewind.states import TaskState

pytestmark = pytest.mark.parametrize(
    "db_dialect", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
S = TaskState.SUCCESS
WIDTH = 300


def test_a_scheduler_killed_around_an_expansion_loses_and_doubles_nothing(
    migrated_db_url: str, tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    sections = system_sections(core={"dags_folder": str(dags), "parallelism": 8})
    settings = make_settings(tmp_path, migrated_db_url, **sections)
    with running_system(settings, dags, start=False) as system:
        system.add_dag(
            "wide_map",
            f"""
            with DAG("wide_map", schedule=None, max_active_tasks=64):
                @task
                def items():
                    return list(range({WIDTH}))

                @task(retries=3, retry_delay=timedelta(seconds=0))
                def each(x):
                    return x

                @task
                def total(values):
                    return [len(values), sum(values)]

                total(each.expand(x=items()))
            """,
        )
        run_id = system.trigger("wide_map")
        log = tmp_path / "scheduler.log"
        with scheduler_process(settings, log) as first:
            assert poll(lambda: system.xcom("wide_map", run_id, "items") is not None, 60)
            os.kill(first.pid, signal.SIGKILL)
            first.wait()
        # Expanded all at once or not at all: one unexpanded instance, or every one.
        indexes = set(system.mapped("wide_map", run_id, "each"))
        assert indexes in ({-1}, set(range(WIDTH)))
        with scheduler_process(settings, log):
            assert poll(lambda: system.run_state("wide_map", run_id) in FINISHED_RUN, 120)
        assert system.run_state("wide_map", run_id) == "success"
        assert system.mapped("wide_map", run_id, "each") == dict.fromkeys(range(WIDTH), S)
        assert system.xcom("wide_map", run_id, "total") == [WIDTH, sum(range(WIDTH))]


MID_RUN = """
with DAG("changing", schedule=None):
    @task
    def items():
        wait_for({gate!r})
        return ["a", "b", "c"]

    @task
    def each(x, suffix):
        return x + suffix

    @task
    def total(values):
        return list(values)

    total(each.partial(suffix={suffix!r}).expand(x=items()))
{extra}
"""


def test_a_run_keeps_its_dag_version_when_the_file_changes_mid_run(
    system: System, tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    system.add_dag("changing", MID_RUN.format(gate=str(gate), suffix="-1", extra=""))
    run_id = system.trigger("changing")
    assert system.run_until(lambda: system.state("changing", run_id, "items") is TaskState.RUNNING)
    extra = '    EmptyOperator(task_id="added_later")'
    system.add_dag("changing", MID_RUN.format(gate=str(gate), suffix="-2", extra=extra))
    gate.touch()
    assert system.wait("changing", run_id) == "success"
    # The run's shape is the version it started with: three instances, no task added.
    assert system.mapped("changing", run_id, "each") == dict.fromkeys(range(3), S)
    assert "added_later" not in system.states("changing", run_id)
    assert len(system.xcom("changing", run_id, "total")) == 3


def test_clearing_a_mapped_task_with_its_input_expands_it_to_the_new_length(
    system: System, tmp_path: Path
) -> None:
    count = tmp_path / "count"
    count.write_text("3")
    system.add_dag(
        "recount",
        f"""
        with DAG("recount", schedule=None):
            @task
            def items():
                return list(range(int(Path({str(count)!r}).read_text())))

            @task
            def each(x):
                return x * 10

            @task
            def total(values):
                return list(values)

            total(each.expand(x=items()))
        """,
    )
    run_id = system.trigger("recount")
    assert system.wait("recount", run_id) == "success"
    assert system.xcom("recount", run_id, "total") == [0, 10, 20]

    def rerun(items: int) -> None:
        count.write_text(str(items))
        with system.sessions.begin() as session:
            clear_tasks(
                session, "recount", run_id, ["items"], downstream=True, now=datetime.now(UTC)
            )
        assert system.wait("recount", run_id) == "success"

    rerun(5)
    assert system.mapped("recount", run_id, "each") == dict.fromkeys(range(5), S)
    assert system.xcom("recount", run_id, "total") == [0, 10, 20, 30, 40]
    rerun(2)
    assert system.mapped("recount", run_id, "each") == {
        0: S,
        1: S,
        2: TaskState.REMOVED,
        3: TaskState.REMOVED,
        4: TaskState.REMOVED,
    }
    assert system.xcom("recount", run_id, "total") == [0, 10]
