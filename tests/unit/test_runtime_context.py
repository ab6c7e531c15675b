"""The task context: dates, params with conf, ti XCom push and pull, var, conn, templating."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tradewind import DAG, Param
from tradewind.exceptions import ParamValidationError
from tradewind.metastore.store.connections import Connection
from tradewind.operators import BashOperator, PythonOperator
from tradewind.runtime import context as context_module
from tradewind.runtime import execute
from tradewind.runtime.context import DagRunView, TaskInstanceView
from tradewind.sensors import PythonSensor
from tradewind.states import TaskState
from tradewind.workloads import TaskKey


class FakeSource:
    """XComs, variables and connections held in dicts."""

    def __init__(self) -> None:
        self.xcoms: dict[tuple[str, str, str | None, str, int], Any] = {}
        self.variables: dict[str, str] = {}
        self.connections: dict[str, Connection] = {}

    def xcom(self, dag_id: str, run_id: str, task_id: str | None, key: str, map_index: int) -> Any:
        return self.xcoms.get((dag_id, run_id, task_id, key, map_index))

    def variable(self, key: str) -> str | None:
        return self.variables.get(key)

    def connection(self, conn_id: str) -> Connection | None:
        return self.connections.get(conn_id)


LOGICAL = datetime(2024, 3, 9, 6, 30, tzinfo=UTC)


def _run(conf: dict[str, Any] | None = None) -> DagRunView:
    return DagRunView(
        dag_id="etl",
        run_id="scheduled__2024-03-09T06:30:00+00:00",
        logical_date=LOGICAL,
        data_interval_start=LOGICAL,
        data_interval_end=LOGICAL + timedelta(days=1),
        conf=conf or {},
    )


def _context(
    dag: DAG, task_id: str, source: FakeSource, conf: dict[str, Any] | None = None
) -> tuple[dict[str, Any], TaskInstanceView]:
    task = dag.get_task(task_id)
    run = _run(conf)
    ti = TaskInstanceView(
        TaskKey("etl", run.run_id, task_id, try_number=2), task, source, hostname="h", pid=1
    )
    return context_module.build_context(dag, task, run, ti, source), ti


def test_dates_and_identity_of_the_run() -> None:
    with DAG("etl") as dag:
        PythonOperator(task_id="t", python_callable=print)
    context, ti = _context(dag, "t", FakeSource())
    assert context["ds"] == "2024-03-09"
    assert context["ds_nodash"] == "20240309"
    assert context["ts"] == "2024-03-09T06:30:00+00:00"
    assert context["ts_nodash"] == "20240309T063000"
    assert context["ts_nodash_with_tz"] == "20240309T063000+0000"
    assert context["logical_date"] == LOGICAL
    assert context["data_interval_start"] == LOGICAL
    assert context["data_interval_end"] == LOGICAL + timedelta(days=1)
    assert context["run_id"] == "scheduled__2024-03-09T06:30:00+00:00"
    assert context["try_number"] == 2
    assert context["ti"] is ti
    assert context["task_instance_key_str"] == "etl__t__20240309"
    assert context["macros"].ds_add("2024-03-09", -10) == "2024-02-28"
    assert context["macros"].ds_format("2024-03-09", "%Y-%m-%d", "%d/%m/%y") == "09/03/24"


def test_params_resolve_from_dag_task_and_conf() -> None:
    with DAG("etl", params={"limit": Param(10, type="integer"), "table": "orders"}) as dag:
        PythonOperator(task_id="t", python_callable=print, params={"table": "customers"})
    context, _ = _context(dag, "t", FakeSource(), conf={"limit": 5, "extra": True})
    assert context["params"] == {"limit": 5, "table": "customers", "extra": True}
    with pytest.warns(context_module.ContextDeprecationWarning, match="'conf'"):
        assert context["conf"] == {"limit": 5, "extra": True}
    assert context["dag_run"].conf == {"limit": 5, "extra": True}
    with pytest.raises(ParamValidationError, match="limit"):
        _context(dag, "t", FakeSource(), conf={"limit": "many"})


def test_xcom_pull_reads_upstream_values_and_own_pushes() -> None:
    source = FakeSource()
    run_id = _run().run_id
    source.xcoms[("etl", run_id, "up", "return_value", -1)] = {"rows": 3}
    source.xcoms[("etl", run_id, "other", "return_value", -1)] = 7
    source.xcoms[("etl", run_id, "up", "count", -1)] = 3
    source.xcoms[("shared", run_id, "pub", "return_value", -1)] = "from another DAG"
    with DAG("etl") as dag:
        PythonOperator(task_id="t", python_callable=print)
    _, ti = _context(dag, "t", source)
    assert ti.xcom_pull(task_ids="up") == {"rows": 3}
    assert ti.xcom_pull(task_ids="up", key="count") == 3
    assert ti.xcom_pull(task_ids=["up", "other", "missing"]) == [{"rows": 3}, 7, None]
    assert ti.xcom_pull(task_ids="missing", default="none") == "none"
    assert ti.xcom_pull(task_ids="pub", dag_id="shared") == "from another DAG"
    ti.xcom_push("mine", [1, 2])
    assert ti.xcom_pull(task_ids="t", key="mine") == [1, 2]
    with pytest.raises(context_module.XComValueError, match="not JSON-serializable"):
        ti.xcom_push("when", datetime.now(UTC))
    with pytest.raises(context_module.XComValueError, match="non-empty string"):
        ti.xcom_push("", 1)


def test_var_and_conn_accessors() -> None:
    source = FakeSource()
    source.variables.update({"region": "eu", "cfg": '{"n": 2}'})
    source.connections["db"] = Connection("db", "postgres", host="h", login="u", password="p")
    with DAG("etl") as dag:
        PythonOperator(task_id="t", python_callable=print)
    context, _ = _context(dag, "t", source)
    var, conn = context["var"], context["conn"]
    assert var.value.region == "eu"
    assert var.json.cfg == {"n": 2}
    assert var.value.get("nope", "fallback") == "fallback"
    assert conn.db.host == "h"
    assert conn.db.get_uri() == "postgres://u:p@h"
    with pytest.raises(context_module.VariableNotFound, match="variable 'nope' does not exist"):
        _ = var.value.nope
    with pytest.raises(context_module.ConnectionNotFound, match="connection 'nope'"):
        _ = conn.nope


def test_templates_render_with_the_context() -> None:
    source = FakeSource()
    source.variables["bucket"] = "s3://data"
    source.xcoms[("etl", _run().run_id, "up", "return_value", -1)] = "batch-7"
    with DAG("etl", params={"mode": "full"}) as dag:
        BashOperator(
            task_id="b",
            bash_command=(
                "echo {{ ds }} {{ params.mode }} {{ var.value.bucket }} "
                "{{ ti.xcom_pull(task_ids='up') }} {{ dag_run.conf.get('who', 'nobody') }}"
            ),
        )
        PythonOperator(
            task_id="p",
            python_callable=lambda day, ts: {"day": day, "ts": ts},
            op_kwargs={"day": "{{ ds_nodash }}", "ts": ["{{ ts }}"]},
        )
    context, ti = _context(dag, "b", source, conf={"who": "ann"})
    outcome = execute.execute_task(dag.get_task("b"), context, ti, None)
    assert outcome.return_value == "2024-03-09 full s3://data batch-7 ann"
    context, ti = _context(dag, "p", source)
    outcome = execute.execute_task(dag.get_task("p"), context, ti, None)
    assert outcome.return_value == {"day": "20240309", "ts": ["2024-03-09T06:30:00+00:00"]}


def test_sensor_state_of_reschedule_sensors() -> None:
    with DAG("etl") as dag:
        poke = PythonSensor(task_id="poke", python_callable=lambda: False)
        resched = PythonSensor(task_id="resched", python_callable=lambda: False, mode="reschedule")
    assert not context_module.is_rescheduling_sensor(poke)
    assert context_module.is_rescheduling_sensor(resched)
    started = datetime(2024, 1, 1, tzinfo=UTC)
    assert context_module.sensor_state(started, 4) == {
        "sensor_started_at": started,
        "sensor_poke_count": 4,
    }
    context, ti = _context(dag, "resched", FakeSource())
    context.update(context_module.sensor_state(datetime.now(UTC), 4))
    outcome = execute.execute_task(resched, context, ti, None)
    assert outcome.state is TaskState.UP_FOR_RESCHEDULE
    assert outcome.reschedule_date is not None
    # A sensor that started longer ago than its timeout fails instead.
    context.update(context_module.sensor_state(started, 4))
    outcome = execute.execute_task(resched, context, ti, None)
    assert outcome.state is TaskState.FAILED
    assert not outcome.retryable
