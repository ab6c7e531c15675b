"""Dynamic task mapping through the real DAG processor, scheduler, local executor and runner,
on SQLite and PostgreSQL: expansion from pushed values, literal and cross-product inputs,
expand_kwargs, map/zip, classic operators, mapped task groups, reduce, zero-length and too-long
inputs, retries and limits per instance, trigger rules, branching and map_index_template."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from scheduling import (  # noqa: F401
    System,
    make_system_fixture,
    most_at_once,
    read_journal,
    system_fixture,
)

from tradewind.states import TaskState

pytestmark = pytest.mark.parametrize(
    "db_dialect", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
S = TaskState.SUCCESS


def _values(system: System, dag_id: str, run_id: str, task_id: str) -> list[object]:
    instances = system.mapped(dag_id, run_id, task_id)
    return [system.xcom(dag_id, run_id, task_id, i) for i in sorted(instances)]


def test_taskflow_maps_over_a_pushed_list_and_reduces_lazily(system: System) -> None:
    system.add_dag(
        "files",
        """
        with DAG("files", schedule=None):
            @task
            def list_files():
                return ["a.csv", "b.csv", "c.csv", "d.csv"]

            @task
            def size(name, unit):
                return f"{name}:{len(name)}{unit}"

            @task
            def total(sizes):
                # A lazy sequence: len, indexing and iteration without a list in between.
                return {"n": len(sizes), "first": sizes[0], "last": sizes[-1], "all": list(sizes)}

            total(size.partial(unit="b").expand(name=list_files()))
        """,
    )
    run_id = system.trigger("files")
    assert system.wait("files", run_id) == "success"
    assert system.mapped("files", run_id, "size") == dict.fromkeys(range(4), S)
    sizes = ["a.csv:5b", "b.csv:5b", "c.csv:5b", "d.csv:5b"]
    assert _values(system, "files", run_id, "size") == sizes
    assert system.xcom("files", run_id, "total") == {
        "n": 4,
        "first": sizes[0],
        "last": sizes[-1],
        "all": sizes,
    }


def test_literal_inputs_cross_product_dicts_and_expand_kwargs(system: System) -> None:
    system.add_dag(
        "shapes",
        """
        with DAG("shapes", schedule=None):
            @task
            def pair(x, y):
                return f"{x}{y}"

            @task
            def item(entry):
                return entry

            @task
            def settings():
                return [{"a": 1, "b": 2}, {"a": 3, "b": 4}]

            @task
            def add(a, b):
                return a + b

            @task
            def numbers():
                return [1, 2, 3]

            @task
            def letters():
                return ["x", "y"]

            @task
            def show(value):
                return value

            pair.expand(x=[1, 2], y=["a", "b", "c"])
            item.expand(entry={"k1": "v1", "k2": "v2"})
            add.expand_kwargs(settings())
            show.override(task_id="doubled").expand(value=numbers().map(lambda n: n * 2))
            show.override(task_id="zipped").expand(value=numbers().zip(letters()))
        """,
    )
    run_id = system.trigger("shapes")
    assert system.wait("shapes", run_id) == "success"
    # Several expand() arguments: their cross product, the last one varying fastest.
    assert _values(system, "shapes", run_id, "pair") == ["1a", "1b", "1c", "2a", "2b", "2c"]
    assert _values(system, "shapes", run_id, "item") == [["k1", "v1"], ["k2", "v2"]]
    assert _values(system, "shapes", run_id, "add") == [3, 7]
    assert _values(system, "shapes", run_id, "doubled") == [2, 4, 6]
    assert _values(system, "shapes", run_id, "zipped") == [[1, "x"], [2, "y"]]


def test_a_classic_operator_maps_a_templated_argument(system: System, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    system.add_dag(
        "bash_map",
        f"""
        with DAG("bash_map", schedule=None):
            BashOperator.partial(task_id="echo", cwd={str(out)!r}).expand(
                bash_command=["echo {{{{ ti.map_index }}}} > " + name for name in ("one", "two")]
            )
        """,
    )
    run_id = system.trigger("bash_map")
    assert system.wait("bash_map", run_id) == "success"
    assert (out / "one").read_text().strip() == "0"
    assert (out / "two").read_text().strip() == "1"


def test_a_mapped_task_group_runs_its_tasks_per_item(system: System) -> None:
    system.add_dag(
        "per_file",
        """
        with DAG("per_file", schedule=None):
            @task
            def names():
                return ["a", "bb", "ccc"]

            @task
            def measure(name):
                return len(name)

            @task
            def double(size):
                return size * 2

            @task_group
            def handle(name):
                return double(measure(name))

            @task
            def collect(values):
                return sorted(values)

            collect(handle.expand(name=names()))
        """,
    )
    run_id = system.trigger("per_file")
    assert system.wait("per_file", run_id) == "success"
    assert system.mapped("per_file", run_id, "handle.measure") == dict.fromkeys(range(3), S)
    assert _values(system, "per_file", run_id, "handle.double") == [2, 4, 6]
    assert system.xcom("per_file", run_id, "collect") == [2, 4, 6]


def test_zero_items_skip_the_mapped_task_and_its_downstream_by_their_rules(
    system: System,
) -> None:
    system.add_dag(
        "empty_map",
        """
        with DAG("empty_map", schedule=None):
            @task
            def nothing():
                return []

            @task
            def each(x):
                return x

            @task
            def after(values):
                return list(values)

            @task(trigger_rule="all_done")
            def anyway():
                return "ran"

            mapped = each.expand(x=nothing())
            after(mapped)
            mapped >> anyway()
        """,
    )
    run_id = system.trigger("empty_map")
    assert system.wait("empty_map", run_id) == "success"
    assert system.mapped("empty_map", run_id, "each") == {-1: TaskState.SKIPPED}
    assert system.state("empty_map", run_id, "after") is TaskState.SKIPPED
    assert system.xcom("empty_map", run_id, "anyway") == "ran"


def test_inputs_over_max_map_length_fail_with_a_reason(make_system: Callable[..., System]) -> None:
    system = make_system(core={"max_map_length": 3})
    system.add_dag(
        "too_long",
        """
        with DAG("too_long", schedule=None):
            @task
            def many():
                return list(range(5))

            @task
            def each(x):
                return x

            each.override(task_id="pushed").expand(x=many())
            each.override(task_id="literal").expand(x=[1, 2, 3, 4])
        """,
    )
    run_id = system.trigger("too_long")
    assert system.wait("too_long", run_id) == "failed"
    # The task pushing too many items fails (as Airflow's does); its mapped task cannot run.
    many = system.instance("too_long", run_id, "many")
    assert many.state == TaskState.FAILED
    assert "max_map_length" in (many.failure_reason or "")
    assert system.mapped("too_long", run_id, "pushed") == {-1: TaskState.UPSTREAM_FAILED}
    literal = system.instance("too_long", run_id, "literal")
    assert literal.state == TaskState.FAILED
    assert "max_map_length" in (literal.failure_reason or "")


def test_instances_retry_alone_and_downstream_rules_count_every_instance(
    system: System,
) -> None:
    system.add_dag(
        "flaky",
        """
        from datetime import timedelta

        with DAG("flaky", schedule=None):
            @task(retries=1, retry_delay=timedelta(seconds=0))
            def each(x, ti=None):
                if x == 2 and ti.try_number == 1:
                    raise ValueError("first try of item 2 fails")
                if x == 3:
                    raise ValueError("item 3 always fails")
                return x

            @task
            def strict(values):
                return list(values)

            @task(trigger_rule="all_done")
            def lenient(values):
                return list(values)

            mapped = each.expand(x=[1, 2, 3])
            strict(mapped)
            lenient(mapped)
        """,
    )
    run_id = system.trigger("flaky")
    assert system.wait("flaky", run_id) == "failed"
    assert system.mapped("flaky", run_id, "each") == {
        0: S,
        1: S,
        2: TaskState.FAILED,
    }
    instances = system.instances("flaky", run_id)
    tries = {ti.map_index: ti.try_number for ti in instances if ti.task_id == "each"}
    assert tries == {0: 1, 1: 2, 2: 2}
    assert system.state("flaky", run_id, "strict") is TaskState.UPSTREAM_FAILED
    # Reduce sees the values of the instances that pushed one, in map-index order.
    assert system.xcom("flaky", run_id, "lenient") == [1, 2]


def test_max_active_tis_per_dagrun_limits_instances_and_names_are_rendered(
    system: System, tmp_path: Path
) -> None:
    journal = tmp_path / "journal"
    system.add_dag(
        "limited",
        f"""
        from tradewind.runtime.context import get_current_context

        with DAG("limited", schedule=None, max_active_tasks=16):
            @task(max_active_tis_per_dagrun=2, map_index_template="{{{{ city_name }}}}")
            def visit(city, ti=None):
                # As Airflow documents it: the template reads what the task put in the context.
                get_current_context()["city_name"] = city
                work({str(journal)!r}, 0.2, ti=ti)
                return city

            visit.expand(city=["oslo", "lima", "kyiv", "pune", "doha"])
        """,
    )
    run_id = system.trigger("limited")
    assert system.wait("limited", run_id) == "success"
    entries = read_journal(journal)
    assert len(entries) == 5
    assert most_at_once([(e.start, e.end) for e in entries]) <= 2
    names = {ti.map_index: ti.rendered_map_index for ti in system.instances("limited", run_id)}
    assert names == {0: "oslo", 1: "lima", 2: "kyiv", 3: "pune", 4: "doha"}


def test_branching_into_a_mapped_task_skips_it_whole(system: System) -> None:
    system.add_dag(
        "branchy",
        """
        with DAG("branchy", schedule=None):
            @task.branch
            def choose():
                return "plain"

            @task
            def each(x):
                return x

            @task
            def plain():
                return "plain"

            choose() >> [each.expand(x=[1, 2]), plain()]
        """,
    )
    run_id = system.trigger("branchy")
    assert system.wait("branchy", run_id) == "success"
    assert system.mapped("branchy", run_id, "each") == {-1: TaskState.SKIPPED}
    assert system.state("branchy", run_id, "plain") is S


def test_a_branch_in_a_mapped_group_skips_only_its_own_instance(system: System) -> None:
    system.add_dag(
        "per_item_branch",
        """
        with DAG("per_item_branch", schedule=None):
            @task_group
            def handle(kind):
                @task.branch
                def choose(kind):
                    return "handle.full" if kind == "full" else "handle.light"

                @task
                def full():
                    return "full"

                @task
                def light():
                    return "light"

                choose(kind) >> [full(), light()]

            handle.expand(kind=["full", "light", "full"])
        """,
    )
    run_id = system.trigger("per_item_branch")
    assert system.wait("per_item_branch", run_id) == "success"
    K = TaskState.SKIPPED
    assert system.mapped("per_item_branch", run_id, "handle.full") == {0: S, 1: K, 2: S}
    assert system.mapped("per_item_branch", run_id, "handle.light") == {0: K, 1: S, 2: K}


def test_a_large_input_is_read_by_each_try_itself(system: System) -> None:
    # Too large to travel in every try's workload (64 KB of JSON): each try reads it.
    system.add_dag(
        "large_input",
        """
        with DAG("large_input", schedule=None):
            @task
            def chunks():
                return [str(n) * 30_000 for n in range(4)]

            @task
            def size(chunk):
                return [chunk[0], len(chunk)]

            size.expand(chunk=chunks())
        """,
    )
    run_id = system.trigger("large_input")
    assert system.wait("large_input", run_id) == "success"
    assert _values(system, "large_input", run_id, "size") == [[str(n), 30_000] for n in range(4)]
