"""Airflow's context keys and macros: pendulum dates, Airflow 2's keys with their warnings,
prev_*_success, get_current_context."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime, timedelta
from typing import Any

import pendulum
import pytest

from tradewind import DAG
from tradewind.authoring import templating
from tradewind.operators import BashOperator, PythonOperator
from tradewind.runtime import context as context_module
from tradewind.runtime import execute, macros
from tradewind.runtime.context import (
    ContextDeprecationWarning,
    DagRunView,
    NoCurrentContext,
    PreviousRun,
    TaskInstanceView,
    get_current_context,
)
from tradewind.states import TaskState
from tradewind.workloads import TaskKey

PARIS = "Europe/Paris"


class EmptySource:
    def xcom(self, dag_id: str, run_id: str, task_id: str | None, key: str, map_index: int) -> Any:
        return None

    def variable(self, key: str) -> str | None:
        return None

    def connection(self, conn_id: str) -> None:
        return None


def _paris_dag() -> DAG:
    with DAG("paris", schedule="@daily", start_date=pendulum.datetime(2024, 1, 1, tz=PARIS)) as dag:
        PythonOperator(task_id="t", python_callable=print)
        BashOperator(task_id="b", bash_command="echo {{ ds }} {{ prev_ds }}")
    return dag


def _scheduled_run(dag: DAG, day: int, **fields: Any) -> DagRunView:
    """The scheduled run of March ``day`` 2024 (midnight in Paris)."""
    info = dag.timetable.infer_manual_data_interval(
        run_after=pendulum.datetime(2024, 3, day, tz=PARIS).add(days=1)
    )
    return DagRunView(
        dag_id=dag.dag_id,
        run_id=f"scheduled__{info.start.isoformat()}",
        logical_date=info.start,
        data_interval_start=info.start,
        data_interval_end=info.end,
        run_type=fields.pop("run_type", "scheduled"),
        **fields,
    )


def _context(dag: DAG, run: DagRunView, task_id: str = "t") -> dict[str, Any]:
    task = dag.get_task(task_id)
    key = TaskKey(dag.dag_id, run.run_id, task_id)
    ti = TaskInstanceView(key, task, EmptySource(), hostname="h", pid=1)
    return context_module.build_context(dag, task, run, ti, EmptySource())


def _quiet(context: dict[str, Any], key: str) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return context[key]


def test_dates_are_pendulum_datetimes_in_utc_as_airflow_gives_them() -> None:
    dag = _paris_dag()
    context = _context(dag, _scheduled_run(dag, 9))
    logical = context["logical_date"]
    assert isinstance(logical, pendulum.DateTime)
    assert logical.timezone_name == "UTC"
    # Midnight in Paris is 23:00 UTC the day before: ds is the UTC date, as in Airflow.
    assert logical == pendulum.datetime(2024, 3, 8, 23, tz="UTC")
    assert logical.in_timezone(PARIS).day == 9
    assert context["ds"] == "2024-03-08"
    assert context["ts"] == "2024-03-08T23:00:00+00:00"
    assert context["ts_nodash_with_tz"] == "20240308T230000+0000"
    assert context["data_interval_end"] == pendulum.datetime(2024, 3, 9, 23, tz="UTC")
    for key in ("data_interval_start", "data_interval_end"):
        assert isinstance(context[key], pendulum.DateTime)
    assert isinstance(context["dag_run"].logical_date, pendulum.DateTime)
    assert logical.subtract(days=1).to_date_string() == "2024-03-07"
    assert context["prev_data_interval_start_success"] is None


def test_airflow_2_date_keys_for_a_scheduled_run_follow_the_schedule() -> None:
    dag = _paris_dag()
    # Clocks go forward in Paris on March 31st: that day is 23 hours long.
    context = _context(dag, _scheduled_run(dag, 31))
    assert _quiet(context, "execution_date") == context["logical_date"]
    assert _quiet(context, "next_execution_date") == pendulum.datetime(2024, 3, 31, 22, tz="UTC")
    assert _quiet(context, "prev_execution_date") == pendulum.datetime(2024, 3, 29, 23, tz="UTC")
    expected = {
        "next_ds": "2024-03-31",
        "next_ds_nodash": "20240331",
        "prev_ds": "2024-03-29",
        "prev_ds_nodash": "20240329",
        "yesterday_ds": "2024-03-29",
        "yesterday_ds_nodash": "20240329",
        "tomorrow_ds": "2024-03-31",
        "tomorrow_ds_nodash": "20240331",
    }
    assert {key: _quiet(context, key) for key in expected} == expected
    assert isinstance(_quiet(context, "next_execution_date"), pendulum.DateTime)


def test_airflow_2_date_keys_of_a_manual_run_are_its_logical_date() -> None:
    dag = _paris_dag()
    context = _context(dag, _scheduled_run(dag, 9, run_type="manual", external_trigger=True))
    assert _quiet(context, "next_execution_date") == context["logical_date"]
    assert _quiet(context, "prev_ds") == context["ds"]
    with DAG("manual_only") as unscheduled:
        PythonOperator(task_id="t", python_callable=print)
    run = _scheduled_run(dag, 9)
    assert _quiet(_context(unscheduled, run), "next_ds") is None


def test_removed_keys_warn_only_when_read() -> None:
    dag = _paris_dag()
    context = _context(dag, _scheduled_run(dag, 9))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert context["ds"] == "2024-03-08"
        assert dict(context) == {**context}
    for key in ("execution_date", "next_ds", "prev_ds", "tomorrow_ds", "yesterday_ds", "conf"):
        with pytest.warns(DeprecationWarning, match=f"'{key}' is deprecated"):
            context[key]
    with pytest.warns(ContextDeprecationWarning, match="next_execution_date"):
        assert context.get("next_execution_date") is not None


def test_templates_render_airflow_keys_and_warn_for_removed_ones() -> None:
    dag = _paris_dag()
    context = _context(dag, _scheduled_run(dag, 9), "b")
    env = templating.template_environment(dag)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert templating.render_value("{{ ds }} {{ logical_date | ts }}", context, env) == (
            "2024-03-08 2024-03-08T23:00:00+00:00"
        )
        assert (
            templating.render_value(
                "{{ logical_date.in_timezone('Europe/Paris') | ds }}", context, env
            )
            == "2024-03-09"
        )
    with pytest.warns(ContextDeprecationWarning, match="prev_ds"):
        assert templating.render_value("{{ prev_ds }}", context, env) == "2024-03-07"
    rendered = templating.render_value(
        "{{ macros.ds_add(ds, 1) }} {{ range(2) | list }} "
        "{{ data_interval_end | ts_nodash_with_tz }}",
        context,
        env,
    )
    assert rendered == "2024-03-09 [0, 1] 20240309T230000+0000"


def test_previous_successful_run_fills_the_prev_success_keys() -> None:
    dag = _paris_dag()
    before = _scheduled_run(dag, 8)
    previous = PreviousRun(
        logical_date=before.logical_date,
        data_interval_start=before.data_interval_start,
        data_interval_end=before.data_interval_end,
        start_date=datetime(2024, 3, 9, 0, 5, tzinfo=UTC),
        end_date=datetime(2024, 3, 9, 0, 7, tzinfo=UTC),
    )
    context = _context(dag, _scheduled_run(dag, 9, previous_success=previous))
    assert context["prev_data_interval_start_success"] == before.data_interval_start
    assert context["prev_data_interval_end_success"] == before.data_interval_end
    assert context["prev_start_date_success"] == datetime(2024, 3, 9, 0, 5, tzinfo=UTC)
    assert isinstance(context["prev_end_date_success"], pendulum.DateTime)
    assert _quiet(context, "prev_execution_date_success") == before.logical_date


def test_run_with_its_previous_success_round_trips_through_json() -> None:
    raw = {
        "dag_id": "d",
        "run_id": "r",
        "logical_date": "2024-03-08T23:00:00+00:00",
        "data_interval_start": "2024-03-08T23:00:00+00:00",
        "data_interval_end": "2024-03-09T23:00:00+00:00",
        "run_type": "scheduled",
        "previous_success": {
            "logical_date": "2024-03-07T23:00:00+00:00",
            "data_interval_start": "2024-03-07T23:00:00+00:00",
            "data_interval_end": "2024-03-08T23:00:00+00:00",
            "start_date": None,
            "end_date": "2024-03-09T00:01:00+00:00",
        },
    }
    run = DagRunView.from_json(raw)
    assert run.previous_success is not None
    assert run.previous_success.end_date == datetime(2024, 3, 9, 0, 1, tzinfo=UTC)
    assert run.previous_success.start_date is None
    assert DagRunView.from_json({k: v for k, v in raw.items() if k != "previous_success"}) == (
        DagRunView(
            "d",
            "r",
            run.logical_date,
            run.data_interval_start,
            run.data_interval_end,
            run_type="scheduled",
        )
    )


def test_other_airflow_keys_are_present() -> None:
    dag = _paris_dag()
    context = _context(dag, _scheduled_run(dag, 9))
    for key in ("inlets", "outlets", "expanded_ti_count", "map_index_template", "test_mode"):
        assert key in context
    assert context["task_instance_key_str"] == "paris__t__20240308"
    assert context["macros"] is macros


def test_macros_as_airflow_provides_them() -> None:
    assert macros.ds_add("2024-03-01", -1) == "2024-02-29"
    assert macros.ds_format("2024-03-01", "%Y-%m-%d", "%d.%m.%Y") == "01.03.2024"
    assert macros.dateutil.relativedelta.relativedelta(months=1).months == 1
    assert macros.dateutil.parser.parse("2024-03-01").year == 2024
    assert macros.datetime(2024, 1, 1) + macros.timedelta(days=1) == datetime(2024, 1, 2)
    assert 0 <= macros.random() < 1
    assert macros.json.loads(macros.json.dumps({"a": 1})) == {"a": 1}
    assert isinstance(macros.uuid.uuid4(), macros.uuid.UUID)
    assert macros.time.time() > 0
    now = datetime.now(UTC)
    assert macros.datetime_diff_for_humans(now - timedelta(days=2), now) == "2 days before"
    assert "ago" in macros.datetime_diff_for_humans(now - timedelta(days=3))


def test_get_current_context_inside_and_outside_a_task() -> None:
    with pytest.raises(NoCurrentContext, match="outside a running task"):
        get_current_context()
    seen: dict[str, Any] = {}

    def look() -> str:
        current = get_current_context()
        seen["ds"] = current["ds"]
        seen["ti"] = current["ti"]
        return current["logical_date"].subtract(days=1).to_date_string()

    dag = _paris_dag()
    with dag:
        PythonOperator(task_id="look", python_callable=look)
    run = _scheduled_run(dag, 9)
    context = _context(dag, run, "look")
    outcome = execute.execute_task(dag.get_task("look"), context, context["ti"], None)
    assert outcome.state is TaskState.SUCCESS, outcome.error
    assert outcome.return_value == "2024-03-07"
    assert seen == {"ds": "2024-03-08", "ti": context["ti"]}
    with pytest.raises(NoCurrentContext):
        get_current_context()
