"""Setup and teardown tasks: marking, the teardown's trigger rule, the run's outcome, and what
clearing a task also clears; edge labels in the serialized DAG."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from decisions import decide_plain, plain

from tradewind import DAG, task
from tradewind.authoring.edges import Label
from tradewind.authoring.rules import TriggerRule
from tradewind.authoring.task_group import TaskGroup
from tradewind.exceptions import DagDefinitionError
from tradewind.operators import EmptyOperator
from tradewind.operators.setup_teardown import setup, teardown
from tradewind.parsing.serialize import SerializedDag, deserialize_dag, serialize_dag
from tradewind.scheduler import decide
from tradewind.scheduler.decide import Readiness, UpstreamCounts
from tradewind.scheduler.operations import with_setups_and_teardowns
from tradewind.states import DagRunState, TaskState

S, F, K, U = TaskState.SUCCESS, TaskState.FAILED, TaskState.SKIPPED, TaskState.UPSTREAM_FAILED
START = datetime(2024, 1, 1, tzinfo=UTC)


def frozen(dag: DAG) -> SerializedDag:
    return deserialize_dag(serialize_dag(dag))


def cluster_dag(*, fail_dagrun: bool = False) -> DAG:
    """create >> work >> delete, with create the setup and delete its teardown."""
    with DAG("cluster", start_date=START, schedule=None) as dag:
        create = EmptyOperator(task_id="create")
        work = EmptyOperator(task_id="work")
        delete = EmptyOperator(task_id="delete")
        (
            create.as_setup()
            >> work
            >> delete.as_teardown(setups=create, on_failure_fail_dagrun=fail_dagrun)
        )
    return dag


def test_as_teardown_marks_both_and_links_the_setup() -> None:
    dag = cluster_dag()
    create, delete = dag.get_task("create"), dag.get_task("delete")
    assert create.is_setup
    assert not create.is_teardown
    assert delete.is_teardown
    assert delete.trigger_rule is TriggerRule.ALL_DONE_SETUP_SUCCESS
    assert "create" in delete.upstream_task_ids
    serialized = frozen(dag)
    assert serialized.tasks["create"].is_setup
    assert serialized.tasks["delete"].is_teardown
    assert not serialized.tasks["delete"].on_failure_fail_dagrun


def test_a_task_cannot_be_setup_and_teardown() -> None:
    with DAG("both", start_date=START, schedule=None):
        one = EmptyOperator(task_id="one").as_setup()
        with pytest.raises(DagDefinitionError, match="cannot also be a teardown"):
            one.as_teardown()


def test_decorators_make_setup_and_teardown_tasks() -> None:
    with DAG("decorated", start_date=START, schedule=None) as dag:

        @setup
        def make() -> str:
            return "resource"

        @teardown(on_failure_fail_dagrun=True)
        def drop(name: str) -> None:
            pass

        @task
        def use(name: str) -> None:
            pass

        made = make()
        use(made) >> drop(made)
    assert dag.get_task("make").is_setup
    assert dag.get_task("drop").is_teardown
    assert dag.get_task("drop").on_failure_fail_dagrun
    assert not dag.get_task("use").is_setup


def test_xcomarg_as_setup_and_teardown() -> None:
    with DAG("xcomargs", start_date=START, schedule=None) as dag:

        @task
        def one() -> None:
            pass

        @task
        def two() -> None:
            pass

        first = one().as_setup()
        two().as_teardown(setups=first)
    assert dag.get_task("one").is_setup
    assert dag.get_task("two").is_teardown
    assert dag.get_task("two").upstream_task_ids == {"one"}


@pytest.mark.parametrize(
    ("states", "setups", "expected"),
    [
        ([S, F], [S], Readiness.READY),  # the work failed, the setup worked: tear down
        ([S], [S], Readiness.WAIT),  # something upstream is not done yet
        ([K, K], [K], Readiness.SKIP),  # the setup was skipped: nothing to tear down
        ([F, U], [F], Readiness.UPSTREAM_FAILED),  # the setup failed
        ([S, F], [], Readiness.READY),  # no setup upstream: like all_done
    ],
)
def test_all_done_setup_success(
    states: list[TaskState], setups: list[TaskState], expected: Readiness
) -> None:
    up = UpstreamCounts.of(states, setups)
    if expected is Readiness.WAIT:
        up = dataclasses.replace(up, total=3)
    assert decide.evaluate_trigger_rule(TriggerRule.ALL_DONE_SETUP_SUCCESS, up) is expected


def test_teardown_runs_after_failed_work_and_the_run_fails() -> None:
    dag = frozen(cluster_dag())
    states = {"create": S, "work": F, "delete": TaskState.NONE}
    assert decide_plain(dag, states, ["delete"]) == {"delete": TaskState.SCHEDULED}
    assert decide.run_outcome(dag, plain({**states, "delete": S})) is DagRunState.FAILED


def test_a_failed_teardown_does_not_fail_the_run() -> None:
    dag = frozen(cluster_dag())
    assert (
        decide.run_outcome(dag, plain({"create": S, "work": S, "delete": F})) is DagRunState.SUCCESS
    )


def test_on_failure_fail_dagrun_makes_the_teardown_count() -> None:
    dag = frozen(cluster_dag(fail_dagrun=True))
    assert decide.outcome_leaves(dag) == ["delete"]
    assert (
        decide.run_outcome(dag, plain({"create": S, "work": S, "delete": F})) is DagRunState.FAILED
    )


def test_teardown_skipped_with_its_setup() -> None:
    dag = frozen(cluster_dag())
    changes = decide_plain(dag, {"create": K, "work": TaskState.NONE}, ["work"])
    assert changes == {"work": K, "delete": K}


def test_clearing_a_work_task_clears_its_setups_and_teardowns() -> None:
    with DAG("scoped", start_date=START, schedule=None) as dag:
        create = EmptyOperator(task_id="create")
        load = EmptyOperator(task_id="load")
        report = EmptyOperator(task_id="report")
        delete = EmptyOperator(task_id="delete")
        other = EmptyOperator(task_id="other")
        create >> load >> report >> delete.as_teardown(setups=create)
        other >> report
    serialized = frozen(dag)
    assert with_setups_and_teardowns(serialized, {"report"}) == {"report", "create", "delete"}
    assert with_setups_and_teardowns(serialized, {"other"}) == {"other"}
    assert with_setups_and_teardowns(serialized, {"create"}) == {"create", "delete"}


def test_a_task_group_s_leaves_pass_over_teardowns() -> None:
    with DAG("grouped", start_date=START, schedule=None) as dag:
        with TaskGroup("resource") as group:
            create = EmptyOperator(task_id="create")
            work = EmptyOperator(task_id="work")
            delete = EmptyOperator(task_id="delete")
            create >> work >> delete.as_teardown(setups=create)
        after = EmptyOperator(task_id="after")
        group >> after
    assert dag.get_task("after").upstream_task_ids == {"resource.work"}


def test_edge_labels_are_serialized() -> None:
    with DAG("labels", start_date=START, schedule=None) as dag:
        check = EmptyOperator(task_id="check")
        good = EmptyOperator(task_id="good")
        bad = EmptyOperator(task_id="bad")
        later = EmptyOperator(task_id="later")
        check >> Label("valid") >> good
        bad << Label("invalid") << check
        good.set_downstream(later, edge_modifier=Label("then"))
        [good, bad] >> Label("both") >> EmptyOperator(task_id="end")
    serialized = frozen(dag)
    assert dag.get_edge_info("check", "good") == {"label": "valid"}
    assert serialized.edge_label("check", "good") == "valid"
    assert serialized.edge_label("check", "bad") == "invalid"
    assert serialized.edge_label("good", "later") == "then"
    assert serialized.edge_label("bad", "end") == "both"
    assert serialized.edge_label("good", "end") == "both"
    assert dag.get_task("good").upstream_task_ids == {"check"}
    assert serialized.edge_label("later", "end") is None


def test_a_dag_without_labels_or_setups_serializes_as_before() -> None:
    with DAG("plain", start_date=START, schedule=None) as dag:
        EmptyOperator(task_id="a") >> EmptyOperator(task_id="b")
    data = serialize_dag(dag)
    assert "edge_info" not in data
    assert all("is_setup" not in task for task in data["tasks"])
    assert frozen(dag).edge_info == {}
