"""DAG files written for Airflow run unchanged: every file in ``airflow_dags/`` is parsed by the
DAG processor (its ``airflow`` imports served by tradewind), each DAG runs once through the real
scheduler, and every task ends as Airflow documents it would (``EXPECTED``); a file that uses
what tradewind does not provide is an import error that names it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from scheduling import System, make_system_fixture, sqlite_only, system_fixture  # noqa: F401

from tradewind.metastore.store import dags as dag_store
from tradewind.metastore.store import runs as run_store
from tradewind.parsing.processor import DagProcessor

CORPUS = Path(__file__).parent / "airflow_dags"

S, F, K, U = "success", "failed", "skipped", "upstream_failed"

# dag id -> (the run's end, each task's end)
EXPECTED: dict[str, tuple[str, dict[str, str]]] = {
    "classic_bash_python": (S, {"hello": S, "produce": S, "consume": S}),
    "sdk_taskflow": (S, {"extract": S, "transform": S, "load": S}),
    "branching": (
        S,
        {
            "choose": S,
            "left": S,
            "right": K,
            "join": S,
            "strict_join": K,
            "pick": S,
            "first": K,
            "second": S,
        },
    ),
    # The run's end follows its leaves (cleanup, behind_gate), as Airflow's does.
    "skips_and_failures": (
        S,
        {
            "skipped": K,
            "after_skip": K,
            "failed": F,
            "after_fail": U,
            "cleanup": S,
            "gate": S,
            "behind_gate": K,
        },
    ),
    "providers_standard": (S, {"start": S, "work.a": S, "work.b": S, "end": S}),
    "context_dates": (S, {"check": S, "templated": S}),
    "variables": (S, {"write": S, "read": S}),
    # The work failed: the teardown still ran, and the run failed with the work.
    "setup_teardown": (F, {"create_cluster": S, "work": F, "delete_cluster": S}),
    "cross_dag_target": (S, {"greet": S}),
    "cross_dag_parent": (S, {"trigger": S, "wait_for_greet": S, "done": S}),
    # A manual run is never skipped by LatestOnly; every day of the week is listed.
    "weekday_and_latest": (
        S,
        {"latest_only": S, "report": S, "which_day": S, "any_day": S, "never": K},
    ),
    "airflow2_leftovers": (S, {"start": S, "old_keys": S, "echo": S}),
    "airflow2_helpers": (
        S,
        {"latest_only": S, "run_kind": S, "venv_check": S, "greet": S, "smooth": S},
    ),
    "sdk_names": (S, {"dated_by_trigger": S, "states": S, "venv_check": S, "smooth": S}),
    # Every instance of each mapped task succeeded; an empty input skipped its mapped task.
    "dynamic_mapping": (
        S,
        {
            "regions": S,
            "regions__1": S,
            "count_orders": S,
            "report": S,
            "announce": S,
            "scaled": S,
            "pairs": S,
            "pairs__1": S,
            "labels": S,
            "doubled": S,
            "zipped": S,
            "per_region.load": S,
            "per_region.check": S,
            "nothing": S,
            "never": K,
        },
    ),
    "datasets_producer": (S, {"export_orders": S, "export_customers": S}),
    "datasets_consumer": (S, {"report": S}),
    "sensors_and_rules": (
        S,
        {
            "python_sensor": S,
            "bash_sensor": S,
            "delta": S,
            "fails": F,
            "on_failure": S,
            "on_success": S,
            "always": S,
        },
    ),
}

# file -> what its import error says
IMPORT_ERRORS = {
    "not_provided.py": "airflow.providers.amazon is not part of tradewind",
    "subdag.py": "airflow.operators.subdag is not part of tradewind (Airflow 2's SubDagOperator",
}


@pytest.fixture
def corpus(system: System) -> System:
    for path in CORPUS.glob("*.py"):
        shutil.copy(path, system.dags / path.name)
    DagProcessor(system.settings, system.sessions).scan()
    # As a user would: a DAG another one triggers runs only when it is unpaused.
    for dag_id in EXPECTED:
        system.set_paused(dag_id, False)
    return system


@sqlite_only
def test_every_file_registers_or_says_what_is_not_provided(corpus: System) -> None:
    with corpus.sessions() as session:
        found = dag_store.list_import_errors(session)
        errors = {Path(e.filename).name: e.stacktrace for e in found}
        registered = {d.dag_id for d in dag_store.list_dags(session)}
    assert set(errors) == set(IMPORT_ERRORS), errors
    for name, message in IMPORT_ERRORS.items():
        assert message in errors[name], errors[name]
    assert set(EXPECTED) <= registered


@sqlite_only
@pytest.mark.parametrize("dag_id", sorted(EXPECTED))
def test_each_dag_ends_as_on_airflow(corpus: System, dag_id: str) -> None:
    run_end, task_ends = EXPECTED[dag_id]
    run_id = corpus.trigger(dag_id)
    assert corpus.wait(dag_id, run_id, timeout=120) == run_end, corpus.states(dag_id, run_id)
    states = {task: str(state.value) for task, state in corpus.states(dag_id, run_id).items()}
    assert states == task_ends


@sqlite_only
def test_a_dataset_consumer_runs_when_its_producer_updated_both(corpus: System) -> None:
    run_id = corpus.trigger("datasets_producer")
    assert corpus.wait("datasets_producer", run_id) == S

    def consumer_runs() -> list[str]:
        with corpus.sessions() as session:
            runs = run_store.list_runs(session, "datasets_consumer")
        return [r.run_id for r in runs if r.run_type == "asset_triggered"]

    assert corpus.run_until(lambda: len(consumer_runs()) == 1)
    (consumer,) = consumer_runs()
    assert corpus.wait("datasets_consumer", consumer) == S
    assert corpus.xcom("datasets_consumer", consumer, "report") == [
        "s3://warehouse/customers",
        "s3://warehouse/orders",
    ]
