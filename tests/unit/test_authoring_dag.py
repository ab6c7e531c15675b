"""DAG definition: arguments, time zones, default_args, graph queries, capture and errors."""

from __future__ import annotations

import runpy
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tradewind import DAG, dag
from tradewind.authoring.capture import Captured, capture
from tradewind.exceptions import DagDefinitionError, TaskNotFound
from tradewind.operators import BashOperator, EmptyOperator, PythonOperator
from tradewind.timetables import DataInterval


def run_dag_file(tmp_path: Path, source: str, name: str = "dag_file.py") -> Captured:
    """Write a DAG file and run it under capture(), as the DAG loader does."""
    path = tmp_path / name
    path.write_text(textwrap.dedent(source).lstrip())
    with capture() as captured:
        runpy.run_path(str(path))
    return captured


def definition_error(tmp_path: Path, source: str) -> DagDefinitionError:
    with pytest.raises(DagDefinitionError) as info:
        run_dag_file(tmp_path, source)
    return info.value


def test_with_block_collects_tasks_in_creation_order() -> None:
    with DAG("etl") as etl:
        first = EmptyOperator(task_id="first")
        second = EmptyOperator(task_id="second")
    assert etl.task_ids == ["first", "second"]
    assert etl.tasks == [first, second]
    assert etl.task_dict["second"] is second
    assert etl.get_task("first") is first
    assert first.dag is etl
    assert first.dag_id == "etl"


def test_get_task_unknown_id_names_dag_and_task() -> None:
    with DAG("etl") as etl:
        EmptyOperator(task_id="a")
    with pytest.raises(TaskNotFound, match="DAG 'etl' has no task 'nope'"):
        etl.get_task("nope")


def test_task_created_with_dag_argument_outside_block() -> None:
    etl = DAG("etl")
    task = EmptyOperator(task_id="t", dag=etl)
    assert etl.tasks == [task]


def test_task_assigned_to_dag_later() -> None:
    etl = DAG("etl")
    task = EmptyOperator(task_id="t")
    assert task.dag is None
    task.dag = etl
    assert etl.tasks == [task]


def test_schedule_interval_is_an_alias_of_schedule() -> None:
    with pytest.warns(DeprecationWarning, match="schedule_interval"):
        old = DAG("old", schedule_interval="@daily", start_date=datetime(2024, 1, 1))
    new = DAG("new", schedule="@daily", start_date=datetime(2024, 1, 1))
    assert old.timetable == new.timetable


def test_schedule_and_schedule_interval_together_is_an_error() -> None:
    with (
        pytest.warns(DeprecationWarning, match="schedule_interval"),
        pytest.raises(DagDefinitionError, match="schedule or schedule_interval, not both"),
    ):
        DAG("x", schedule="@daily", schedule_interval="@hourly")


def test_naive_start_date_is_read_in_the_dag_time_zone() -> None:
    amsterdam = DAG("a", start_date=datetime(2024, 1, 1), timezone="Europe/Amsterdam")
    assert amsterdam.start_date == datetime(2024, 1, 1, tzinfo=ZoneInfo("Europe/Amsterdam"))
    assert amsterdam.timezone_name == "Europe/Amsterdam"
    utc = DAG("u", start_date=datetime(2024, 1, 1))
    assert utc.start_date == datetime(2024, 1, 1, tzinfo=UTC)
    assert utc.timezone_name == "UTC"


def test_aware_start_date_sets_the_time_zone() -> None:
    zone = ZoneInfo("America/New_York")
    dag_ = DAG("ny", start_date=datetime(2024, 1, 1, tzinfo=zone))
    assert dag_.timezone_name == "America/New_York"


def test_unknown_time_zone_is_a_definition_error() -> None:
    with pytest.raises(DagDefinitionError, match="unknown time zone 'Mars/Olympus'"):
        DAG("x", timezone="Mars/Olympus")


def test_start_date_may_come_from_default_args() -> None:
    dag_ = DAG("x", default_args={"start_date": datetime(2024, 3, 1)})
    assert dag_.start_date == datetime(2024, 3, 1, tzinfo=UTC)


def test_default_args_apply_to_every_operator_and_explicit_kwargs_win() -> None:
    args = {"retries": 3, "owner": "ops", "pool": "etl", "retry_delay": timedelta(seconds=7)}
    with DAG("x", default_args=args):
        default = PythonOperator(task_id="default", python_callable=print)
        explicit = BashOperator(task_id="explicit", bash_command="true", retries=0, owner="me")
    assert (default.retries, default.owner, default.pool) == (3, "ops", "etl")
    assert default.retry_delay == timedelta(seconds=7)
    assert (explicit.retries, explicit.owner, explicit.pool) == (0, "me", "etl")


def test_default_args_may_hold_operator_specific_and_unknown_keys() -> None:
    args = {"bash_command": "echo default", "email": "a@example.com", "not_an_arg": 1}
    with DAG("x", default_args=args):
        bash = BashOperator(task_id="bash")
        empty = EmptyOperator(task_id="empty")
    assert bash.bash_command == "echo default"
    assert empty.email == "a@example.com"


def test_roots_leaves_and_topological_sort() -> None:
    with DAG("x") as dag_:
        a, b, c, d = (EmptyOperator(task_id=name) for name in "abcd")
        d >> b
        a >> [b, c]
    assert dag_.roots == [a, d]
    assert dag_.leaves == [b, c]
    order = [task.task_id for task in dag_.topological_sort()]
    assert order.index("a") < order.index("b")
    assert order.index("d") < order.index("b")
    assert order == ["a", "c", "d", "b"]


def test_validate_names_the_tasks_of_a_cycle(tmp_path: Path) -> None:
    captured = run_dag_file(
        tmp_path,
        """
        from tradewind import DAG
        from tradewind.operators import EmptyOperator
        with DAG("cyclic") as dag:
            a = EmptyOperator(task_id="a")
            b = EmptyOperator(task_id="b")
            c = EmptyOperator(task_id="c")
            a >> b >> c >> a
        """,
    )
    with pytest.raises(DagDefinitionError) as info:
        captured.dags[0].validate()
    message = str(info.value)
    assert message.startswith(f"{tmp_path / 'dag_file.py'}:3: ")
    assert "cycle: a -> b -> c -> a" in message
    with pytest.raises(DagDefinitionError, match="cycle"):
        captured.dags[0].topological_sort()


def test_validate_requires_a_start_date_for_scheduled_dags() -> None:
    with pytest.raises(DagDefinitionError, match="schedule '@daily' but no start_date"):
        DAG("x", schedule="@daily").validate()
    DAG("manual").validate()


def test_dag_records_file_and_line(tmp_path: Path) -> None:
    captured = run_dag_file(
        tmp_path,
        """
        from tradewind import DAG
        from tradewind.operators import EmptyOperator

        with DAG("located") as dag:
            EmptyOperator(task_id="t")
        """,
    )
    located = captured.dags[0]
    assert (located.fileloc, located.lineno) == (str(tmp_path / "dag_file.py"), 4)
    task = located.get_task("t")
    assert (task.fileloc, task.lineno) == (str(tmp_path / "dag_file.py"), 5)


@pytest.mark.parametrize(
    ("dag_id", "reason"),
    [
        ("", "non-empty"),
        ("has space", "may only contain"),
        ("slash/id", "may only contain"),
        ("x" * 251, "longer than 250"),
    ],
)
def test_bad_dag_ids_are_rejected(dag_id: str, reason: str) -> None:
    with pytest.raises(DagDefinitionError, match=reason):
        DAG(dag_id)


def test_missing_dag_id_names_file_and_line(tmp_path: Path) -> None:
    error = definition_error(tmp_path, "from tradewind import DAG\nDAG()\n")
    assert (error.fileloc, error.lineno) == (str(tmp_path / "dag_file.py"), 2)
    assert "dag_id must be a non-empty string" in str(error)


def test_bad_schedule_is_a_definition_error_with_location(tmp_path: Path) -> None:
    error = definition_error(
        tmp_path,
        """
        from datetime import datetime
        from tradewind import DAG
        DAG("bad", schedule="every tuesday", start_date=datetime(2024, 1, 1))
        """,
    )
    assert error.lineno == 3
    assert "every tuesday" in str(error)


def test_unknown_dag_argument_is_named() -> None:
    with pytest.raises(DagDefinitionError, match=r"unknown argument.*'scheduel'"):
        DAG("x", scheduel="@daily")


def test_bad_limits_are_rejected() -> None:
    with pytest.raises(DagDefinitionError, match="max_active_runs must be at least 1"):
        DAG("x", max_active_runs=0)
    with pytest.raises(DagDefinitionError, match="tags must be a list"):
        DAG("x", tags="etl")
    with pytest.raises(DagDefinitionError, match="end_date is before start_date"):
        DAG("x", start_date=datetime(2024, 2, 1), end_date=datetime(2024, 1, 1))


def test_next_dagrun_info_uses_start_date_end_date_and_catchup() -> None:
    daily = DAG("d", schedule="@daily", start_date=datetime(2024, 1, 1), catchup=True)
    first = daily.next_dagrun_info(None, now=datetime(2024, 6, 1, tzinfo=UTC))
    assert first is not None
    assert first.data_interval == DataInterval(
        datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC)
    )
    no_catchup = DAG("n", schedule="@daily", start_date=datetime(2024, 1, 1))
    latest = no_catchup.next_dagrun_info(None, now=datetime(2024, 6, 1, 12, tzinfo=UTC))
    assert latest is not None
    assert latest.logical_date == datetime(2024, 5, 31, tzinfo=UTC)
    ended = DAG(
        "e", schedule="@daily", start_date=datetime(2024, 1, 1), end_date=datetime(2024, 1, 1)
    )
    last = DataInterval(datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 2, tzinfo=UTC))
    assert ended.next_dagrun_info(last, now=datetime(2024, 6, 1, tzinfo=UTC)) is None


def test_dag_decorator_builds_a_dag_when_called() -> None:
    @dag(schedule="@hourly", start_date=datetime(2024, 1, 1), tags=["t"])
    def hourly_job() -> None:
        """Docs from the docstring."""
        EmptyOperator(task_id="only")

    built = hourly_job()
    assert built.dag_id == "hourly_job"
    assert built.task_ids == ["only"]
    assert built.doc_md == "Docs from the docstring."
    assert built.tags == ["t"]
    assert built.timetable.summary == "@hourly"


def test_dag_decorator_without_parentheses_and_function_params() -> None:
    @dag
    def with_params(limit: int = 10) -> None:
        EmptyOperator(task_id="t")

    built = with_params(limit=5)
    assert built.dag_id == "with_params"
    assert built.params["limit"].default == 5
    assert built.resolve_params({}) == {"limit": 5}


def test_capture_records_dags_that_are_not_assigned(tmp_path: Path) -> None:
    captured = run_dag_file(
        tmp_path,
        """
        from tradewind import DAG, dag
        from tradewind.operators import EmptyOperator

        for name in ("one", "two"):
            with DAG(name):
                EmptyOperator(task_id="t")

        @dag
        def three():
            EmptyOperator(task_id="t")

        three()
        """,
    )
    assert [d.dag_id for d in captured.dags] == ["one", "two", "three"]
    assert len(captured.operators) == 3
    assert captured.orphans() == []


def test_orphan_tasks_are_reported_with_file_and_line(tmp_path: Path) -> None:
    captured = run_dag_file(
        tmp_path,
        """
        from tradewind import DAG
        from tradewind.operators import EmptyOperator

        with DAG("d"):
            EmptyOperator(task_id="inside")
        load = EmptyOperator(task_id="load")
        """,
    )
    assert [task.task_id for task in captured.orphans()] == ["load"]
    with pytest.raises(DagDefinitionError) as info:
        captured.check_orphans()
    assert str(info.value) == f"{tmp_path / 'dag_file.py'}:6: task 'load' is not in any DAG"


def test_nested_captures_do_not_leak() -> None:
    with capture() as outer:
        DAG("outer")
        with capture() as inner:
            DAG("inner")
        DAG("outer2")
    assert [d.dag_id for d in outer.dags] == ["outer", "outer2"]
    assert [d.dag_id for d in inner.dags] == ["inner"]
    with capture() as later:
        pass
    assert later.dags == []
