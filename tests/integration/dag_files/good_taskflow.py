"""A manual-only TaskFlow DAG: two @task functions, the second takes the first's result."""

from datetime import datetime

from tradewind import dag, task


@dag(schedule=None, start_date=datetime(2024, 1, 1), tags=["sample"])
def good_taskflow():
    @task
    def produce() -> int:
        return 21

    @task
    def double(value: int) -> int:
        return value * 2

    double(produce())


good_taskflow()
