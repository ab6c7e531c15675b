"""Whole DAGs through the real scheduler and local executor: every trigger rule over real
success, failure and skip, task groups, and a DAG file changed while one of its runs is going.

These run on SQLite alone: what they test is decided from the serialized DAG, the same on
every database (the store's queries are covered on every dialect by the other files).
"""

from __future__ import annotations

from pathlib import Path

from scheduling import (  # noqa: F401
    System,
    make_system_fixture,
    sqlite_only,
    system_fixture,
)
from sqlalchemy import select

from tradewind.metastore.models import SerializedDagModel
from tradewind.states import TaskState

S, F, K, U = (
    TaskState.SUCCESS,
    TaskState.FAILED,
    TaskState.SKIPPED,
    TaskState.UPSTREAM_FAILED,
)

# (upstream tasks, trigger rule) -> the state the downstream task ends in.
EXPECTED = {
    ("ok bad skip", "all_success"): U,
    ("ok bad skip", "all_failed"): K,
    ("ok bad skip", "all_done"): S,
    ("ok bad skip", "all_done_min_one_success"): S,
    ("ok bad skip", "all_skipped"): K,
    ("ok bad skip", "one_success"): S,
    ("ok bad skip", "one_failed"): S,
    ("ok bad skip", "one_done"): S,
    ("ok bad skip", "none_failed"): U,
    ("ok bad skip", "none_failed_min_one_success"): U,
    ("ok bad skip", "none_skipped"): K,
    ("ok bad skip", "always"): S,
    ("ok skip", "all_success"): K,
    ("ok skip", "none_failed"): S,
    ("ok skip", "none_failed_min_one_success"): S,
    ("ok skip", "one_failed"): K,
    ("ok skip", "none_skipped"): K,
    ("skip", "all_skipped"): S,
    ("skip", "none_failed"): S,
    ("skip", "none_failed_min_one_success"): K,
    ("skip", "one_success"): K,
    ("skip", "one_done"): K,
    ("skip", "all_done_min_one_success"): K,
    ("bad", "all_failed"): S,
    ("bad", "one_failed"): S,
    ("bad", "all_done_min_one_success"): K,
    ("bad", "one_success"): U,
}


def _rule_task_id(upstream: str, rule: str) -> str:
    return f"{upstream.replace(' ', '_')}__{rule}"


@sqlite_only
def test_every_trigger_rule_holds_through_the_real_system(system: System) -> None:
    cases = {_rule_task_id(up, rule): (up.split(), rule) for up, rule in EXPECTED}
    system.add_dag(
        "rules",
        f"""
        def boom():
            raise RuntimeError("boom")

        def skip_me():
            raise SkipTask("not today")

        with DAG("rules", schedule=None):
            upstream = {{
                "ok": EmptyOperator(task_id="ok"),
                "bad": PythonOperator(task_id="bad", python_callable=boom),
                # Skipped only once "bad" has failed, so that every rule meets the failure
                # first, whatever the machine's load (all_success: upstream_failed, not skipped).
                "skip": PythonOperator(
                    task_id="skip", python_callable=skip_me, trigger_rule="all_failed"
                ),
            }}
            upstream["bad"] >> upstream["skip"]
            for task_id, (names, rule) in {cases!r}.items():
                [upstream[n] for n in names] >> EmptyOperator(task_id=task_id, trigger_rule=rule)
        """,
    )
    run_id = system.trigger("rules")
    assert system.wait("rules", run_id) == "failed"
    states = system.states("rules", run_id)
    assert (states["ok"], states["bad"], states["skip"]) == (S, F, K)
    got = {(up, rule): states[_rule_task_id(up, rule)] for up, rule in EXPECTED}
    assert got == EXPECTED


@sqlite_only
def test_a_dag_of_task_groups_runs_to_success(system: System) -> None:
    system.add_dag(
        "grouped",
        """
        @task
        def number(n):
            return n

        @task
        def add(x, y):
            return x + y

        with DAG("grouped", schedule=None):
            start = EmptyOperator(task_id="start")
            with TaskGroup("extract") as extract:
                x, y = number.override(task_id="x")(1), number.override(task_id="y")(2)
            with TaskGroup("load") as load:
                total = add(x, y)
                EmptyOperator(task_id="report") << total
            start >> extract
        """,
    )
    run_id = system.trigger("grouped")
    assert system.wait("grouped", run_id) == "success"
    states = system.states("grouped", run_id)
    assert states == dict.fromkeys(
        ["start", "extract.x", "extract.y", "load.add", "load.report"], TaskState.SUCCESS
    )
    assert system.xcom("grouped", run_id, "load.add") == 3
    started = {ti.task_id: ti.start_date for ti in system.instances("grouped", run_id)}
    ended = {ti.task_id: ti.end_date for ti in system.instances("grouped", run_id)}
    assert started["extract.x"] >= ended["start"]
    assert started["load.add"] >= max(ended["extract.x"], ended["extract.y"])


EVOLVING = """
with DAG("evolving", schedule=None):
    gate = PythonOperator(task_id="gate", python_callable=work,
                          op_kwargs={{"journal": {journal!r}, "gate": {gate!r}}})
    gate >> EmptyOperator(task_id={downstream!r})
"""


@sqlite_only
def test_a_run_keeps_its_dag_version_when_the_file_changes(system: System, tmp_path: Path) -> None:
    paths = {"journal": str(tmp_path / "journal"), "gate": str(tmp_path / "gate")}
    system.add_dag("evolving", EVOLVING.format(downstream="old", **paths))
    first = system.trigger("evolving")
    assert system.run_until(lambda: system.state("evolving", first, "gate") is TaskState.RUNNING)
    system.add_dag("evolving", EVOLVING.format(downstream="new", **paths))
    with system.sessions() as session:
        versions = session.scalars(
            select(SerializedDagModel.id)
            .where(SerializedDagModel.dag_id == "evolving")
            .order_by(SerializedDagModel.version)
        ).all()
    assert len(versions) == 2
    (tmp_path / "gate").touch()
    # The run goes on with the version it started with; the task deleted from the file
    # cannot run any more and becomes removed; the new task is not added to it.
    assert system.wait("evolving", first) == "success"
    assert system.run("evolving", first).serialized_dag_id == versions[0]
    assert system.states("evolving", first) == {"gate": S, "old": TaskState.REMOVED}
    second = system.trigger("evolving")
    assert system.wait("evolving", second) == "success"
    assert system.run("evolving", second).serialized_dag_id == versions[1]
    assert system.states("evolving", second) == {"gate": S, "new": S}
