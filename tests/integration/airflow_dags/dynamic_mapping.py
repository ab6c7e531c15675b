"""Dynamic task mapping as Airflow 2.3+ spells it: TaskFlow expand and partial, a classic
operator mapped over a templated argument, expand_kwargs, map and zip, a mapped task group and
a reduce, and an empty input that skips the mapped task."""

from datetime import datetime

from airflow.decorators import dag, task, task_group
from airflow.operators.bash import BashOperator
from airflow.operators.python import PythonOperator


def scale(value, factor):
    return value * factor


@dag(start_date=datetime(2024, 1, 1), schedule=None, catchup=False)
def dynamic_mapping():
    @task
    def regions():
        return ["north", "south", "east"]

    @task
    def count_orders(region, year):
        return len(region) + year % 10

    @task
    def report(counts):
        assert len(counts) == 3
        assert list(counts) == [counts[0], counts[1], counts[2]]
        return sum(counts)

    counts = count_orders.partial(year=2024).expand(region=regions())
    report(counts)

    BashOperator.partial(task_id="announce", do_xcom_push=False).expand(
        bash_command=["echo first {{ ti.map_index }}", "echo second {{ ti.map_index }}"]
    )

    PythonOperator.partial(task_id="scaled", python_callable=scale).expand_kwargs(
        [{"op_kwargs": {"value": 1, "factor": 10}}, {"op_kwargs": {"value": 2, "factor": 10}}]
    )

    @task
    def pairs():
        return [1, 2, 3]

    @task
    def labels():
        return ["a", "b", "c"]

    @task
    def show(item):
        return str(item)

    show.override(task_id="doubled").expand(item=pairs().map(lambda n: n * 2))
    show.override(task_id="zipped").expand(item=pairs().zip(labels()))

    @task_group
    def per_region(region):
        @task
        def load(name):
            return name.upper()

        @task
        def check(loaded):
            assert loaded.isupper()
            return loaded

        return check(load(region))

    @task
    def nothing():
        return []

    per_region.expand(region=regions())
    show.override(task_id="never").expand(item=nothing())


dynamic_mapping()
