"""Airflow DAG files, imports unchanged, through the real DAG processor, scheduler and tries;
and a real Airflow in the environment is never shadowed."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

from scheduling import System, make_system_fixture, sqlite_only, system_fixture  # noqa: F401
from sqlalchemy import select

from tradewind.metastore import crypto
from tradewind.metastore.models import ParseImportError
from tradewind.metastore.store import variables as variable_store
from tradewind.settings import Settings
from tradewind.states import DagRunState, TaskState

AIRFLOW_DAGS = """
from airflow import DAG
from airflow.operators.bash import BashOperator
from airflow.operators.python import PythonOperator
from airflow.sdk import Variable, dag, task
from airflow.exceptions import AirflowSkipException
from airflow.utils.dates import days_ago
from airflow.utils.trigger_rule import TriggerRule

with DAG("airflow2_style", schedule=None, start_date=days_ago(1), catchup=False):
    hello = BashOperator(task_id="hello", bash_command="echo hello from bash")
    greet = PythonOperator(task_id="greet", python_callable=lambda: Variable.get("greeting"))
    hello >> greet


@dag(schedule=None, start_date=datetime(2024, 1, 1, tzinfo=timezone.utc), catchup=False)
def airflow3_style():
    @task
    def read():
        return Variable.get("numbers", deserialize_json=True)

    @task
    def total(values):
        return sum(values)

    @task
    def nothing_to_do():
        raise AirflowSkipException("nothing today")

    @task(trigger_rule=TriggerRule.ALL_DONE)
    def after(value):
        return value * 10

    skipped = nothing_to_do()
    last = after(total(read()))
    skipped >> last


airflow3_style()
"""


@sqlite_only
def test_airflow_dag_files_register_and_run_unchanged(system: System) -> None:
    cipher = crypto.Cipher(system.settings.core.fernet_key)
    with system.sessions.begin() as session:
        variable_store.set_variable(session, "greeting", "hi", cipher)
        variable_store.set_variable(session, "numbers", [1, 2, 3], cipher)
    system.add_dag("airflow_dags", AIRFLOW_DAGS)

    run2 = system.trigger("airflow2_style")
    assert system.wait("airflow2_style", run2) == DagRunState.SUCCESS
    assert system.xcom("airflow2_style", run2, "greet") == "hi"

    run3 = system.trigger("airflow3_style")
    assert system.wait("airflow3_style", run3) == DagRunState.SUCCESS
    assert system.states("airflow3_style", run3) == {
        "read": TaskState.SUCCESS,
        "total": TaskState.SUCCESS,
        "nothing_to_do": TaskState.SKIPPED,
        "after": TaskState.SUCCESS,
    }
    assert system.xcom("airflow3_style", run3, "after") == 60


@sqlite_only
def test_the_dag_processor_stores_what_tradewind_does_not_provide(system: System) -> None:
    system.add_dag(
        "s3_dag",
        """
        from airflow import DAG
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook
        """,
    )
    system.add_dag("mapping_dag", "from airflow.operators.python import Foo\n")
    with system.sessions() as session:
        errors = {
            Path(row.filename).name: row.stacktrace
            for row in session.scalars(select(ParseImportError))
        }
    assert "airflow.providers.amazon is not part of tradewind" in errors["s3_dag.py"]
    assert "Foo is not provided by tradewind" in errors["mapping_dag.py"]


STANDIN = """
from tradewind import DAG as _DAG

STANDIN = True


class DAG(_DAG):
    pass
"""

STANDIN_DAG = """
import importlib
from datetime import datetime, timezone

import airflow
from airflow import DAG
from tradewind.operators import PythonOperator


def check():
    print("airflow module:", airflow.__file__)
    assert airflow.STANDIN
    try:
        importlib.import_module("airflow.operators.bash")  # the stand-in has no such module
    except ModuleNotFoundError as exc:
        print("not served:", type(exc).__name__, exc)


with DAG("standin", schedule=None, start_date=datetime(2024, 1, 1, tzinfo=timezone.utc)):
    PythonOperator(task_id="check", python_callable=check)
"""


def test_a_real_airflow_is_never_shadowed(
    tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    """An ``airflow`` package on PYTHONPATH (a stand-in for a real installation) is the one a
    tradewind process imports for a DAG file, and tradewind serves none of its submodules."""
    package = tmp_path / "site" / "airflow"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(textwrap.dedent(STANDIN))
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "standin.py").write_text(textwrap.dedent(STANDIN_DAG))
    settings = make_settings(tmp_path, core={"dags_folder": str(dags), "load_examples": False})
    env = {
        **os.environ,
        **settings.to_env(),
        "PYTHONPATH": os.pathsep.join([str(tmp_path / "site"), os.environ.get("PYTHONPATH", "")]),
    }
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "tradewind",
            "tasks",
            "test",
            "standin",
            "check",
            "--dag-file",
            str(dags / "standin.py"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert f"airflow module: {package / '__init__.py'}" in output
    assert "not served: ModuleNotFoundError No module named 'airflow.operators'" in output
