"""Limits on what runs at once, through the real scheduler and local executor: pools and
pool_slots, priority_weight and weight rules under parallelism 1, max_active_tasks and
max_active_runs."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from scheduling import (  # noqa: F401
    System,
    make_system_fixture,
    most_at_once,
    read_journal,
    row_intervals,
    sqlite_only,
    system_fixture,
)

from tradewind.metastore.store import pools as pool_store
from tradewind.states import DagRunState, TaskState


def test_pools_never_run_more_tries_than_their_slots(system: System, tmp_path: Path) -> None:
    journal = tmp_path / "journal"
    with system.sessions.begin() as session:
        pool_store.set_pool(session, "single", 1, "one at a time")
        pool_store.set_pool(session, "pair", 2, "two slots")
    system.add_dag(
        "pooled",
        f"""
        with DAG("pooled", schedule=None):
            for i in range(3):
                PythonOperator(task_id=f"one_{{i}}", python_callable=work, pool="single",
                               op_args=[{str(journal)!r}, 0.2])
                PythonOperator(task_id=f"two_{{i}}", python_callable=work, pool="pair",
                               pool_slots=2, op_args=[{str(journal)!r}, 0.2])
        """,
    )
    run_id = system.trigger("pooled")
    assert system.wait("pooled", run_id) == "success"
    instances = system.instances("pooled", run_id)
    for prefix in ("one_", "two_"):
        rows = [ti for ti in instances if ti.task_id.startswith(prefix)]
        assert len(rows) == 3
        # As the scheduler recorded them, and as the tries themselves saw it.
        assert most_at_once(row_intervals(rows)) == 1, prefix
        entries = [e for e in read_journal(journal) if e.task_id.startswith(prefix)]
        assert most_at_once([(e.start, e.end) for e in entries]) == 1, prefix
    # Nothing stays counted against the pools once the run is over.
    with system.sessions() as session:
        assert pool_store.usage(session) == {}


def test_priority_weight_orders_the_whole_queue_across_dags(
    make_system: Callable[..., System], tmp_path: Path
) -> None:
    system = make_system(core={"parallelism": 1})
    journal = tmp_path / "journal"
    weights = {"first": {"low": 1, "high": 10}, "second": {"mid": 5, "top": 20}}
    for dag_id, tasks in weights.items():
        system.add_dag(
            dag_id,
            f"""
            with DAG({dag_id!r}, schedule=None):
                for name, weight in {tasks!r}.items():
                    PythonOperator(task_id=name, python_callable=work, priority_weight=weight,
                                   op_args=[{str(journal)!r}])
            """,
        )
    runs = {dag_id: system.trigger(dag_id) for dag_id in weights}
    for dag_id, run_id in runs.items():
        assert system.wait(dag_id, run_id) == "success"
    assert [e.task_id for e in read_journal(journal)] == ["top", "high", "mid", "low"]
    started = sorted(
        (ti.start_date, ti.task_id)
        for dag_id, run_id in runs.items()
        for ti in system.instances(dag_id, run_id)
    )
    assert [task_id for _, task_id in started] == ["top", "high", "mid", "low"]


def test_a_try_that_fits_goes_ahead_of_many_higher_ones_waiting_for_a_pool(
    make_system: Callable[..., System], tmp_path: Path
) -> None:
    system = make_system(core={"parallelism": 2})
    gate = tmp_path / "gate"
    with system.sessions.begin() as session:
        pool_store.set_pool(session, "single", 1, "one at a time")
    system.add_dag(
        "crowded",
        f"""
        with DAG("crowded", schedule=None):
            for i in range(40):
                PythonOperator(task_id=f"pooled_{{i}}", python_callable=work, pool="single",
                               priority_weight=10,
                               op_kwargs={{"journal": {str(tmp_path / "j")!r},
                                           "gate": {str(gate)!r}}})
            PythonOperator(task_id="low", python_callable=work, priority_weight=1,
                           op_args=[{str(tmp_path / "j")!r}])
        """,
    )
    run_id = system.trigger("crowded")
    # The pooled tries wait for the gate, one at a time: "low" does not wait for them.
    assert system.run_until(lambda: system.state("crowded", run_id, "low") is TaskState.SUCCESS)
    states = system.states("crowded", run_id)
    assert sum(state is TaskState.SUCCESS for state in states.values()) == 1
    gate.touch()
    assert system.wait("crowded", run_id) == "success"


@sqlite_only  # the weight totals come from the DAG's structure, not from the database
def test_weight_rules_decide_which_root_goes_first(
    make_system: Callable[..., System], tmp_path: Path
) -> None:
    system = make_system(core={"parallelism": 1})
    journal = tmp_path / "journal"
    for rule in ("downstream", "absolute"):
        system.add_dag(
            f"by_{rule}",
            f"""
            with DAG("by_{rule}", schedule=None, default_args={{"weight_rule": {rule!r}}}):
                def step(name, weight):
                    return PythonOperator(task_id=name, python_callable=work,
                                          priority_weight=weight, op_args=[{str(journal)!r}])

                # Downstream totals: long_root 1 + 3 = 4 beats short_root 3.
                # Absolute weights: short_root 3 beats long_root 1.
                step("long_root", 1) >> step("a", 1) >> step("b", 1) >> step("c", 1)
                step("short_root", 3)
            """,
        )
    orders = {}
    for rule in ("downstream", "absolute"):
        run_id = system.trigger(f"by_{rule}")
        assert system.wait(f"by_{rule}", run_id) == "success"
        orders[rule] = [e.task_id for e in read_journal(journal)]
        journal.unlink()
    assert orders["downstream"][:2] == ["long_root", "short_root"]
    assert orders["absolute"][:2] == ["short_root", "long_root"]


def test_max_active_tasks_caps_a_dag_below_parallelism(system: System, tmp_path: Path) -> None:
    journal = tmp_path / "journal"
    system.add_dag(
        "capped",
        f"""
        with DAG("capped", schedule=None, max_active_tasks=2):
            for i in range(5):
                PythonOperator(task_id=f"t{{i}}", python_callable=work,
                               op_args=[{str(journal)!r}, 0.2])
        """,
    )
    run_id = system.trigger("capped")
    assert system.wait("capped", run_id) == "success"
    assert most_at_once(row_intervals(system.instances("capped", run_id))) <= 2
    entries = read_journal(journal)
    assert len(entries) == 5
    assert most_at_once([(e.start, e.end) for e in entries]) <= 2


def test_a_second_run_waits_for_max_active_runs(system: System, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    journal = tmp_path / "journal"
    system.add_dag(
        "one_run",
        f"""
        with DAG("one_run", schedule=None, max_active_runs=1):
            PythonOperator(task_id="hold", python_callable=work,
                           op_kwargs={{"journal": {str(journal)!r}, "gate": {str(gate)!r}}})
        """,
    )
    first = system.trigger("one_run", logical_date=_date(1))
    second = system.trigger("one_run", logical_date=_date(2))
    assert system.run_until(lambda: system.state("one_run", first, "hold") is TaskState.RUNNING)
    system.settle(0.5)
    assert system.run_state("one_run", second) == DagRunState.QUEUED.value
    assert system.states("one_run", second) == {}
    gate.touch()
    assert system.wait("one_run", first) == "success"
    assert system.wait("one_run", second) == "success"
    first_run, second_run = system.run("one_run", first), system.run("one_run", second)
    assert first_run.end_date is not None
    assert second_run.start_date is not None
    assert second_run.start_date >= first_run.end_date


def _date(day: int) -> datetime:
    return datetime(2024, 1, day, tzinfo=UTC)
