"""Dependencies: >> and << with tasks, lists, groups and XComArgs; chain; cross_downstream."""

from __future__ import annotations

import pytest

from tradewind import DAG, TaskGroup, chain, cross_downstream
from tradewind.authoring.dependencies import chain_linear
from tradewind.exceptions import DagDefinitionError
from tradewind.operators import EmptyOperator


def tasks(*names: str) -> list[EmptyOperator]:
    return [EmptyOperator(task_id=name) for name in names]


def edges(dag: DAG) -> set[tuple[str, str]]:
    return {(t.task_id, down) for t in dag.tasks for down in t.downstream_task_ids}


def test_rshift_and_lshift_between_tasks() -> None:
    with DAG("x") as dag:
        a, b, c = tasks("a", "b", "c")
        result = a >> b
        c << b
    assert result is b
    assert edges(dag) == {("a", "b"), ("b", "c")}
    assert b.upstream_task_ids == {"a"}
    assert b.downstream_task_ids == {"c"}
    assert [t.task_id for t in b.upstream_list] == ["a"]


def test_lists_on_either_side() -> None:
    with DAG("x") as dag:
        a, b, c, d = tasks("a", "b", "c", "d")
        a >> [b, c] >> d
    assert edges(dag) == {("a", "b"), ("a", "c"), ("b", "d"), ("c", "d")}
    with DAG("y") as other:
        a, b, c = tasks("a", "b", "c")
        [a, b] << c
    assert edges(other) == {("c", "a"), ("c", "b")}


def test_set_upstream_and_set_downstream() -> None:
    with DAG("x") as dag:
        a, b, c = tasks("a", "b", "c")
        b.set_upstream(a)
        b.set_downstream([c])
    assert edges(dag) == {("a", "b"), ("b", "c")}


def test_chain_links_lists_pairwise_by_position() -> None:
    with DAG("x") as dag:
        a, b, c, d, e, f = tasks("a", "b", "c", "d", "e", "f")
        chain(a, [b, c], [d, e], f)
    assert edges(dag) == {("a", "b"), ("a", "c"), ("b", "d"), ("c", "e"), ("d", "f"), ("e", "f")}


def test_chain_with_lists_of_different_lengths_is_an_error() -> None:
    with DAG("x"):
        a, b, c = tasks("a", "b", "c")
        with pytest.raises(ValueError, match="same length; got 2 and 1"):
            chain([a, b], [c])


def test_cross_downstream_links_every_pair() -> None:
    with DAG("x") as dag:
        a, b, c, d = tasks("a", "b", "c", "d")
        cross_downstream([a, b], [c, d])
    assert edges(dag) == {("a", "c"), ("a", "d"), ("b", "c"), ("b", "d")}


def test_dependency_across_dags_is_an_error() -> None:
    with DAG("one"):
        (a,) = tasks("a")
    with DAG("two"):
        (b,) = tasks("b")
    with pytest.raises(DagDefinitionError, match=r"DAG 'one'.*DAG 'two'"):
        a >> b


def test_task_without_dag_joins_the_dag_of_its_relative() -> None:
    with DAG("x") as dag:
        (a,) = tasks("a")
    (loose,) = tasks("loose")
    a >> loose
    assert loose.dag is dag


def test_dependency_between_two_dagless_tasks_is_an_error() -> None:
    a, b = tasks("a", "b")
    with pytest.raises(DagDefinitionError, match="neither is in a DAG"):
        a >> b


def test_self_dependency_is_an_error() -> None:
    with DAG("x"):
        (a,) = tasks("a")
        with pytest.raises(DagDefinitionError, match="cannot depend on itself"):
            a >> a


def test_non_task_in_dependency_is_a_type_error() -> None:
    with DAG("x"):
        (a,) = tasks("a")
        with pytest.raises(TypeError, match="not a task"):
            a >> "b"  # type: ignore[operator]


def test_group_dependencies_bind_to_its_roots_and_leaves() -> None:
    with DAG("x") as dag:
        start, end = tasks("start", "end")
        with TaskGroup("g") as group:
            first, middle_a, middle_b, last = tasks("first", "ma", "mb", "last")
            first >> [middle_a, middle_b] >> last
        start >> group >> end
    assert start.downstream_task_ids == {"g.first"}
    assert end.upstream_task_ids == {"g.last"}
    assert ("g.first", "g.ma") in edges(dag)


def test_chain_linear_makes_each_element_wait_for_all_of_the_one_before() -> None:
    with DAG("x") as dag:
        a, b, c, d, e = tasks("a", "b", "c", "d", "e")
        chain_linear(a, [b, c], [d, e])
    assert edges(dag) == {("a", "b"), ("a", "c"), ("b", "d"), ("b", "e"), ("c", "d"), ("c", "e")}
    with pytest.raises(ValueError, match="two elements or more"):
        chain_linear([a, b])


def test_an_operator_logs_through_the_logger_of_its_class(caplog: pytest.LogCaptureFixture) -> None:
    with DAG("x"):
        (a,) = tasks("a")
    with caplog.at_level("INFO"):
        a.log.info("hello from %s", a.task_id)
    assert [(r.name, r.getMessage()) for r in caplog.records] == [
        ("tradewind.operators.empty.EmptyOperator", "hello from a")
    ]
