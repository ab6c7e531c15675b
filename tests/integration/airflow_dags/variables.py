"""Variables set and read inside tasks, with defaults and JSON, as Airflow's Variable does."""

from datetime import datetime

from airflow.decorators import dag, task
from airflow.models import Variable


@dag(schedule=None, start_date=datetime(2024, 1, 1), catchup=False)
def variables():
    @task
    def write():
        Variable.set("corpus_settings", {"limit": 5}, serialize_json=True)

    @task
    def read():
        settings = Variable.get("corpus_settings", deserialize_json=True)
        missing = Variable.get("corpus_missing", default_var="fallback")
        return f"{settings['limit']}-{missing}"

    write() >> read()


variables()
