"""Airflow 2's DAG and task arguments and methods, pendulum start dates, ParamsDict."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime, timedelta

import pendulum
import pytest

from tradewind import DAG, Param
from tradewind.authoring.params import ParamsDict
from tradewind.exceptions import ParamValidationError
from tradewind.operators import BashOperator
from tradewind.parsing import serialize


def test_pendulum_start_dates_in_dag_and_default_args() -> None:
    start = pendulum.datetime(2024, 1, 1, tz="Europe/Paris")
    for arguments in ({"start_date": start}, {"default_args": {"start_date": start}}):
        with DAG("paris", schedule="@daily", catchup=True, **arguments) as dag:  # type: ignore[arg-type]
            BashOperator(task_id="t", bash_command="echo")
        assert dag.timezone_name == "Europe/Paris"
        first = dag.next_dagrun_info(None, now=pendulum.datetime(2024, 1, 5, tz="UTC"))
        assert first is not None
        # Midnight in Paris, in UTC.
        assert first.logical_date == datetime(2023, 12, 31, 23, tzinfo=UTC)
        data = serialize.serialize_dag(dag)
        assert data["timezone"] == "Europe/Paris"
        assert data["start_date"] == "2023-12-31T23:00:00+00:00"
        assert data["timetable"]["timezone"] == "Europe/Paris"


def test_pendulum_timezone_argument_and_timedelta_schedule() -> None:
    with DAG(
        "tz",
        schedule=timedelta(hours=6),
        start_date=datetime(2024, 1, 1),
        timezone=pendulum.timezone("America/New_York"),
        catchup=True,
    ) as dag:
        BashOperator(task_id="t", bash_command="echo")
    first = dag.next_dagrun_info(None, now=pendulum.datetime(2024, 1, 5, tz="UTC"))
    assert first is not None
    assert first.logical_date == datetime(2024, 1, 1, 5, tzinfo=UTC)


def test_concurrency_is_the_old_name_of_max_active_tasks() -> None:
    with pytest.warns(DeprecationWarning, match="concurrency"):
        dag = DAG("old", concurrency=3)
    assert dag.max_active_tasks == 3
    assert dag.concurrency == 3


def test_schedule_interval_warns() -> None:
    with pytest.warns(DeprecationWarning, match="schedule_interval"):
        dag = DAG("old", schedule_interval="@daily", start_date=datetime(2024, 1, 1))
    assert dag.timetable.summary == "@daily"


def test_ui_only_airflow_2_arguments_are_accepted() -> None:
    with pytest.warns(UserWarning, match="is ignored") as caught:
        dag = DAG("ui", default_view="graph", orientation="LR")
    assert dag.dag_id == "ui"
    said = sorted(str(w.message) for w in caught)
    assert len(said) == 2
    assert "default_view is ignored" in said[0]
    assert "orientation is ignored" in said[1]


def test_following_and_previous_schedule() -> None:
    with DAG(
        "daily", schedule="0 6 * * *", start_date=pendulum.datetime(2024, 1, 1, tz="Europe/Paris")
    ) as dag:
        BashOperator(task_id="t", bash_command="echo")
    at = pendulum.datetime(2024, 3, 9, 5, tz="UTC")  # 06:00 in Paris
    with pytest.warns(DeprecationWarning, match="following_schedule"):
        after = dag.following_schedule(at)
    with pytest.warns(DeprecationWarning, match="previous_schedule"):
        before = dag.previous_schedule(at)
    assert isinstance(after, pendulum.DateTime)
    assert after == pendulum.datetime(2024, 3, 10, 5, tz="UTC")
    assert before == pendulum.datetime(2024, 3, 8, 5, tz="UTC")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert DAG("manual").following_schedule(at) is None
        with DAG("hourly", schedule=timedelta(hours=1), start_date=at) as hourly:
            pass
        assert hourly.previous_schedule(at) == at - timedelta(hours=1)


def test_task_display_name_and_sla() -> None:
    with DAG("names"):
        named = BashOperator(task_id="extract", bash_command="echo", task_display_name="Extract 📦")
        plain = BashOperator(task_id="load", bash_command="echo")
        with pytest.warns(DeprecationWarning, match="sla is ignored"):
            late = BashOperator(task_id="late", bash_command="echo", sla=timedelta(hours=1))
    assert named.task_display_name == "Extract 📦"
    assert plain.task_display_name == "load"
    assert late.task_id == "late"


def test_params_dict_reads_values_and_validates_on_set() -> None:
    params = ParamsDict({"limit": Param(5, type="integer", minimum=1), "table": "orders"})
    assert params["limit"] == 5
    assert dict(params) == {"limit": 5, "table": "orders"}
    assert params.get_param("limit").schema == {"type": "integer", "minimum": 1}
    params["limit"] = 7
    assert params["limit"] == 7
    with pytest.raises(ParamValidationError, match="limit"):
        params["limit"] = 0
    assert params["limit"] == 7
    params["new"] = [1]
    assert params.dump() == {"limit": 7, "table": "orders", "new": [1]}
    assert params.validate() == params.dump()
    params.deep_merge({"new": [2], "table": "customers"})
    assert params["table"] == "customers"
    copied = params.copy()
    copied["table"] = "x"
    assert params["table"] == "customers"


def test_params_dict_without_a_value_and_in_a_dag() -> None:
    params = ParamsDict({"needed": Param(type="string")})
    with pytest.raises(ParamValidationError, match="needed"):
        params["needed"]
    assert ParamsDict(params, suppress_exception=True)["needed"] is None
    dag = DAG("p", params=ParamsDict({"limit": Param(5, type="integer")}))
    assert dag.params["limit"] == Param(5, type="integer")
    assert dag.resolve_params({"limit": 2}) == {"limit": 2}
