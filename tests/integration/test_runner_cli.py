"""``tradewind tasks run`` (as executors start it) and ``tradewind tasks test`` (as people do)."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from sqlalchemy.engine import Engine

from tradewind.executors.base import REPORT_TAG
from tradewind.metastore import crypto, models
from tradewind.metastore import engine as engine_module
from tradewind.metastore.store import runs as run_store
from tradewind.metastore.store import variables as variable_store
from tradewind.parsing.processor import DagProcessor
from tradewind.settings import Settings, child_environ

Cli = Callable[..., Result]
SettingsMaker = Callable[..., Settings]
RUN_ID = "manual__2024-05-01T00:00:00+00:00"

DAG_SOURCE = """
from datetime import datetime

from tradewind import DAG, Param
from tradewind.operators import PythonOperator


def greet(params, ds, var):
    print("greeting", params["who"], "with", var.value.get("db_password", "no password"))
    return f"hello {params['who']} on {ds}"


def broken():
    raise RuntimeError("it broke")


def leaves_an_exit_handler():
    import atexit

    atexit.register(print, "an exit handler of the task's", flush=True)
    print("the task ran")


with DAG(
    "cli_dag",
    schedule="@daily",
    start_date=datetime(2024, 1, 1),
    params={"who": Param("world", type="string")},
):
    PythonOperator(task_id="greet", python_callable=greet)
    PythonOperator(task_id="broken", python_callable=broken)
    PythonOperator(task_id="exit_handler", python_callable=leaves_an_exit_handler)
"""


def _write_dag(settings: Settings) -> Path:
    folder = settings.core.dags_folder
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "cli_dag.py"
    path.write_text(DAG_SOURCE)
    return path


def _register(engine: Engine, dag_file: Path) -> None:
    when = datetime(2024, 5, 1, tzinfo=UTC)
    with engine_module.session_factory(engine).begin() as session:
        session.add(models.DagModel(dag_id="cli_dag", fileloc=str(dag_file), fileloc_hash="h"))
        session.flush()
        session.add(
            models.DagRun(
                dag_id="cli_dag", run_id=RUN_ID, logical_date=when, run_type="manual", conf={}
            )
        )


@pytest.fixture
def registered(tmp_path: Path, sqlite_engine: Engine, make_settings: SettingsMaker) -> Settings:
    url = sqlite_engine.url.render_as_string(hide_password=False)
    settings = make_settings(
        tmp_path, db_url=url, core={"fernet_key": crypto.generate_key(), "load_examples": False}
    )
    _register(sqlite_engine, _write_dag(settings))
    with engine_module.session_factory(sqlite_engine).begin() as session:
        variable_store.set_variable(
            session, "db_password", "pw-778899", crypto.Cipher(settings.core.fernet_key)
        )
    return settings


def _tasks_run(settings: Settings, *args: str, **popen: Any) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "tradewind", "tasks", "run", "cli_dag", *args]
    return subprocess.run(
        command,
        env=child_environ(settings),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        **popen,
    )


def test_tasks_run_reports_json_lines_on_stdout(registered: Settings) -> None:
    done = _tasks_run(registered, "greet", RUN_ID)
    assert done.returncode == 0, done.stderr
    running, finished = (json.loads(line) for line in done.stdout.splitlines())
    assert running["type"] == "running"
    assert finished["state"] == "success"
    assert finished["xcoms"] == [["return_value", "hello world on 2024-05-01"]]
    log = registered.logging.base_log_folder / "dag_id=cli_dag" / f"run_id={RUN_ID}"
    text = (log / "task_id=greet" / "attempt=1.log").read_text()
    assert "greeting world with ***" in text
    assert "pw-778899" not in text


def test_tasks_run_with_the_log_on_stdout_as_a_pod_runs_it(registered: Settings) -> None:
    done = _tasks_run(registered, "exit_handler", RUN_ID, "--log-to-stdout")

    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    reports = [json.loads(x.removeprefix(REPORT_TAG)) for x in lines if x.startswith(REPORT_TAG)]
    assert [r["type"] for r in reports] == ["running", "finished"]
    assert reports[-1]["state"] == "success"
    log = [x for x in lines if not x.startswith(REPORT_TAG)]
    assert "the task ran" in log
    assert any("Outcome: SUCCESS" in x for x in log)
    # The task's exit handlers run before the process ends, after the report.
    assert lines[-1] == "an exit handler of the task's"
    # No log file: the container's output is the log.
    assert not (registered.logging.base_log_folder / "dag_id=cli_dag").exists()


def test_tasks_run_reports_on_a_given_fd(registered: Settings) -> None:
    read_fd, write_fd = os.pipe()
    try:
        done = _tasks_run(
            registered,
            "broken",
            RUN_ID,
            "--try-number",
            "3",
            "--dag-file",
            str(registered.core.dags_folder / "cli_dag.py"),
            "--report-fd",
            str(write_fd),
            pass_fds=(write_fd,),
        )
        os.close(write_fd)
        with os.fdopen(read_fd) as reader:
            messages = [json.loads(line) for line in reader]
    finally:
        for fd in (read_fd, write_fd):
            with contextlib.suppress(OSError):
                os.close(fd)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert [m["type"] for m in messages] == ["running", "finished"]
    assert (messages[1]["state"], messages[1]["error"]) == ("failed", "RuntimeError: it broke")
    attempt = registered.logging.base_log_folder.glob("dag_id=cli_dag/*/task_id=broken/*.log")
    assert [p.name for p in attempt] == ["attempt=3.log"]


def test_tasks_run_needs_a_registered_dag_or_a_file(
    registered: Settings, tradewind_cli: Cli
) -> None:
    result = tradewind_cli(registered, "tasks", "run", "unknown_dag", "t", RUN_ID)
    assert result.exit_code == 1
    assert "no DAG 'unknown_dag' is registered" in result.output


def test_tasks_test_runs_without_a_run_row(registered: Settings, tradewind_cli: Cli) -> None:
    result = tradewind_cli(
        registered, "tasks", "test", "cli_dag", "greet", "2024-02-03", "-c", '{"who": "ann"}'
    )
    assert result.exit_code == 0, result.output
    assert "greeting ann with ***" in result.output
    assert "Task cli_dag.greet (test__2024-02-03T00:00:00+00:00): success" in result.stdout
    assert 'Return value: "hello ann on 2024-02-03"' in result.stdout
    assert "pw-778899" not in result.output


def test_tasks_test_exit_code_and_bad_input(registered: Settings, tradewind_cli: Cli) -> None:
    result = tradewind_cli(registered, "tasks", "test", "cli_dag", "broken")
    assert result.exit_code == 1
    assert "failed" in result.stdout
    assert "Error: RuntimeError: it broke" in result.output
    result = tradewind_cli(registered, "tasks", "test", "cli_dag", "nope")
    assert result.exit_code == 1
    assert "DAG 'cli_dag' has no task 'nope'" in result.output
    result = tradewind_cli(registered, "tasks", "test", "cli_dag", "greet", "someday")
    assert result.exit_code == 2
    assert "is not a date or time" in result.output
    result = tradewind_cli(registered, "tasks", "test", "cli_dag", "greet", "-c", '{"who": 5}')
    assert result.exit_code == 1
    assert "param 'who'" in result.output


def test_tasks_test_finds_the_dag_without_a_metastore(
    tmp_path: Path, make_settings: SettingsMaker, tradewind_cli: Cli
) -> None:
    settings = make_settings(tmp_path, core={"load_examples": False})
    _write_dag(settings)
    result = tradewind_cli(settings, "tasks", "test", "cli_dag", "broken")
    assert result.exit_code == 1, result.output
    assert "the metastore is not usable" in result.output
    assert "Error: RuntimeError: it broke" in result.output
    # Reading a variable needs the metastore: a clear error, not a silent default.
    result = tradewind_cli(settings, "tasks", "test", "cli_dag", "greet")
    assert "Error: cannot read variable 'db_password': no metastore" in result.output


CROSS_DAG_SOURCE = """
from datetime import datetime

from tradewind import DAG
from tradewind.operators import EmptyOperator, PythonVirtualenvOperator, TriggerDagRunOperator


def where():
    import sys

    return sys.prefix


with DAG("target", schedule=None, start_date=datetime(2024, 1, 1)):
    EmptyOperator(task_id="noop")

with DAG("cross", schedule=None, start_date=datetime(2024, 1, 1)):
    TriggerDagRunOperator(
        task_id="kick", trigger_dag_id="target", trigger_run_id="kicked", conf={"by": "test"}
    )
    PythonVirtualenvOperator(task_id="isolated", python_callable=where, system_site_packages=False)
"""


@pytest.fixture
def cross_dag(registered: Settings, sqlite_engine: Engine) -> Settings:
    """``registered`` with the DAGs ``cross`` and ``target`` parsed into the metastore."""
    (registered.core.dags_folder / "cross_dag.py").write_text(CROSS_DAG_SOURCE)
    DagProcessor(registered, engine_module.session_factory(sqlite_engine)).scan()
    return registered


def test_tasks_test_triggers_a_run_as_a_try_does(
    cross_dag: Settings, sqlite_engine: Engine, tradewind_cli: Cli
) -> None:
    result = tradewind_cli(cross_dag, "tasks", "test", "cross", "kick")
    assert result.exit_code == 0, result.output
    with engine_module.session_factory(sqlite_engine)() as session:
        run = run_store.get_run(session, "target", "kicked")
        assert run is not None
        assert run.conf == {"by": "test"}


def test_tasks_test_caches_a_virtualenv_where_a_try_does(
    cross_dag: Settings, tradewind_cli: Cli
) -> None:
    result = tradewind_cli(cross_dag, "tasks", "test", "cross", "isolated")
    assert result.exit_code == 0, result.output
    prefix = json.loads(result.stdout.split("Return value: ", 1)[1].splitlines()[0])
    assert Path(prefix).parent == cross_dag.core.venv_cache_folder
