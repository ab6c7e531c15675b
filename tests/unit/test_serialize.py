"""Serialized DAGs: JSON round trip, hashing, and what the scheduler and UI can read."""

from __future__ import annotations

import json
import runpy
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tradewind import DAG, Param, TaskGroup, task
from tradewind.authoring.capture import capture
from tradewind.exceptions import ParamValidationError, SerializationError, TaskNotFound
from tradewind.operators import BashOperator, EmptyOperator, PythonOperator, ShortCircuitOperator
from tradewind.parsing.serialize import (
    SerializedDag,
    dag_hash,
    deserialize_dag,
    serialize_dag,
)
from tradewind.sensors import PythonSensor
from tradewind.timetables import DataInterval

DAG_FILE = """
from datetime import datetime, timedelta
from tradewind import DAG, task
from tradewind.operators import PythonOperator, EmptyOperator

class Marker:
    pass

def work(marker):
    return marker

with DAG("hashed", schedule="@daily", start_date=datetime(2024, 1, 1)) as dag:
    a = PythonOperator(task_id="a", python_callable=work, op_args=[Marker()], retries={retries})
    b = EmptyOperator(task_id="b")
    c = EmptyOperator(task_id="c")
    a >> b
    {extra}
"""


def load_file(path: Path, retries: int = 1, extra: str = "") -> DAG:
    path.write_text(DAG_FILE.format(retries=retries, extra=extra))
    with capture() as captured:
        runpy.run_path(str(path))
    return captured.dags[0]


def rich_dag() -> DAG:
    with DAG(
        "rich",
        schedule="0 6 * * *",
        start_date=datetime(2024, 1, 1),
        end_date=datetime(2025, 1, 1),
        timezone="Europe/Amsterdam",
        catchup=True,
        tags=["b", "a"],
        description="a rich DAG",
        doc_md="# docs",
        params={"limit": Param(5, type="integer", minimum=1, description="rows"), "flag": True},
        max_active_runs=2,
        max_active_tasks=8,
        dagrun_timeout=timedelta(hours=1),
        on_failure_callback=print,
        is_paused_upon_creation=False,
    ) as dag:

        @task(retries=2, retry_exponential_backoff=True, max_retry_delay=600)
        def extract() -> int:
            return 1

        number = extract()
        with TaskGroup("grp", tooltip="the group"):
            bash = BashOperator(
                task_id="bash",
                bash_command="echo {{ ds }}",
                execution_timeout=timedelta(minutes=3),
                env={"N": number},
                pool="small",
                pool_slots=2,
                owner="ops",
                on_success_callback=[print],
                executor_config={"image": "python:3.11"},
            )
        sensor = PythonSensor(
            task_id="wait", python_callable=bool, mode="reschedule", poke_interval=30, timeout=90
        )
        check = ShortCircuitOperator(task_id="check", python_callable=bool)
        join = EmptyOperator(task_id="join", trigger_rule="one_success", weight_rule="upstream")
        bash >> sensor >> check >> join
    return dag


def round_trip(dag: DAG) -> SerializedDag:
    return deserialize_dag(json.loads(json.dumps(serialize_dag(dag))))


def test_json_round_trip_gives_the_same_structure() -> None:
    dag = rich_dag()
    data = serialize_dag(dag)
    assert json.loads(json.dumps(data)) == data
    assert round_trip(dag) == deserialize_dag(data)


def test_serialization_is_deterministic_with_tasks_sorted() -> None:
    dag = rich_dag()
    first = serialize_dag(dag)
    assert json.dumps(first) == json.dumps(serialize_dag(dag))
    assert [t["task_id"] for t in first["tasks"]] == sorted(dag.task_ids)


def test_dag_level_fields() -> None:
    back = round_trip(rich_dag())
    assert back.dag_id == "rich"
    assert back.fileloc == __file__
    assert back.tags == ("a", "b")
    assert back.owners == ("ops", "tradewind")
    assert back.schedule == "0 6 * * *"
    assert back.timezone == "Europe/Amsterdam"
    assert back.start_date == datetime(2023, 12, 31, 23, tzinfo=UTC)
    assert back.end_date == datetime(2024, 12, 31, 23, tzinfo=UTC)
    assert back.catchup is True
    assert (back.max_active_runs, back.max_active_tasks) == (2, 8)
    assert back.dagrun_timeout == 3600
    assert back.has_on_failure_callback
    assert not back.has_on_success_callback
    assert back.is_paused_upon_creation is False
    assert back.params["limit"] == {
        "default": 5,
        "has_default": True,
        "schema": {"type": "integer", "minimum": 1},
        "description": "rows",
    }
    assert back.task_groups[""].group_ids == ("grp",)
    assert back.task_groups["grp"].task_ids == ("grp.bash",)
    assert back.task_groups["grp"].tooltip == "the group"


def test_task_level_fields() -> None:
    back = round_trip(rich_dag())
    bash = back.get_task("grp.bash")
    assert (bash.operator, bash.operator_module) == ("BashOperator", "tradewind.operators.bash")
    assert bash.upstream_task_ids == {"extract"}
    assert bash.downstream_task_ids == {"wait"}
    assert (bash.pool, bash.pool_slots, bash.owner) == ("small", 2, "ops")
    assert bash.execution_timeout == 180
    assert bash.has_on_success_callback
    assert not bash.has_on_failure_callback
    assert bash.executor_config == {"image": "python:3.11"}
    assert bash.template_fields == ("bash_command", "env", "cwd")
    assert bash.template_values["bash_command"] == "echo {{ ds }}"
    assert bash.template_values["env"] == {"N": "XComArg('extract')"}
    assert bash.task_group_id == "grp"
    assert bash.priority_weight_total == 4

    extract = back.get_task("extract")
    assert extract.custom_operator_name == "@task"
    assert extract.callable_name.endswith("extract")
    assert (extract.retries, extract.retry_exponential_backoff) == (2, True)
    assert (extract.retry_delay, extract.max_retry_delay) == (300, 600)

    wait = back.get_task("wait")
    assert wait.is_sensor
    assert (wait.sensor_mode, wait.poke_interval, wait.sensor_timeout) == ("reschedule", 30, 90)
    assert back.get_task("check").ignore_downstream_trigger_rules
    join = back.get_task("join")
    assert (join.trigger_rule, join.weight_rule) == ("one_success", "upstream")
    assert join.is_empty
    assert not wait.is_empty
    assert join.priority_weight_total == 5


def test_graph_helpers_on_the_serialized_dag() -> None:
    back = round_trip(rich_dag())
    assert back.topological_order() == ["extract", "grp.bash", "wait", "check", "join"]
    assert back.relatives("wait") == {"check", "join"}
    assert back.relatives("wait", upstream=True) == {"extract", "grp.bash"}
    assert [t.task_id for t in back.roots] == ["extract"]
    assert [t.task_id for t in back.leaves] == ["join"]
    with pytest.raises(TaskNotFound):
        back.get_task("missing")


def test_serialized_dag_schedules_like_the_dag() -> None:
    dag = rich_dag()
    back = round_trip(dag)
    now = datetime(2024, 3, 1, tzinfo=UTC)
    assert back.timetable == dag.timetable
    assert back.next_dagrun_info(None, now=now) == dag.next_dagrun_info(None, now=now)
    # end_date is 2025-01-01 00:00 in Amsterdam: no run may start after it
    last = DataInterval(datetime(2024, 12, 31, 5, tzinfo=UTC), datetime(2025, 1, 1, 5, tzinfo=UTC))
    assert back.next_dagrun_info(last, now=now) is None
    run_after = datetime(2024, 3, 1, 12, tzinfo=UTC)
    assert back.infer_manual_data_interval(run_after) == dag.timetable.infer_manual_data_interval(
        run_after=run_after
    )


def test_serialized_dag_resolves_params_without_user_code() -> None:
    back = round_trip(rich_dag())
    assert back.resolve_params({"limit": 7}) == {"limit": 7, "flag": True}
    with pytest.raises(ParamValidationError, match="param 'limit'"):
        back.resolve_params({"limit": 0})


def test_hash_is_stable_across_two_loads_of_the_same_file(tmp_path: Path) -> None:
    path = tmp_path / "hashed.py"
    first = dag_hash(serialize_dag(load_file(path)))
    second = dag_hash(serialize_dag(load_file(path)))
    assert first == second
    assert len(first) == 64


def test_hash_changes_with_dependencies_and_retries(tmp_path: Path) -> None:
    path = tmp_path / "hashed.py"
    base = dag_hash(serialize_dag(load_file(path)))
    more_retries = dag_hash(serialize_dag(load_file(path, retries=2)))
    new_edge = dag_hash(serialize_dag(load_file(path, extra="b >> c")))
    assert len({base, more_retries, new_edge}) == 3


def test_hash_ignores_a_dag_that_only_moved_lines(tmp_path: Path) -> None:
    path = tmp_path / "hashed.py"
    before = serialize_dag(load_file(path))
    path.write_text("# a new comment\n" + DAG_FILE.format(retries=1, extra=""))
    with capture() as captured:
        runpy.run_path(str(path))
    after = serialize_dag(captured.dags[0])
    assert after["lineno"] == before["lineno"] + 1
    assert dag_hash(after) == dag_hash(before)


def test_hash_ignores_key_order() -> None:
    data = serialize_dag(rich_dag())
    reordered = dict(reversed(list(data.items())))
    assert dag_hash(reordered) == dag_hash(data)


def test_callables_are_serialized_by_name_only() -> None:
    def transform(**_: Any) -> None:
        return None

    with DAG("names") as dag:
        PythonOperator(task_id="p", python_callable=transform, op_kwargs={"fn": len})
    data = serialize_dag(dag)
    (task_data,) = data["tasks"]
    assert task_data["callable_name"].endswith("transform")
    assert task_data["template_values"]["op_kwargs"] == {"fn": "len"}
    assert " at 0x" not in json.dumps(data)


def test_deserialize_rejects_malformed_data() -> None:
    data = serialize_dag(rich_dag())
    with pytest.raises(SerializationError, match="unsupported format version 99"):
        deserialize_dag({**data, "format_version": 99})
    broken_task = {k: v for k, v in data["tasks"][0].items() if k != "retries"}
    with pytest.raises(SerializationError, match="task 'check': missing key 'retries'"):
        deserialize_dag({**data, "tasks": [broken_task]})
    with pytest.raises(SerializationError, match="bad 'trigger_rule'"):
        deserialize_dag({**data, "tasks": [{**data["tasks"][0], "trigger_rule": "nope"}]})
    with pytest.raises(SerializationError, match="missing key 'catchup'"):
        deserialize_dag({k: v for k, v in data.items() if k != "catchup"})
    with pytest.raises(SerializationError, match="timetable"):
        deserialize_dag({**data, "timetable": {"type": "lunar"}})


def test_dag_file_with_bash_template_serializes(tmp_path: Path) -> None:
    path = tmp_path / "templated.py"
    path.write_text(
        textwrap.dedent(
            """
            from tradewind import DAG
            from tradewind.operators import BashOperator
            with DAG("templated"):
                BashOperator(task_id="run", bash_command="scripts/run.sh", env={"A": "1"})
            """
        )
    )
    with capture() as captured:
        runpy.run_path(str(path))
    back = round_trip(captured.dags[0])
    assert back.get_task("run").template_values == {
        "bash_command": "scripts/run.sh",
        "env": {"A": "1"},
        "cwd": None,
    }
    assert back.lineno == 4
