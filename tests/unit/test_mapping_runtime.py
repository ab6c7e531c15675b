"""A try of a mapped task: its instance's values, reduce, mapped groups, checks, names."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tradewind import DAG, reports
from tradewind.authoring.task_group import task_group
from tradewind.exceptions import SkipTask
from tradewind.operators.bash import BashOperator
from tradewind.operators.taskflow import task
from tradewind.runtime import context as context_module
from tradewind.runtime import execute
from tradewind.runtime.taskinstance import BATCH_SIZE, LazyXComSequence
from tradewind.states import TaskState
from tradewind.testing import EmptySource, XComSource
from tradewind.workloads import TaskKey

LOGICAL = datetime(2024, 1, 1, tzinfo=UTC)


def _run(
    dag: DAG,
    task_id: str,
    map_index: int = -1,
    source: Any = None,
    max_map_length: int | None = 1024,
) -> execute.Outcome:
    source = source or EmptySource()
    task_ = dag.get_task(task_id)
    run = context_module.DagRunView(dag.dag_id, "r", LOGICAL, LOGICAL, LOGICAL)
    key = TaskKey(dag.dag_id, "r", task_id, map_index)
    ti = context_module.TaskInstanceView(
        key, task_, source, hostname="h", pid=1, max_map_length=max_map_length
    )
    context = context_module.build_context(dag, task_, run, ti, source)
    return execute.execute_task(task_, context, ti, None)


@task
def show(*args: Any, **kwargs: Any) -> Any:
    return [list(args), kwargs] if args else kwargs


@task
def pair(x: Any, y: Any = None) -> Any:
    return [x, y]


def _values(dag: DAG, task_id: str, count: int, source: Any = None) -> list[Any]:
    found = []
    for index in range(count):
        outcome = _run(dag, task_id, index, source)
        assert outcome.state is TaskState.SUCCESS, outcome.error
        found.append(outcome.return_value)
    return found


def test_cross_product_varies_the_last_argument_fastest() -> None:
    with DAG("d") as dag:
        pair.expand(x=[1, 2], y=["a", "b"])
    assert _values(dag, "pair", 4) == [[1, "a"], [1, "b"], [2, "a"], [2, "b"]]
    outcome = _run(dag, "pair", 4)
    assert outcome.state is TaskState.FAILED
    assert "map index 4 is out of range: the input has 4 items" in (outcome.error or "")


def test_a_dict_literal_gives_key_value_pairs_and_partial_is_shared() -> None:
    with DAG("d") as dag:
        pair.partial(y="same").expand(x={"a": 1, "b": 2})
    assert _values(dag, "pair", 2) == [[("a", 1), "same"], [("b", 2), "same"]]


def test_upstream_values_zip_map_and_concat() -> None:
    with DAG("d") as dag:
        letters, numbers = show.override(task_id="letters")(), show.override(task_id="nums")()
        pair.override(task_id="zipped").expand(x=letters.zip(numbers))
        pair.override(task_id="longest").expand(x=letters.zip(numbers, fillvalue=0))
        pair.override(task_id="mapped").expand(x=numbers.map(lambda n: n * 10))
        pair.override(task_id="joined").expand(x=letters.concat(numbers))
        pair.override(task_id="from_dict").expand(x=show.override(task_id="d")())
    source = XComSource(
        {("letters", -1): ["a", "b", "c"], ("nums", -1): [1, 2], ("d", -1): {"k": 1}}
    )
    firsts = lambda found: [value[0] for value in found]  # noqa: E731
    assert firsts(_values(dag, "zipped", 2, source)) == [("a", 1), ("b", 2)]
    assert firsts(_values(dag, "longest", 3, source)) == [("a", 1), ("b", 2), ("c", 0)]
    assert firsts(_values(dag, "mapped", 2, source)) == [10, 20]
    assert firsts(_values(dag, "joined", 5, source)) == ["a", "b", "c", 1, 2]
    assert firsts(_values(dag, "from_dict", 1, source)) == [("k", 1)]


def test_a_missing_or_unmappable_upstream_value_fails_the_instance() -> None:
    with DAG("d") as dag:
        pair.expand(x=show())
    outcome = _run(dag, "pair", 0, XComSource({}))
    assert "nothing was pushed" in (outcome.error or "")
    outcome = _run(dag, "pair", 0, XComSource({("show", -1): 5}))
    assert "it is a int, not a list or a dict" in (outcome.error or "")


def test_expand_kwargs_from_a_literal_and_from_an_upstream_task() -> None:
    with DAG("d") as dag:
        pair.override(task_id="lit").expand_kwargs([{"x": 1}, {"x": 2, "y": 3}])
        pair.override(task_id="up").expand_kwargs(show())
        BashOperator.partial(task_id="bash").expand_kwargs(
            [{"bash_command": "echo {{ ti.map_index }}"}, {"bash_command": "echo b", "env": {}}]
        )
    assert _values(dag, "lit", 2) == [[1, None], [2, 3]]
    source = XComSource({("show", -1): [{"x": "{{ ds }}"}]})
    # Values pushed by a task are not templates: they reach the function as they are.
    assert _values(dag, "up", 1, source) == [["{{ ds }}", None]]
    outcome = _run(dag, "bash", 0)
    assert outcome.state is TaskState.SUCCESS
    assert outcome.rendered_fields is not None
    assert outcome.rendered_fields["bash_command"] == "echo 0"
    assert _run(dag, "up", 0, XComSource({("show", -1): [5]})).state is TaskState.FAILED


def test_classic_operator_instance_renders_its_literal_value() -> None:
    with DAG("d") as dag:
        BashOperator.partial(task_id="echo", env={"A": "1"}).expand(
            bash_command=["echo {{ ds }} $A", "echo second"]
        )
    outcome = _run(dag, "echo", 0)
    assert outcome.state is TaskState.SUCCESS
    assert outcome.return_value == "2024-01-01 1"


def test_a_plain_task_reduces_a_mapped_task_lazily() -> None:
    seen: dict[str, Any] = {}

    @task
    def reduce(values: Any) -> int:
        seen["len"] = len(values)
        seen["first"], seen["last"] = values[0], values[-1]
        seen["all"] = list(values)
        return sum(values)

    with DAG("d") as dag:
        reduce(pair.expand(x=[1, 2, 3]))
    # Instance 8 pushed nothing: it takes no position.
    source = XComSource({("pair", i): i * 10 for i in range(250) if i != 8})
    outcome = _run(dag, "reduce", source=source)
    assert outcome.state is TaskState.SUCCESS, outcome.error
    expected = [i * 10 for i in range(250) if i != 8]
    assert seen["len"] == 249
    assert (seen["first"], seen["last"]) == (0, 2490)
    assert seen["all"] == expected
    # 1 count, 2 single reads, then ceil(249 / BATCH_SIZE) batches per pass (list and sum)
    assert source.reads == 3 + 2 * -(-249 // BATCH_SIZE)


def test_xcom_pull_of_a_mapped_task_and_map_indexes() -> None:
    pulled: dict[str, Any] = {}

    @task
    def puller(ti: Any = None) -> None:
        pulled["all"] = ti.xcom_pull(task_ids="pair")
        pulled["one"] = ti.xcom_pull(task_ids="pair", map_indexes=1)
        pulled["some"] = ti.xcom_pull(task_ids="pair", map_indexes=[0, 1])

    with DAG("d") as dag:
        pair.expand(x=[1, 2]) >> puller()
    source = XComSource({("pair", 0): "a", ("pair", 1): "b"})
    assert _run(dag, "puller", source=source).state is TaskState.SUCCESS
    assert isinstance(pulled["all"], LazyXComSequence)
    assert list(pulled["all"]) == ["a", "b"]
    assert pulled["one"] == "b"
    assert pulled["some"] == ["a", "b"]


def test_a_mapped_group_gives_each_instance_its_own_values() -> None:
    @task
    def both(previous: Any, item: Any) -> Any:
        return {"previous": previous, "item": item}

    @task
    def total(values: Any) -> int:
        return sum(values)

    with DAG("d") as dag:

        @task_group
        def per_item(item: int, factor: int) -> Any:
            doubled = pair.override(task_id="first")(x=item, y=factor)
            return both.override(task_id="second")(previous=doubled, item=item)

        total(per_item.partial(factor=2).expand(item=show.override(task_id="items")()))
    source = XComSource({("items", -1): [5, 6, 7], ("per_item.first", 1): "mine"})
    outcome = _run(dag, "per_item.first", 2, source)
    assert outcome.return_value == [7, 2]
    outcome = _run(dag, "per_item.second", 1, source)
    assert outcome.return_value == {"previous": "mine", "item": 6}
    assert dag.get_task("total").upstream_task_ids == {"per_item.second"}


def test_a_task_feeding_a_mapped_task_must_push_a_list_or_dict() -> None:
    @task
    def feed(value: Any) -> Any:
        return value

    with DAG("d") as dag:
        pair.expand(x=feed.override(task_id="bad")(5))
        pair.expand(x=feed.override(task_id="none")(None))
        pair.expand(x=feed.override(task_id="long")([1, 2, 3]))
        pair.expand(x=feed.override(task_id="good")({"a": 1}))
        pair.expand(x=feed.override(task_id="zipped")([1]).zip(feed.override(task_id="bad2")(1)))
    assert "pushed a int" in (_run(dag, "bad").error or "")
    assert "pushed no value" in (_run(dag, "none").error or "")
    assert "more than core.max_map_length (2)" in (_run(dag, "long", max_map_length=2).error or "")
    assert _run(dag, "good").state is TaskState.SUCCESS
    assert _run(dag, "bad2").state is TaskState.FAILED


def test_map_index_template_names_the_instance_on_the_report() -> None:
    with DAG("d") as dag:
        BashOperator.partial(
            task_id="echo", map_index_template="run {{ task.bash_command }}"
        ).expand(bash_command=["echo a", "echo b"])

        @task(map_index_template="{{ my_name }}")
        def named(x: str) -> None:
            context_module.get_current_context()["my_name"] = f"item {x}"  # type: ignore[index]

        named.expand(x=["p", "q"])
    outcome = _run(dag, "echo", 1)
    assert outcome.rendered_map_index == "run echo b"
    message = outcome.message()
    assert message["rendered_map_index"] == "run echo b"
    decoded = reports.decode(message)
    assert isinstance(decoded, reports.Finished)
    assert decoded.rendered_map_index == "run echo b"
    assert _run(dag, "named", 1).rendered_map_index == "item q"
    assert "rendered_map_index" not in execute.Outcome(TaskState.SUCCESS).message()


def test_a_map_function_that_skips_skips_the_instance() -> None:
    def keep_odd(value: int) -> int:
        if value % 2 == 0:
            raise SkipTask("even")
        return value

    with DAG("d") as dag:
        pair.expand(x=show().map(keep_odd))
    source = XComSource({("show", -1): [1, 2]})
    assert _run(dag, "pair", 0, source).state is TaskState.SUCCESS
    assert _run(dag, "pair", 1, source).state is TaskState.SKIPPED


@pytest.mark.parametrize("index", [0, 1])
def test_context_shows_the_instance(index: int) -> None:
    seen: dict[str, Any] = {}

    @task
    def look(x: int, ti: Any = None, task: Any = None, expanded_ti_count: Any = None) -> None:
        seen.update(map_index=ti.map_index, task=type(task).__name__, x=x, n=expanded_ti_count)

    with DAG("d") as dag:
        look.expand(x=[10, 11])
    assert _run(dag, "look", index).state is TaskState.SUCCESS
    assert seen == {
        "map_index": index,
        "task": "_PythonDecoratedOperator",
        "x": 10 + index,
        "n": 2,
    }


def test_a_mapped_task_maps_over_a_mapped_upstream_and_a_group_feeds_a_reduce() -> None:
    @task
    def collect(values: Any) -> Any:
        return list(values)

    with DAG("d") as dag:
        first = pair.override(task_id="first").expand(x=[1, 2, 3])
        pair.override(task_id="second").expand(x=first)

        @task_group
        def grouped(item: Any, extra: str = "default") -> Any:
            return pair.override(task_id="inner")(x=item, y=extra)

        collect(grouped.expand_kwargs([{"item": 1}, {"item": 2, "extra": "given"}]))
    source = XComSource({("first", 0): "a", ("first", 2): "c", ("grouped.inner", 1): "z"})
    # Instance 1 of "first" pushed nothing: "second" has 2 instances, over "a" and "c".
    assert _values(dag, "second", 2, source) == [["a", None], ["c", None]]
    assert _values(dag, "grouped.inner", 2) == [[1, "default"], [2, "given"]]
    assert _run(dag, "collect", source=source).return_value == ["z"]
