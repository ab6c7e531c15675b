"""Setup and teardown (Airflow 2.7+): the teardown runs although the work failed, and the run's
end follows the work, not the teardown."""

from datetime import datetime

from airflow.decorators import dag, setup, task, teardown


@dag(schedule=None, start_date=datetime(2024, 1, 1), catchup=False)
def setup_teardown():
    @setup
    def create_cluster():
        return "cluster-1"

    @task
    def work(cluster):
        raise ValueError(f"the job on {cluster} broke")

    @teardown
    def delete_cluster(cluster):
        print(f"deleting {cluster}")

    cluster = create_cluster()
    work(cluster) >> delete_cluster(cluster)


setup_teardown()
