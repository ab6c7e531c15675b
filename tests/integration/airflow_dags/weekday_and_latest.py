"""LatestOnly on a manual run lets everything through; a day-of-week branch picks one side."""

import pendulum
from airflow import DAG
from airflow.operators.empty import EmptyOperator
from airflow.operators.latest_only import LatestOnlyOperator
from airflow.operators.weekday import BranchDayOfWeekOperator
from airflow.utils.weekday import WeekDay

with DAG(
    "weekday_and_latest",
    schedule="@daily",
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
) as dag:
    latest = LatestOnlyOperator(task_id="latest_only")
    report = EmptyOperator(task_id="report")
    every_day = BranchDayOfWeekOperator(
        task_id="which_day",
        follow_task_ids_if_true="any_day",
        follow_task_ids_if_false="never",
        week_day={
            WeekDay.MONDAY,
            WeekDay.TUESDAY,
            WeekDay.WEDNESDAY,
            WeekDay.THURSDAY,
            WeekDay.FRIDAY,
            WeekDay.SATURDAY,
            WeekDay.SUNDAY,
        },
    )
    (
        latest
        >> report
        >> every_day
        >> [EmptyOperator(task_id="any_day"), EmptyOperator(task_id="never")]
    )
