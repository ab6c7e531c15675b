"""Airflow's context through the real scheduler: pendulum dates of a daily DAG in a non-UTC
zone, Airflow 2's templated keys, prev_*_success and get_current_context in a real try."""

from __future__ import annotations

from datetime import timedelta

import pendulum
from scheduling import System, make_system_fixture, system_fixture  # noqa: F401

from tradewind.metastore.store import runs as run_store


def test_daily_dag_in_paris_sees_airflow_dates(system: System) -> None:
    system.add_dag(
        "paris",
        """
        import pendulum
        from tradewind.runtime.context import get_current_context

        def dates(logical_date, data_interval_end, prev_data_interval_start_success, ds):
            current = get_current_context()
            return {
                "type": type(logical_date).__name__,
                "zone": logical_date.timezone_name,
                "yesterday": logical_date.subtract(days=1).to_date_string(),
                "local_day": logical_date.in_timezone("Europe/Paris").to_date_string(),
                "hours": (data_interval_end - logical_date).in_hours(),
                "ds": ds,
                "current_ds": current["ds"],
                "prev_success": (
                    prev_data_interval_start_success.isoformat()
                    if prev_data_interval_start_success else None
                ),
            }

        with DAG(
            "paris",
            schedule="@daily",
            start_date=pendulum.today("Europe/Paris").subtract(days=3),
            catchup=True,
            max_active_runs=1,
            is_paused_upon_creation=False,
        ):
            PythonOperator(task_id="dates", python_callable=dates)
            BashOperator(
                task_id="templated",
                bash_command="echo '{{ ds }} {{ prev_ds }} {{ macros.ds_add(ds, -1) }}'",
            )
        """,
    )
    system.scheduler.run_until(lambda: _successes(system) >= 3, timeout=90)
    with system.sessions() as session:
        runs = sorted(
            (r for r in run_store.list_runs(session, "paris") if r.run_type == "scheduled"),
            key=lambda r: r.logical_date,
        )
    assert len(runs) == 3
    previous = None
    for run in runs:
        logical = pendulum.instance(run.logical_date).in_timezone("UTC")
        ds = logical.to_date_string()
        seen = system.xcom("paris", run.run_id, "dates")
        assert seen == {
            "type": "DateTime",
            "zone": "UTC",
            "yesterday": logical.subtract(days=1).to_date_string(),
            "local_day": logical.in_timezone("Europe/Paris").to_date_string(),
            "hours": int((run.data_interval_end - run.logical_date) / timedelta(hours=1)),
            "ds": ds,
            "current_ds": ds,
            "prev_success": previous,
        }
        # Midnight in Paris is the evening before in UTC: ds is the UTC date, as in Airflow.
        assert seen["local_day"] != ds
        prev_ds = _prev_schedule(logical).to_date_string()
        assert system.xcom("paris", run.run_id, "templated") == (
            f"{ds} {prev_ds} {logical.subtract(days=1).to_date_string()}"
        )
        previous = pendulum.instance(run.data_interval_start).in_timezone("UTC").isoformat()


def _prev_schedule(logical: pendulum.DateTime) -> pendulum.DateTime:
    """The midnight in Paris before ``logical`` (a midnight in Paris), in UTC."""
    local = logical.in_timezone("Europe/Paris").subtract(days=1)
    return local.in_timezone("UTC")


def _successes(system: System) -> int:
    with system.sessions() as session:
        return sum(1 for r in run_store.list_runs(session, "paris") if r.state == "success")
