"""TaskFlow (@task) and task groups: ids, XCom wiring, flavours and prefixes."""

from __future__ import annotations

from typing import Any

import pytest

from tradewind import DAG, TaskGroup, XComArg, task, task_group
from tradewind.authoring import templating
from tradewind.exceptions import DagDefinitionError
from tradewind.operators import BashOperator, EmptyOperator


class FakeTI:
    def __init__(self, xcoms: dict[tuple[str, str], Any]):
        self.xcoms = xcoms

    def xcom_pull(self, task_ids: str, key: str = "return_value") -> Any:
        return self.xcoms[(task_ids, key)]


@task
def extract() -> dict[str, int]:
    return {"a": 1, "b": 2}


@task
def total(values: dict[str, int], factor: int = 1) -> int:
    return sum(values.values()) * factor


def test_calling_a_task_returns_an_xcomarg_and_wires_dependencies() -> None:
    with DAG("flow") as dag:
        data = extract()
        result = total(data, factor=3)
    assert isinstance(data, XComArg)
    assert dag.task_ids == ["extract", "total"]
    assert dag.get_task("total").upstream_task_ids == {"extract"}
    assert result.operator is dag.get_task("total")


def test_repeated_calls_get_suffixed_ids() -> None:
    with DAG("flow") as dag:
        extract()
        extract()
        extract()
    assert dag.task_ids == ["extract", "extract__1", "extract__2"]


def test_override_changes_task_id_and_operator_arguments() -> None:
    with DAG("flow") as dag:
        extract.override(task_id="pull", retries=4)()
    pulled = dag.get_task("pull")
    assert pulled.retries == 4


def test_decorator_arguments_and_multiple_outputs() -> None:
    @task(task_id="split", multiple_outputs=True, pool="small")
    def splitter() -> Any:
        return {"x": 1}

    with DAG("flow") as dag:
        parts = splitter()
        total(parts["x"])
    split = dag.get_task("split")
    assert split.multiple_outputs
    assert split.pool == "small"
    assert dag.get_task("total").upstream_task_ids == {"split"}


def test_dict_return_annotation_implies_multiple_outputs() -> None:
    with DAG("flow") as dag:
        total(extract())
    assert dag.get_task("extract").multiple_outputs
    assert not dag.get_task("total").multiple_outputs


def test_execute_resolves_xcom_arguments_like_the_runner_does() -> None:
    with DAG("flow") as dag:
        parts = extract()
        total(parts, factor=2)
    op = dag.get_task("total")
    context = {"ti": FakeTI({("extract", "return_value"): {"a": 1, "b": 2}})}
    templating.render_template_fields(op, context)
    assert op.execute(context) == 6


def test_xcomarg_key_selects_one_output() -> None:
    with DAG("flow") as dag:
        parts = extract()
    key_arg = parts["a"]
    assert key_arg.key == "a"
    ti = FakeTI({("extract", "a"): 1})
    assert key_arg.resolve({"ti": ti}) == 1
    assert dag.get_task("extract").output == XComArg(dag.get_task("extract"))
    with pytest.raises(TypeError, match="not iterable"):
        list(parts)


def test_xcomarg_in_a_classic_template_field_creates_the_dependency() -> None:
    with DAG("flow") as dag:
        command = extract()
        bash = BashOperator(task_id="run", bash_command=command)
        later = BashOperator(task_id="later", bash_command="true")
        later.env = {"VALUE": command["a"]}
    assert bash.upstream_task_ids == {"extract"}
    assert later.upstream_task_ids == {"extract"}
    assert dag.get_task("extract").downstream_task_ids == {"run", "later"}


def test_taskflow_flavours_use_their_operators() -> None:
    @task.bash
    def say() -> str:
        return "echo hi"

    @task.branch
    def pick() -> str:
        return "say"

    @task.short_circuit
    def go() -> bool:
        return True

    @task.sensor(poke_interval=5, mode="reschedule")
    def ready() -> bool:
        return True

    @task.python
    def plain() -> None:
        return None

    with DAG("flow") as dag:
        go() >> pick() >> [say(), ready(), plain()]
    names = {t.task_id: t.custom_operator_name for t in dag.tasks}
    assert names == {
        "go": "@task.short_circuit",
        "pick": "@task.branch",
        "say": "@task.bash",
        "ready": "@task.sensor",
        "plain": "@task",
    }
    sensor = dag.get_task("ready")
    assert sensor.is_sensor
    assert getattr(sensor, "mode", None) == "reschedule"


def test_task_group_prefixes_ids_and_nests() -> None:
    with DAG("x") as dag:
        with TaskGroup("outer") as outer:
            EmptyOperator(task_id="a")
            with TaskGroup("inner"):
                EmptyOperator(task_id="b")
        with TaskGroup("flat", prefix_group_id=False):
            EmptyOperator(task_id="c")
    assert dag.task_ids == ["outer.a", "outer.inner.b", "c"]
    assert sorted(dag.task_group_dict) == ["flat", "outer", "outer.inner"]
    assert dag.get_task("outer.inner.b").task_group is dag.task_group_dict["outer.inner"]
    assert [t.task_id for t in outer.iter_tasks()] == ["outer.a", "outer.inner.b"]


def test_task_group_default_args_extend_the_dags() -> None:
    with DAG("x", default_args={"retries": 1, "queue": "q1"}) as dag:
        with TaskGroup("g", default_args={"retries": 5}):
            EmptyOperator(task_id="in_group")
        EmptyOperator(task_id="outside")
    assert (dag.get_task("g.in_group").retries, dag.get_task("g.in_group").queue) == (5, "q1")
    assert dag.get_task("outside").retries == 1


def test_duplicate_group_id_is_a_definition_error() -> None:
    with DAG("x"):
        TaskGroup("g")
        with pytest.raises(DagDefinitionError, match="task group id 'g' is already"):
            TaskGroup("g")


def test_group_outside_a_dag_is_a_definition_error() -> None:
    with pytest.raises(DagDefinitionError, match="must be created inside a DAG"):
        TaskGroup("lonely")


def test_group_id_with_a_dot_is_rejected() -> None:
    with DAG("x"), pytest.raises(DagDefinitionError, match="may only contain"):
        TaskGroup("a.b")


def test_task_group_decorator_creates_a_group_per_call() -> None:
    @task_group
    def section(name: str) -> None:
        """Section tooltip."""
        total(extract())

    @task_group(group_id="custom")
    def returns_task() -> XComArg:
        return extract()

    with DAG("x") as dag:
        start = EmptyOperator(task_id="start")
        start >> section("a")
        section("b")
        returned = returns_task()
    assert "section.extract" in dag.task_ids
    assert "section__1.total" in dag.task_ids
    assert dag.task_group_dict["section"].tooltip == "Section tooltip."
    assert start.downstream_task_ids == {"section.extract"}
    assert isinstance(returned, XComArg)
    assert returned.operator.task_id == "custom.extract"


def test_group_passed_explicitly_brings_its_dag_and_default_args() -> None:
    dag = DAG("x", default_args={"retries": 2})
    group = TaskGroup("g", dag=dag, default_args={"queue": "fast"})
    task_ = EmptyOperator(task_id="t", task_group=group)
    assert task_.dag is dag
    assert task_.task_id == "g.t"
    assert (task_.retries, task_.queue) == (2, "fast")
