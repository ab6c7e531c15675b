"""Real DAG runs through the real scheduler, DAG processor, local executor and task runner,
on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import itertools
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tradewind.executors import create_executor
from tradewind.metastore import engine as engine_module
from tradewind.metastore.store import dags as dag_store
from tradewind.metastore.store import runs as run_store
from tradewind.metastore.store import tasks as task_store
from tradewind.metastore.store import xcom as xcom_store
from tradewind.parsing.processor import DagProcessor
from tradewind.scheduler.loop import Scheduler
from tradewind.scheduler.trigger import trigger_dag
from tradewind.settings import Settings
from tradewind.states import DagRunState, TaskState

HEADER = """
from datetime import datetime, timedelta, timezone
from tradewind import DAG, task
from tradewind.operators import (
    BashOperator, BranchPythonOperator, EmptyOperator, PythonOperator, ShortCircuitOperator,
)
"""


@dataclass
class System:
    settings: Settings
    sessions: sessionmaker[Session]
    dags: Path
    scheduler: Scheduler

    def add_dag(self, name: str, body: str) -> None:
        (self.dags / f"{name}.py").write_text(HEADER + textwrap.dedent(body))
        DagProcessor(self.settings, self.sessions).scan()

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None) -> str:
        with self.sessions.begin() as session:
            dag_store.set_paused(session, dag_id, False)
            run = trigger_dag(session, dag_id, now=datetime.now(UTC), conf=conf)
            return run.run_id

    def run_state(self, dag_id: str, run_id: str) -> str | None:
        with self.sessions() as session:
            run = run_store.get_run(session, dag_id, run_id)
            return run.state if run else None

    def wait(self, dag_id: str, run_id: str, timeout: float = 60) -> str | None:
        finished = {DagRunState.SUCCESS.value, DagRunState.FAILED.value}
        self.scheduler.run_until(
            lambda: self.run_state(dag_id, run_id) in finished, timeout=timeout
        )
        return self.run_state(dag_id, run_id)

    def states(self, dag_id: str, run_id: str) -> dict[str, TaskState]:
        with self.sessions() as session:
            return task_store.states_of_run(session, dag_id, run_id)

    def xcom(self, dag_id: str, run_id: str, task_id: str) -> Any:
        with self.sessions() as session:
            return xcom_store.get_xcom(session, dag_id, run_id, task_id, "return_value")


@pytest.fixture
def system(
    migrated_db_url: str, tmp_path: Path, make_settings: Callable[..., Settings]
) -> Iterator[System]:
    dags = tmp_path / "dags"
    dags.mkdir()
    settings = make_settings(
        tmp_path,
        migrated_db_url,
        core={"dags_folder": str(dags), "load_examples": False, "parallelism": 8},
        scheduler={"run_dag_processor": False},
    )
    engine = engine_module.create_engine(settings.database)
    sessions = engine_module.session_factory(engine)
    scheduler = Scheduler(settings, sessions, create_executor(settings))
    scheduler.start()
    try:
        yield System(settings, sessions, dags, scheduler)
    finally:
        scheduler.stop()
        engine.dispose()


def test_taskflow_chain_passes_xcoms_and_succeeds(system: System) -> None:
    system.add_dag(
        "etl",
        """
        with DAG("etl", schedule=None):
            @task
            def extract():
                return [1, 2, 3]

            @task
            def transform(values):
                return sum(values)

            @task
            def load(total):
                print("total", total)
                return total * 10

            load(transform(extract()))
        """,
    )
    run_id = system.trigger("etl")
    assert system.wait("etl", run_id) == "success"
    assert system.xcom("etl", run_id, "transform") == 6
    assert system.xcom("etl", run_id, "load") == 60
    assert set(system.states("etl", run_id).values()) == {TaskState.SUCCESS}


def test_fanout_runs_every_task(system: System) -> None:
    system.add_dag(
        "fan",
        """
        with DAG("fan", schedule=None):
            start, end = EmptyOperator(task_id="start"), EmptyOperator(task_id="end")
            middle = [
                PythonOperator(task_id=f"t{i}", python_callable=lambda: None) for i in range(20)
            ]
            start >> middle >> end
        """,
    )
    run_id = system.trigger("fan")
    assert system.wait("fan", run_id) == "success"
    states = system.states("fan", run_id)
    assert len(states) == 22
    assert set(states.values()) == {TaskState.SUCCESS}


def test_branching_skips_the_other_path_and_the_join_runs(system: System) -> None:
    system.add_dag(
        "branch",
        """
        with DAG("branch", schedule=None):
            choose = BranchPythonOperator(task_id="choose", python_callable=lambda: "left")
            left, right = EmptyOperator(task_id="left"), EmptyOperator(task_id="right")
            after_right = EmptyOperator(task_id="after_right")
            join = EmptyOperator(task_id="join", trigger_rule="none_failed_min_one_success")
            choose >> [left, right]
            right >> after_right
            [left, after_right] >> join
        """,
    )
    run_id = system.trigger("branch")
    assert system.wait("branch", run_id) == "success"
    states = system.states("branch", run_id)
    assert states["left"] is TaskState.SUCCESS
    assert states["right"] is TaskState.SKIPPED
    assert states["after_right"] is TaskState.SKIPPED
    assert states["join"] is TaskState.SUCCESS


def test_failure_sets_upstream_failed_and_all_done_still_runs(system: System) -> None:
    system.add_dag(
        "fails",
        """
        def boom():
            raise ValueError("bad input")

        with DAG("fails", schedule=None):
            bad = PythonOperator(task_id="bad", python_callable=boom)
            after = EmptyOperator(task_id="after")
            cleanup = EmptyOperator(task_id="cleanup", trigger_rule="all_done")
            bad >> after
            bad >> cleanup
        """,
    )
    run_id = system.trigger("fails")
    assert system.wait("fails", run_id) == "failed"
    states = system.states("fails", run_id)
    assert states == {
        "bad": TaskState.FAILED,
        "after": TaskState.UPSTREAM_FAILED,
        "cleanup": TaskState.SUCCESS,
    }


def test_a_retry_after_a_failure_succeeds(system: System, tmp_path: Path) -> None:
    marker = tmp_path / "tried"
    system.add_dag(
        "retry",
        f"""
        from pathlib import Path

        def flaky():
            marker = Path({str(marker)!r})
            if not marker.exists():
                marker.write_text("1")
                raise RuntimeError("first try fails")
            return "ok"

        with DAG("retry", schedule=None):
            PythonOperator(task_id="flaky", python_callable=flaky, retries=2,
                           retry_delay=timedelta(seconds=0))
        """,
    )
    run_id = system.trigger("retry")
    assert system.wait("retry", run_id) == "success"
    with system.sessions() as session:
        ti = task_store.get_instance(session, "retry", run_id, "flaky")
        assert ti is not None
        assert ti.try_number == 2
    assert system.xcom("retry", run_id, "flaky") == "ok"


def test_a_crashing_task_fails_alone(system: System) -> None:
    system.add_dag(
        "crash",
        """
        import os

        with DAG("crash", schedule=None):
            PythonOperator(task_id="dies", python_callable=lambda: os._exit(9))
            PythonOperator(task_id="fine", python_callable=lambda: 1)
        """,
    )
    run_id = system.trigger("crash")
    assert system.wait("crash", run_id) == "failed"
    states = system.states("crash", run_id)
    assert states == {"dies": TaskState.FAILED, "fine": TaskState.SUCCESS}


def test_short_circuit_skips_everything_downstream(system: System) -> None:
    system.add_dag(
        "sc",
        """
        with DAG("sc", schedule=None):
            check = ShortCircuitOperator(task_id="check", python_callable=lambda: False)
            a, b = EmptyOperator(task_id="a"), EmptyOperator(task_id="b", trigger_rule="all_done")
            check >> a >> b
        """,
    )
    run_id = system.trigger("sc")
    assert system.wait("sc", run_id) == "success"
    assert system.states("sc", run_id) == {
        "check": TaskState.SUCCESS,
        "a": TaskState.SKIPPED,
        "b": TaskState.SKIPPED,
    }


def test_templated_bash_sees_the_run_conf(system: System, tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    system.add_dag(
        "bash",
        f"""
        with DAG("bash", schedule=None):
            BashOperator(task_id="echo",
                         bash_command="echo {{{{ dag_run.conf['who'] }}}} {{{{ ds }}}} > {out}")
        """,
    )
    run_id = system.trigger("bash", conf={"who": "world"})
    assert system.wait("bash", run_id) == "success"
    assert out.read_text().split()[0] == "world"


def test_catchup_creates_a_run_per_missed_interval(system: System) -> None:
    system.add_dag(
        "daily",
        """
        today = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
        with DAG(
            "daily",
            schedule="@daily",
            start_date=today - timedelta(days=3),
            catchup=True,
            is_paused_upon_creation=False,
        ):
            EmptyOperator(task_id="noop")
        """,
    )
    system.scheduler.run_until(lambda: _finished_runs(system, "daily") >= 3, timeout=60)
    with system.sessions() as session:
        runs = run_store.list_runs(session, "daily")
    scheduled = [r for r in runs if r.run_type == "scheduled"]
    assert len(scheduled) == 3
    assert {r.state for r in scheduled} == {"success"}
    starts = sorted(r.data_interval_start for r in scheduled if r.data_interval_start)
    assert [(b - a).days for a, b in itertools.pairwise(starts)] == [1, 1]


def _finished_runs(system: System, dag_id: str) -> int:
    with system.sessions() as session:
        return sum(1 for r in run_store.list_runs(session, dag_id) if r.state == "success")
