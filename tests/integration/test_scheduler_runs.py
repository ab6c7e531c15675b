"""Real DAG runs through the real scheduler, DAG processor, local executor and task runner,
on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from scheduling import System, make_system_fixture, system_fixture  # noqa: F401

from tradewind.metastore.store import runs as run_store
from tradewind.metastore.store import tasks as task_store
from tradewind.scheduler.operations import clear_tasks
from tradewind.states import TaskState


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


def test_dag_callbacks_run_when_a_run_ends(system: System, tmp_path: Path) -> None:
    record = tmp_path / "callbacks.txt"
    system.add_dag(
        "callbacks",
        f"""
        def remember(context):
            with open({str(record)!r}, "a") as out:
                out.write(context["reason"] + " " + context["run_id"] + "\\n")

        def boom():
            raise RuntimeError("no")

        with DAG("callbacks", schedule=None, on_success_callback=remember,
                 on_failure_callback=remember):
            PythonOperator(task_id="work", python_callable=boom)
        """,
    )
    run_id = system.trigger("callbacks")
    assert system.wait("callbacks", run_id) == "failed"
    system.scheduler.run_until(record.exists, timeout=30)
    assert record.read_text().split() == ["failed", run_id]


def test_clearing_a_running_task_stops_its_try_and_runs_it_again(
    make_system: Callable[..., System], tmp_path: Path
) -> None:
    system = make_system(scheduler={"job_timeout": 2})
    first = tmp_path / "first_try_pid"
    system.add_dag(
        "clear_running",
        f"""
        def work():
            marker = Path({str(first)!r})
            if not marker.exists():
                marker.write_text(str(os.getpid()))
                time.sleep(120)
            return "second"

        with DAG("clear_running", schedule=None):
            PythonOperator(task_id="work", python_callable=work)
        """,
    )
    run_id = system.trigger("clear_running")
    assert system.run_until(first.exists)
    with system.sessions.begin() as session:
        clear_tasks(session, "clear_running", run_id, ["work"], now=datetime.now(UTC))
    assert system.wait("clear_running", run_id) == "success"
    assert system.xcom("clear_running", run_id, "work") == "second"
    pid = int(first.read_text())
    assert system.run_until(lambda: not _alive(pid))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
