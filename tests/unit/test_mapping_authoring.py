"""Dynamic task mapping as a DAG file writes it: partial/expand, TaskFlow, mapped groups."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from tradewind import DAG
from tradewind.authoring.mapped import MappedOperator, OperatorPartial
from tradewind.authoring.task_group import TaskGroup, task_group
from tradewind.exceptions import DagDefinitionError
from tradewind.operators.bash import BashOperator
from tradewind.operators.empty import EmptyOperator
from tradewind.operators.taskflow import task
from tradewind.parsing.serialize import dag_hash, deserialize_dag, serialize_dag

START = datetime(2026, 1, 1, tzinfo=UTC)


def _dag(dag_id: str = "mapping") -> DAG:
    return DAG(dag_id, start_date=START, schedule=None)


@task
def numbers() -> list[int]:
    return [1, 2, 3]


@task
def add(x: int, y: int = 0) -> int:
    return x + y


@task
def total(values: Any) -> int:
    return sum(values)


def test_classic_partial_expand_gives_a_mapped_task_in_the_dag() -> None:
    with _dag() as dag:
        start = EmptyOperator(task_id="start")
        partial = BashOperator.partial(task_id="echo", retries=2, pool="p", trigger_rule="all_done")
        assert isinstance(partial, OperatorPartial)
        echo = partial.expand(bash_command=["echo 1", "echo 2"])
        end = EmptyOperator(task_id="end")
        start >> echo >> end
    assert isinstance(echo, MappedOperator)
    assert dag.get_task("echo") is echo
    assert echo.upstream_task_ids == {"start"}
    assert echo.downstream_task_ids == {"end"}
    assert (echo.retries, echo.pool, str(echo.trigger_rule)) == (2, "p", "all_done")
    assert echo.partial_kwargs["retries"] == 2


def test_default_args_reach_the_instances() -> None:
    with DAG("d", start_date=START, schedule=None, default_args={"retries": 4, "cwd": "/tmp"}):
        echo = BashOperator.partial(task_id="echo").expand(bash_command=["a"])
    assert echo.retries == 4
    assert echo.partial_kwargs["cwd"] == "/tmp"


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda: BashOperator.partial(task_id="t", nope=1), TypeError, "'nope'"),
        (lambda: BashOperator.partial(task_id="t").expand(nope=[1]), TypeError, "'nope'"),
        (lambda: BashOperator.partial(bash_command="x"), TypeError, "task_id"),
        (lambda: BashOperator.partial(task_id="t").expand(), TypeError, "at least one"),
        (lambda: BashOperator.partial(task_id="t").expand(bash_command="echo"), ValueError, "str"),
        (lambda: BashOperator.partial(task_id="t").expand(env=[{}]), TypeError, "bash_command"),
        (
            lambda: BashOperator.partial(task_id="t").expand(bash_command=["a"], retries=[1]),
            ValueError,
            "'retries'",
        ),
        (
            lambda: BashOperator.partial(task_id="t").expand(bash_command=["a"], task_id=["x"]),
            ValueError,
            "'task_id'",
        ),
        (
            lambda: BashOperator.partial(task_id="t", bash_command="a").expand(bash_command=["b"]),
            TypeError,
            "partial",
        ),
        (lambda: BashOperator.partial(task_id="t").expand_kwargs("x"), ValueError, "list"),
        (lambda: add.expand(z=[1]), TypeError, "'z'"),
        (lambda: add.partial(y=1).expand(y=[1]), TypeError, "partial"),
        (lambda: add.expand(y=[1]), TypeError, "'x'"),
        (lambda: add.expand(x=5), ValueError, "int"),
    ],
)
def test_bad_mapping_is_refused_at_parse_time(call: Any, error: type, message: str) -> None:
    with _dag(), pytest.raises(error, match=message):
        call()


def test_taskflow_expand_partial_override_and_reduce() -> None:
    with _dag() as dag:
        values = numbers()
        added = add.partial(y=10).expand(x=values)
        again = add.override(task_id="twice", retries=3).expand(x=[1, 2], y=[5, 6])
        summed = total(added)
    mapped = added.operator
    assert isinstance(mapped, MappedOperator)
    assert mapped.upstream_task_ids == {"numbers"}
    assert summed.operator.upstream_task_ids == {"add"}
    assert again.operator.task_id == "twice"
    assert again.operator.retries == 3
    assert set(dag.task_dict) == {"numbers", "add", "twice", "total"}


def test_every_taskflow_flavour_maps() -> None:
    with _dag() as dag:

        @task.bash
        def command(word: str) -> str:
            return f"echo {word}"

        @task.short_circuit
        def keep(x: int) -> bool:
            return x > 1

        command.expand(word=["a", "b"])
        keep.expand(x=[1, 2])
    assert all(isinstance(t, MappedOperator) for t in dag.tasks)


def test_a_mapped_task_group_maps_its_tasks_and_refuses_nesting() -> None:
    with _dag() as dag:

        @task_group
        def per_file(name: str, suffix: str) -> Any:
            return add(x=name, y=suffix)

        per_file.partial(suffix="!").expand(name=numbers())
    group = dag.task_group_dict["per_file"]
    assert group.is_mapped
    assert dag.get_task("per_file.add").upstream_task_ids == {"numbers"}

    with _dag("nested"):

        @task_group
        def outer(x: int) -> None:
            inner.expand(y=[1])

        @task_group
        def inner(y: int) -> None:
            add(x=y)

        with pytest.raises(DagDefinitionError, match="inside a mapped task group"):
            outer.expand(x=[1])

    with _dag("task_in_group"):

        @task_group
        def holder(x: int) -> None:
            add.expand(x=[1, 2])

        with pytest.raises(DagDefinitionError, match="mapped task inside a mapped task group"):
            holder.expand(x=[1])


def test_serialized_mapping_round_trips() -> None:
    with _dag() as dag:
        values = numbers()
        add.expand(x=values, y=[1, 2])
        BashOperator.partial(task_id="echo", map_index_template="{{ task.bash_command }}").expand(
            bash_command=["echo a", "echo b"]
        )
        EmptyOperator.partial(task_id="zip").expand_kwargs(values.zip(values, fillvalue=0))
        EmptyOperator.partial(task_id="cat").expand_kwargs(values.map(str).concat(values))
        EmptyOperator.partial(task_id="kw").expand_kwargs([{"doc_md": "a"}])

        @task_group
        def group(item: Any) -> None:
            add(x=item)

        group.expand_kwargs(values)
        with TaskGroup("plain"):
            EmptyOperator(task_id="plain_task")
    data = json.loads(json.dumps(serialize_dag(dag)))
    serialized = deserialize_dag(data)
    xcom = {"xcom": "numbers", "key": "return_value"}
    assert serialized.get_task("add").mapping == {
        "length": {"product": [xcom, {"literal": 2}]},
        "group_id": None,
    }
    echo = serialized.get_task("echo")
    assert echo.operator == "BashOperator"
    assert echo.map_index_template == "{{ task.bash_command }}"
    assert echo.template_values["bash_command"] == ["echo a", "echo b"]
    assert serialized.get_task("zip").mapping == {
        "length": {"zip": [xcom, xcom], "longest": True},
        "group_id": None,
    }
    assert serialized.get_task("cat").mapping["length"] == {"concat": [xcom, xcom]}
    assert serialized.get_task("kw").mapping["length"] == {"literal": 1}
    assert serialized.get_task("group.add").mapping == {"length": xcom, "group_id": "group"}
    assert serialized.get_task("group.add").mapped_group_id == "group"
    assert serialized.task_groups["group"].is_mapped
    assert not serialized.task_groups["plain"].is_mapped
    assert not serialized.get_task("numbers").is_mapped
    assert serialize_dag(dag) == data
    [plain] = [t for t in serialize_dag(dag)["tasks"] if t["task_id"] == "numbers"]
    assert "mapping" not in plain
    assert "map_index_template" not in plain


def test_a_dag_without_mapping_keeps_its_hash_keys() -> None:
    with _dag() as dag:
        EmptyOperator(task_id="a")
    data = serialize_dag(dag)
    assert "is_mapped" not in json.dumps(data["task_groups"])
    assert dag_hash(data) == dag_hash(json.loads(json.dumps(data)))
