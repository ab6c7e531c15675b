"""Why is this task not running? Each condition through the real scheduler, in the words of
``tradewind tasks failed-deps``, the REST API and the library call behind both."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import Result
from scheduling import System, make_system_fixture, sqlite_only, system_fixture  # noqa: F401
from sqlalchemy import update
from webtest import Web, make_web_fixture, web_fixture  # noqa: F401

from tradewind.metastore.models import Job, TaskInstance
from tradewind.metastore.store import pools as pool_store
from tradewind.metastore.types import utcnow
from tradewind.scheduler import whynot
from tradewind.states import TaskState

pytestmark = [sqlite_only, pytest.mark.timeout(120)]

Cli = Callable[..., Result]


def deps(system: System, dag_id: str, run_id: str, task_id: str) -> dict[str, str]:
    with system.sessions() as session:
        found = whynot.failed_deps(session, system.settings, dag_id, run_id, task_id, now=utcnow())
    return {dep.name: dep.reason for dep in found}


def state_is(system: System, dag_id: str, run_id: str, task_id: str, *states: TaskState) -> bool:
    return system.state(dag_id, run_id, task_id) in states


def test_upstream_tasks_against_the_trigger_rule(
    web: Web, tradewind_cli: Cli, tmp_path: Path
) -> None:
    system = web.system
    gate, journal = tmp_path / "gate", tmp_path / "journal"
    system.add_dag(
        "rules",
        f"""
with DAG("rules", schedule=None, start_date=datetime(2024, 1, 1)) as dag:
    slow = PythonOperator(task_id="slow", python_callable=work,
                          op_kwargs={{"journal": {str(journal)!r}, "gate": {str(gate)!r}}})
    quick = EmptyOperator(task_id="quick")
    [slow, quick] >> EmptyOperator(task_id="joined")
""",
    )
    run_id = system.trigger("rules")
    assert system.run_until(lambda: state_is(system, "rules", run_id, "slow", TaskState.RUNNING))
    assert system.run_until(lambda: state_is(system, "rules", run_id, "quick", TaskState.SUCCESS))
    found = deps(system, "rules", run_id, "joined")
    assert list(found) == ["Trigger Rule"]
    assert "'all_success' requires all upstream tasks to succeed" in found["Trigger Rule"]
    assert "1 succeeded" in found["Trigger Rule"]
    assert "1 not done (slow)" in found["Trigger Rule"]
    # The CLI says the same, in Airflow's words.
    said = tradewind_cli(system.settings, "tasks", "failed-deps", "rules", "joined", run_id)
    assert said.exit_code == 0, said.output
    assert said.output.startswith("Task instance dependencies not met:\nTrigger Rule: Task's")
    # And the REST API.
    path = f"/api/v1/dags/rules/dagRuns/{run_id}/taskInstances/joined/dependencies"
    answer = web.client.get(path, headers=web.as_("viewer"))
    assert answer.status_code == 200
    assert [d["name"] for d in answer.json()["dependencies"]] == ["Trigger Rule"]
    missing = web.client.get(path.replace("joined", "nope"), headers=web.as_("viewer"))
    assert missing.status_code == 404
    # A running task waits on nothing; a finished one is final.
    assert deps(system, "rules", run_id, "slow") == {}
    gate.write_text("go")
    assert system.run_until(lambda: system.run_state("rules", run_id) == "success")
    final = deps(system, "rules", run_id, "joined")
    assert "is in the 'success' state, which is final" in final["Task Instance State"]
    said = tradewind_cli(system.settings, "tasks", "failed-deps", "rules", "slow", run_id)
    assert "Task Instance State" in said.output


def test_a_full_pool_names_who_holds_it(system: System, tmp_path: Path) -> None:
    with system.sessions.begin() as session:
        pool_store.set_pool(session, "tiny", 1, None)
    gate, journal = tmp_path / "gate", tmp_path / "journal"
    system.add_dag(
        "pooled",
        f"""
with DAG("pooled", schedule=None, start_date=datetime(2024, 1, 1)) as dag:
    for name in ("holder", "waiter"):
        PythonOperator(task_id=name, pool="tiny", priority_weight=10 if name == "holder" else 1,
                       python_callable=work,
                       op_kwargs={{"journal": {str(journal)!r}, "gate": {str(gate)!r}}})
""",
    )
    run_id = system.trigger("pooled")
    assert system.run_until(lambda: state_is(system, "pooled", run_id, "holder", TaskState.RUNNING))
    found = deps(system, "pooled", run_id, "waiter")
    assert "Pool 'tiny' has 0 free slots and the task needs 1" in found["Pool Slots Available"]
    assert "held by pooled.holder (1 tries, 1 slots)" in found["Pool Slots Available"]
    gate.write_text("go")
    assert system.run_until(lambda: system.run_state("pooled", run_id) == "success")


def test_dag_and_task_concurrency_and_active_runs(system: System, tmp_path: Path) -> None:
    gate, journal = tmp_path / "gate", tmp_path / "journal"
    system.add_dag(
        "limited",
        f"""
with DAG("limited", schedule=None, start_date=datetime(2024, 1, 1), max_active_tasks=1,
         max_active_runs=1) as dag:
    for name in ("first", "second"):
        PythonOperator(task_id=name, priority_weight=10 if name == "first" else 1,
                       max_active_tis_per_dag=1, python_callable=work,
                       op_kwargs={{"journal": {str(journal)!r}, "gate": {str(gate)!r}}})
""",
    )
    first_run = system.trigger("limited")
    assert system.run_until(
        lambda: state_is(system, "limited", first_run, "first", TaskState.RUNNING)
    )
    found = deps(system, "limited", first_run, "second")
    assert (
        "The DAG has 1 tries running or queued; its max_active_tasks is 1"
        in found["Dag Max Active Tasks"]
    )
    # A second run waits for the first: max_active_runs.
    second_run = system.trigger("limited")
    system.settle(0.5)
    waiting = deps(system, "limited", second_run, "first")
    assert "the DAG has 1 running runs and its max_active_runs is 1" in waiting["Dagrun Running"]
    gate.write_text("go")
    assert system.run_until(lambda: system.run_state("limited", second_run) == "success")


def test_task_concurrency_over_runs(make_system: Callable[..., System], tmp_path: Path) -> None:
    system = make_system()
    gate, journal = tmp_path / "gate", tmp_path / "journal"
    system.add_dag(
        "solo",
        f"""
with DAG("solo", schedule=None, start_date=datetime(2024, 1, 1)) as dag:
    PythonOperator(task_id="only", max_active_tis_per_dag=1, python_callable=work,
                   op_kwargs={{"journal": {str(journal)!r}, "gate": {str(gate)!r}}})
""",
    )
    first, second = system.trigger("solo"), system.trigger("solo")
    assert system.run_until(
        lambda: any(state_is(system, "solo", r, "only", TaskState.RUNNING) for r in (first, second))
    )
    system.settle(0.3)
    held = second if state_is(system, "solo", first, "only", TaskState.RUNNING) else first
    found = deps(system, "solo", held, "only")
    assert "its max_active_tis_per_dag is 1" in found["Task Concurrency"]
    gate.write_text("go")


def test_executor_slots_full(make_system: Callable[..., System], tmp_path: Path) -> None:
    system = make_system(core={"parallelism": 1})
    gate, journal = tmp_path / "gate", tmp_path / "journal"
    system.add_dag(
        "busy",
        f"""
with DAG("busy", schedule=None, start_date=datetime(2024, 1, 1)) as dag:
    for name in ("a", "b"):
        PythonOperator(task_id=name, priority_weight=10 if name == "a" else 1,
                       python_callable=work,
                       op_kwargs={{"journal": {str(journal)!r}, "gate": {str(gate)!r}}})
""",
    )
    run_id = system.trigger("busy")
    assert system.run_until(lambda: state_is(system, "busy", run_id, "a", TaskState.RUNNING))
    found = deps(system, "busy", run_id, "b")
    assert "All 1 executor slots (core.parallelism) are taken" in found["Executor Slots Available"]
    gate.write_text("go")
    assert system.run_until(lambda: system.run_state("busy", run_id) == "success")


def test_paused_dag_retry_and_reschedule_times(system: System, tmp_path: Path) -> None:
    system.add_dag(
        "waits",
        """
def fail():
    raise RuntimeError("not yet")


with DAG("waits", schedule=None, start_date=datetime(2024, 1, 1)) as dag:
    PythonOperator(task_id="retried", python_callable=fail, retries=1,
                   retry_delay=timedelta(hours=1))
    PythonSensor(task_id="sensing", python_callable=lambda: False, mode="reschedule",
                 poke_interval=3600)
""",
    )
    run_id = system.trigger("waits")
    assert system.run_until(
        lambda: (
            state_is(system, "waits", run_id, "retried", TaskState.UP_FOR_RETRY)
            and state_is(system, "waits", run_id, "sensing", TaskState.UP_FOR_RESCHEDULE)
        )
    )
    retry = deps(system, "waits", run_id, "retried")["Not In Retry Period"]
    assert retry.startswith("Try 1 failed; it may run again at ")
    assert "(in 35" in retry or "(in 36" in retry
    sensing = deps(system, "waits", run_id, "sensing")["Not In Reschedule Period"]
    assert sensing.startswith("The sensor rescheduled itself; it may run again at ")
    system.set_paused("waits", True)
    assert "The DAG waits is paused" in deps(system, "waits", run_id, "retried")["Dag Not Paused"]


def test_deferred_queued_and_no_scheduler(system: System) -> None:
    system.add_dag(
        "deferring",
        """
from tradewind.sensors.date_time import DateTimeSensorAsync

with DAG("deferring", schedule=None, start_date=datetime(2024, 1, 1)) as dag:
    DateTimeSensorAsync(task_id="later", target_time="2999-01-01T00:00:00+00:00")
    EmptyOperator(task_id="other")
""",
    )
    run_id = system.trigger("deferring")
    assert system.run_until(
        lambda: state_is(system, "deferring", run_id, "later", TaskState.DEFERRED)
    )
    deferred = deps(system, "deferring", run_id, "later")["Deferred"]
    assert "Deferred on trigger tradewind.triggers.temporal.DateTimeTrigger" in deferred
    assert "no triggerer is running: start one with `tradewind triggerer`" in deferred
    # A try the executor has not started: queued for a while (set by hand: the local
    # executor starts a queued try at once).
    with system.sessions.begin() as session:
        session.execute(
            update(TaskInstance)
            .where(TaskInstance.run_id == run_id, TaskInstance.task_id == "other")
            .values(state="queued", queued_dttm=utcnow() - timedelta(seconds=90))
        )
    queued = deps(system, "deferring", run_id, "other")["Waiting In Executor Queue"]
    assert queued.startswith("Queued for 9")
    # No scheduler heartbeats any more: said first.
    with system.sessions.begin() as session:
        session.execute(update(Job).values(latest_heartbeat=utcnow() - timedelta(hours=1)))
    found = deps(system, "deferring", run_id, "other")
    assert next(iter(found)) == "Scheduler Alive"
    assert "No scheduler is running" in found["Scheduler Alive"]
