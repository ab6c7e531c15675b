"""Airflow 3 names from airflow.sdk beyond the basics: a cron trigger timetable (a run dated by
its tick), WeightRule, the state enums, macros, get_parsing_context, SmoothOperator and
is_venv_installed from the standard provider."""

import pendulum
from airflow.providers.standard.operators.python import PythonOperator, is_venv_installed
from airflow.providers.standard.operators.smooth import SmoothOperator
from airflow.sdk import (
    DAG,
    CronTriggerTimetable,
    DagRunState,
    TaskInstanceState,
    WeightRule,
    get_parsing_context,
    macros,
    task,
)

if get_parsing_context().dag_id in (None, "sdk_names"):
    with DAG(
        dag_id="sdk_names",
        schedule=CronTriggerTimetable("30 6 * * 1-5", timezone="Europe/Amsterdam"),
        start_date=pendulum.datetime(2024, 1, 1, tz="Europe/Amsterdam"),
        catchup=False,
    ):

        @task(weight_rule=WeightRule.ABSOLUTE, priority_weight=5)
        def dated_by_trigger(**context):
            # A manual run of a trigger timetable covers an instant: its logical date.
            assert context["data_interval_start"] == context["data_interval_end"]
            assert context["data_interval_start"] == context["logical_date"]
            return macros.ds_add(context["ds"], 1)

        @task
        def states():
            assert TaskInstanceState.SUCCESS == "success"
            assert DagRunState.FAILED == "failed"
            return [str(TaskInstanceState.SKIPPED.value), str(DagRunState.RUNNING.value)]

        venv = PythonOperator(task_id="venv_check", python_callable=is_venv_installed)
        dated_by_trigger() >> states() >> venv >> SmoothOperator(task_id="smooth")
