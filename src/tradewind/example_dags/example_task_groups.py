"""Task groups: a group per data source, built with TaskGroup and with @task_group."""

from __future__ import annotations

from datetime import datetime

from tradewind import DAG, TaskGroup, task, task_group
from tradewind.operators import BashOperator, EmptyOperator


@task
def fetch(source: str) -> str:
    return f"rows from {source}"


@task
def clean(rows: str) -> str:
    return rows.upper()


@task_group
def ingest(source: str) -> None:
    """Fetch one source and clean what came back."""
    clean(fetch(source))


with DAG(
    "example_task_groups",
    schedule="@hourly",
    is_paused_upon_creation=False,
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["example", "task_groups"],
) as dag:
    start = EmptyOperator(task_id="start")

    with TaskGroup("prepare", tooltip="Create the staging area") as prepare:
        make_dir = BashOperator(task_id="make_dir", bash_command="echo mkdir staging")
        make_tables = BashOperator(task_id="make_tables", bash_command="echo create tables")
        make_dir >> make_tables

    done = EmptyOperator(task_id="done")

    # Each call of the @task_group function is a new group: ingest, ingest__1.
    start >> prepare >> [ingest("orders"), ingest("customers")] >> done
