"""Airflow 3 style: the airflow.sdk authoring API, TaskFlow, pendulum dates, multiple_outputs."""

import pendulum
from airflow.sdk import dag, get_current_context, task


@dag(
    schedule=None,
    start_date=pendulum.datetime(2024, 1, 1, tz="UTC"),
    catchup=False,
    tags=["taskflow"],
)
def sdk_taskflow():
    @task
    def extract():
        return {"a": 1, "b": 2}

    @task(multiple_outputs=True)
    def transform(data: dict):
        return {"total": sum(data.values()), "count": len(data)}

    @task
    def load(total: int, count: int):
        context = get_current_context()
        if context["ti"].task_id != "load":
            raise RuntimeError("wrong context")
        return total / count

    numbers = transform(extract())
    load(numbers["total"], numbers["count"])


sdk_taskflow()
