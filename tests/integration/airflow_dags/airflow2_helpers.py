"""Airflow 2 helpers a DAG file leans on: the Airflow 1 module names 2.x still took, the
TaskFlow decorator from airflow.operators.python, is_venv_installed, DagRunType, LoggingMixin,
apply_defaults on a custom operator, get_parsing_context, SmoothOperator and a data-interval
timetable."""

import logging

import pendulum
from airflow.models.baseoperator import BaseOperator
from airflow.models.dag import DAG
from airflow.models.taskinstance import TaskInstance
from airflow.operators.latest_only_operator import LatestOnlyOperator
from airflow.operators.python import PythonOperator, is_venv_installed, task
from airflow.operators.smooth import SmoothOperator
from airflow.timetables.interval import CronDataIntervalTimetable
from airflow.utils.dag_parsing_context import get_parsing_context
from airflow.utils.decorators import apply_defaults
from airflow.utils.log.logging_mixin import LoggingMixin
from airflow.utils.types import DagRunType

log = logging.getLogger(__name__)

if not is_venv_installed():
    log.warning("virtual environments cannot be made here")


class Reporter(LoggingMixin):
    def report(self, what):
        self.log.info("reporting %s", what)
        return what


class GreetOperator(BaseOperator):
    template_fields = ("name",)

    @apply_defaults
    def __init__(self, name, **kwargs):
        super().__init__(**kwargs)
        self.name = name

    def execute(self, context):
        return f"hello {self.name}"


DAG_ID = "airflow2_helpers"
current = get_parsing_context()

if current.dag_id is None or current.dag_id == DAG_ID:
    with DAG(
        DAG_ID,
        schedule=CronDataIntervalTimetable("0 2 * * *", timezone="UTC"),
        start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
        catchup=False,
        default_args={"owner": "data"},
    ):
        latest = LatestOnlyOperator(task_id="latest_only")

        @task
        def run_kind(dag_run=None, ti: TaskInstance = None):
            assert dag_run.run_type == DagRunType.MANUAL
            assert dag_run.run_type != DagRunType.SCHEDULED
            return Reporter().report(ti.task_id)

        venv = PythonOperator(task_id="venv_check", python_callable=is_venv_installed)
        greet = GreetOperator(task_id="greet", name="{{ dag.dag_id }}")
        smooth = SmoothOperator(task_id="smooth")

        latest >> run_kind() >> [venv, greet] >> smooth
