"""run_workload end to end: a DAG file, a DAG run row, messages through an in-memory channel.

The tests that depend on the database (run rows, XComs, variables, connections) run on every
dialect; the ones about operator behaviour run on SQLite.
"""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from tradewind import tasklogs
from tradewind.metastore import crypto, models
from tradewind.metastore import engine as engine_module
from tradewind.metastore.store import connections as connection_store
from tradewind.metastore.store import variables as variable_store
from tradewind.metastore.store import xcom as xcom_store
from tradewind.runtime import runner
from tradewind.settings import Settings
from tradewind.workloads import TaskKey, Workload

DAG_SOURCE = """
import time
from datetime import datetime, timedelta

from tradewind import DAG
from tradewind.exceptions import FailTask, SkipTask
from tradewind.operators import (
    BashOperator, BranchPythonOperator, PythonOperator, ShortCircuitOperator,
)
from tradewind.operators.empty import EmptyOperator
from tradewind.sensors import PythonSensor


def produce(ti):
    ti.xcom_push("extra", {"k": 1})
    print("producing rows")
    return {"rows": 3}


def consume(ti, dag_run):
    return ti.xcom_pull(task_ids="produce")["rows"] * dag_run.conf["factor"]


def flaky():
    raise ValueError("flaky failure")


def fatal():
    raise FailTask("fatal: bad config")


def skip():
    raise SkipTask("nothing to do")


def leak(var, conn):
    print("variable:", var.value.api_token)
    print("password:", conn.warehouse.password)
    raise ValueError("login refused with " + conn.warehouse.password)


with DAG("rt", schedule=None, start_date=datetime(2024, 1, 1), params={"who": "world"}):
    PythonOperator(task_id="produce", python_callable=produce)
    PythonOperator(task_id="consume", python_callable=consume)
    PythonOperator(task_id="flaky", python_callable=flaky, retries=2)
    PythonOperator(task_id="fatal", python_callable=fatal)
    PythonOperator(task_id="skip", python_callable=skip)
    branch = BranchPythonOperator(task_id="branch", python_callable=lambda: "left")
    branch >> [EmptyOperator(task_id="left"), EmptyOperator(task_id="right")]
    short = ShortCircuitOperator(task_id="short", python_callable=lambda: [])
    short >> EmptyOperator(task_id="after") >> EmptyOperator(task_id="later")
    PythonSensor(task_id="poke_ok", python_callable=lambda: True, poke_interval=0.01)
    PythonSensor(
        task_id="wait",
        python_callable=lambda: False,
        mode="reschedule",
        poke_interval=30,
        exponential_backoff=True,
    )
    BashOperator(
        task_id="bash",
        bash_command=(
            "echo {{ ds }} {{ params.who }} "
            "{{ ti.xcom_pull(task_ids='produce')['rows'] }} {{ run_id }}"
        ),
    )
    PythonOperator(
        task_id="slow",
        python_callable=lambda: time.sleep(30),
        execution_timeout=timedelta(seconds=0.5),
    )
    PythonOperator(task_id="leak", python_callable=leak)
"""

LOGICAL = datetime(2024, 5, 1, tzinfo=UTC)
RUN_ID = "manual__2024-05-01T00:00:00+00:00"
SettingsMaker = Callable[..., Settings]


class MemoryChannel:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    def send(self, message: Mapping[str, Any]) -> None:
        # What a real channel would carry: JSON text.
        self.messages.append(json.loads(json.dumps(message)))


class Setup:
    def __init__(self, tmp_path: Path, engine: Engine, settings: Settings) -> None:
        self.dag_file = tmp_path / "dags" / "rt_dag.py"
        self.dag_file.parent.mkdir()
        self.dag_file.write_text(DAG_SOURCE)
        self.engine = engine
        self.settings = settings
        self.cipher = crypto.Cipher(settings.core.fernet_key)
        with engine_module.session_factory(engine).begin() as session:
            session.add(models.DagModel(dag_id="rt", fileloc=str(self.dag_file), fileloc_hash="h"))
            session.flush()
            run = models.DagRun(
                dag_id="rt",
                run_id=RUN_ID,
                logical_date=LOGICAL,
                data_interval_start=LOGICAL,
                data_interval_end=LOGICAL,
                run_type="manual",
                conf={"factor": 10},
            )
            session.add(run)
            session.flush()
            self.dag_run_id = run.id

    def run(self, task_id: str, try_number: int = 1, **workload: Any) -> list[dict[str, Any]]:
        channel = MemoryChannel()
        key = TaskKey("rt", RUN_ID, task_id, -1, try_number)
        wl = Workload(key=key, dag_file=str(self.dag_file), **workload)
        runner.run_workload(wl, channel, self.settings)
        return channel.messages

    def finished(self, task_id: str, **kwargs: Any) -> dict[str, Any]:
        messages = self.run(task_id, **kwargs)
        assert [m["type"] for m in messages] == ["running", "finished"], messages
        return messages[1]

    def log(self, task_id: str, try_number: int = 1) -> str:
        key = TaskKey("rt", RUN_ID, task_id, -1, try_number)
        return tasklogs.log_path(self.settings.logging.base_log_folder, key).read_text()


def _setup(tmp_path: Path, engine: Engine, make_settings: SettingsMaker) -> Setup:
    url = engine.url.render_as_string(hide_password=False)
    settings = make_settings(tmp_path, db_url=url, core={"fernet_key": crypto.generate_key()})
    return Setup(tmp_path, engine, settings)


@pytest.fixture
def every_db(tmp_path: Path, engine: Engine, make_settings: SettingsMaker) -> Setup:
    return _setup(tmp_path, engine, make_settings)


@pytest.fixture
def sqlite(tmp_path: Path, sqlite_engine: Engine, make_settings: SettingsMaker) -> Setup:
    return _setup(tmp_path, sqlite_engine, make_settings)


def test_success_reports_running_then_finished_with_xcoms(every_db: Setup) -> None:
    running, finished = every_db.run("produce")
    assert running["pid"] == os.getpid()
    assert running["hostname"]
    assert datetime.fromisoformat(running["at"]).tzinfo is not None
    assert finished["state"] == "success"
    assert finished["error"] is None
    assert finished["xcoms"] == [["extra", {"k": 1}], ["return_value", {"rows": 3}]]
    assert finished["skip"] == []
    log_file = (
        every_db.settings.logging.base_log_folder
        / "dag_id=rt"
        / f"run_id={RUN_ID}"
        / "task_id=produce"
        / "attempt=1.log"
    )
    text = log_file.read_text()
    assert "producing rows" in text
    assert "Outcome: SUCCESS" in text


def test_xcom_pull_reads_upstream_values_and_the_run_conf(every_db: Setup) -> None:
    with engine_module.session_factory(every_db.engine).begin() as session:
        xcom_store.set_xcoms(
            session, every_db.dag_run_id, "produce", -1, [("return_value", {"rows": 4})]
        )
    finished = every_db.finished("consume")
    assert finished["state"] == "success", finished["error"]
    assert finished["xcoms"] == [["return_value", 40]]


def test_secrets_never_reach_the_log_or_the_error(every_db: Setup) -> None:
    with engine_module.session_factory(every_db.engine).begin() as session:
        variable_store.set_variable(session, "api_token", "tok-abcdef", every_db.cipher)
        connection_store.add_connection(
            session,
            connection_store.Connection("warehouse", "postgres", host="db", password="pw-secret-1"),
            every_db.cipher,
        )
    finished = every_db.finished("leak")
    assert finished["state"] == "failed"
    assert finished["error"] == "ValueError: login refused with ***"
    text = every_db.log("leak")
    assert "variable: ***" in text
    assert "password: ***" in text
    assert "tok-abcdef" not in text
    assert "pw-secret-1" not in text


def test_a_failure_is_retryable_and_logged_with_its_traceback(sqlite: Setup) -> None:
    finished = sqlite.finished("flaky", try_number=2)
    assert (finished["state"], finished["retryable"]) == ("failed", True)
    assert finished["error"] == "ValueError: flaky failure"
    text = sqlite.log("flaky", try_number=2)
    assert "Traceback" in text
    assert 'raise ValueError("flaky failure")' in text


def test_fail_and_skip_signals(sqlite: Setup) -> None:
    fatal = sqlite.finished("fatal")
    assert (fatal["state"], fatal["retryable"], fatal["error"]) == (
        "failed",
        False,
        "fatal: bad config",
    )
    assert sqlite.finished("skip")["state"] == "skipped"


def test_branch_and_short_circuit_skip_downstream_tasks(sqlite: Setup) -> None:
    branch = sqlite.finished("branch")
    assert (branch["state"], branch["skip"], branch["xcoms"]) == (
        "success",
        ["right"],
        [["return_value", "left"]],
    )
    short = sqlite.finished("short")
    assert (short["state"], short["skip"]) == ("success", ["after", "later"])


def test_sensor_in_poke_mode_succeeds(sqlite: Setup) -> None:
    assert sqlite.finished("poke_ok")["state"] == "success"


def _add_reschedules(setup: Setup, started: datetime, count: int) -> None:
    with engine_module.session_factory(setup.engine).begin() as session:
        for index in range(count):
            session.add(
                models.TaskReschedule(
                    dag_id="rt",
                    run_id=RUN_ID,
                    task_id="wait",
                    map_index=-1,
                    try_number=1,
                    start_date=started + timedelta(seconds=index),
                    end_date=started + timedelta(seconds=index),
                    reschedule_date=started + timedelta(seconds=index + 30),
                )
            )


def test_sensor_in_reschedule_mode_backs_off_by_its_reschedule_count(sqlite: Setup) -> None:
    first = sqlite.finished("wait")
    assert first["state"] == "up_for_reschedule"
    delay = datetime.fromisoformat(first["reschedule_date"]) - datetime.fromisoformat(first["at"])
    assert timedelta(seconds=25) < delay <= timedelta(seconds=30)
    _add_reschedules(sqlite, datetime.now(UTC), 2)
    third = sqlite.finished("wait")
    delay = datetime.fromisoformat(third["reschedule_date"]) - datetime.fromisoformat(third["at"])
    assert timedelta(seconds=115) < delay <= timedelta(seconds=120)  # 30 s doubled twice


def test_sensor_in_reschedule_mode_times_out_from_its_first_poke(sqlite: Setup) -> None:
    _add_reschedules(sqlite, datetime.now(UTC) - timedelta(days=8), 1)
    finished = sqlite.finished("wait")
    assert (finished["state"], finished["retryable"]) == ("failed", False)
    assert "timed out" in finished["error"]


def test_templated_bash_operator(sqlite: Setup) -> None:
    with engine_module.session_factory(sqlite.engine).begin() as session:
        xcom_store.set_xcoms(
            session, sqlite.dag_run_id, "produce", -1, [("return_value", {"rows": 4})]
        )
    finished = sqlite.finished("bash")
    assert finished["xcoms"] == [["return_value", f"2024-05-01 world 4 {RUN_ID}"]]
    assert f"2024-05-01 world 4 {RUN_ID}" in sqlite.log("bash")


def test_execution_timeout_fails_the_try_before_the_executor_kills_it(sqlite: Setup) -> None:
    finished = sqlite.finished("slow")
    assert (finished["state"], finished["retryable"]) == ("failed", True)
    assert finished["error"] == "execution_timeout of 0.5 s exceeded"
    assert "execution_timeout of 0.5 s exceeded" in sqlite.log("slow")
    # The scheduler's value wins over the task's own.
    finished = sqlite.finished("slow", try_number=2, execution_timeout=0.25)
    assert finished["error"] == "execution_timeout of 0.25 s exceeded"


def test_a_missing_task_or_run_fails_without_retry(sqlite: Setup) -> None:
    finished = sqlite.finished("no_such_task")
    assert (finished["state"], finished["retryable"]) == ("failed", False)
    assert finished["error"] == "DAG 'rt' has no task 'no_such_task'"
    channel = MemoryChannel()
    key = TaskKey("rt", "no_such_run", "produce")
    runner.run_workload(Workload(key, str(sqlite.dag_file)), channel, sqlite.settings)
    assert channel.messages[-1]["error"] == "DAG 'rt' has no run 'no_such_run' in the metastore"
    assert channel.messages[-1]["retryable"] is False
    channel = MemoryChannel()
    key = TaskKey("rt", RUN_ID, "produce")
    runner.run_workload(Workload(key, "/nowhere/dag.py"), channel, sqlite.settings)
    assert channel.messages[-1]["error"] == "DAG file /nowhere/dag.py does not exist"


def test_the_process_is_left_as_it_was(sqlite: Setup) -> None:
    stdout, stderr = sys.stdout, sys.stderr
    handlers = signal.getsignal(signal.SIGALRM), signal.getsignal(signal.SIGTERM)
    sqlite.run("slow")
    assert (sys.stdout, sys.stderr) == (stdout, stderr)
    assert (signal.getsignal(signal.SIGALRM), signal.getsignal(signal.SIGTERM)) == handlers
