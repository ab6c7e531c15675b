"""Tries of mapped tasks through the runner and the CLI, reading a real metastore.

The runner tests need the database (stored XComs of mapped instances), so they run on every
dialect; ``tasks test`` / ``tasks run`` run on SQLite.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from sqlalchemy.engine import Engine

from tradewind.metastore import crypto, models
from tradewind.metastore import engine as engine_module
from tradewind.metastore.store import xcom as xcom_store
from tradewind.runtime import runner
from tradewind.settings import Settings, child_environ
from tradewind.workloads import TaskKey, Workload

Cli = Callable[..., Result]
SettingsMaker = Callable[..., Settings]
LOGICAL = datetime(2024, 5, 1, tzinfo=UTC)
RUN_ID = "manual__2024-05-01T00:00:00+00:00"
# The run ``tasks test`` makes up for LOGICAL: its XComs are what it can see.
TEST_RUN_ID = "test__2024-05-01T00:00:00+00:00"

DAG_SOURCE = """
from datetime import datetime

from tradewind import DAG
from tradewind.operators import BashOperator
from tradewind.operators.taskflow import task

with DAG("mapped", schedule=None, start_date=datetime(2024, 1, 1)):

    @task
    def files():
        return ["a.csv", "b.csv", "c.csv"]

    @task(map_index_template="{{ task.op_kwargs['name'] }}")
    def size(name, factor):
        return len(name) * factor

    @task
    def total(sizes):
        return {"count": len(sizes), "sum": sum(sizes), "first": sizes[0]}

    total(size.partial(factor=2).expand(name=files()))
    BashOperator.partial(task_id="echo", map_index_template="say {{ ti.map_index }}").expand(
        bash_command=["echo one", "echo two"]
    )
"""


class MemoryChannel:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    def send(self, message: Mapping[str, Any]) -> None:
        self.messages.append(json.loads(json.dumps(message)))


class Setup:
    def __init__(self, tmp_path: Path, engine: Engine, make_settings: SettingsMaker) -> None:
        url = engine.url.render_as_string(hide_password=False)
        self.settings = make_settings(
            tmp_path,
            db_url=url,
            core={"fernet_key": crypto.generate_key(), "load_examples": False},
        )
        folder = self.settings.core.dags_folder
        folder.mkdir(parents=True, exist_ok=True)
        self.dag_file = folder / "mapped_dag.py"
        self.dag_file.write_text(DAG_SOURCE)
        self.engine = engine
        self.run_ids: dict[str, int] = {}
        with engine_module.session_factory(engine).begin() as session:
            session.add(
                models.DagModel(dag_id="mapped", fileloc=str(self.dag_file), fileloc_hash="h")
            )
            for run_id in (RUN_ID, TEST_RUN_ID):
                run = models.DagRun(
                    dag_id="mapped",
                    run_id=run_id,
                    logical_date=LOGICAL if run_id == RUN_ID else datetime(2000, 1, 1, tzinfo=UTC),
                    run_type="manual",
                    conf={},
                )
                session.add(run)
                session.flush()
                self.run_ids[run_id] = run.id

    def push(self, task_id: str, map_index: int, value: Any, run_id: str = RUN_ID) -> None:
        with engine_module.session_factory(self.engine).begin() as session:
            xcom_store.set_xcoms(
                session, self.run_ids[run_id], task_id, map_index, [("return_value", value)]
            )

    def finished(self, task_id: str, map_index: int = -1) -> dict[str, Any]:
        channel = MemoryChannel()
        key = TaskKey("mapped", RUN_ID, task_id, map_index, 1)
        runner.run_workload(Workload(key=key, dag_file=str(self.dag_file)), channel, self.settings)
        assert [m["type"] for m in channel.messages] == ["running", "finished"]
        return channel.messages[1]


@pytest.fixture
def every_db(tmp_path: Path, engine: Engine, make_settings: SettingsMaker) -> Setup:
    return Setup(tmp_path, engine, make_settings)


@pytest.fixture
def sqlite(tmp_path: Path, sqlite_engine: Engine, make_settings: SettingsMaker) -> Setup:
    return Setup(tmp_path, sqlite_engine, make_settings)


def test_a_mapped_try_gets_its_items_value_and_is_named(every_db: Setup) -> None:
    every_db.push("files", -1, ["a.csv", "bb.csv", "ccc.csv"])
    finished = every_db.finished("size", 1)
    assert finished["state"] == "success", finished["error"]
    assert finished["xcoms"] == [["return_value", 12]]
    assert finished["rendered_map_index"] == "bb.csv"
    assert finished["rendered_fields"]["op_kwargs"] == {"factor": 2, "name": "bb.csv"}


def test_a_reduce_reads_the_pushed_values_in_map_index_order(every_db: Setup) -> None:
    for index, value in [(2, 30), (0, 10), (3, 40)]:  # instance 1 pushed nothing
        every_db.push("size", index, value)
    every_db.push("size", -1, 999)  # an unexpanded row's value is not an instance's
    finished = every_db.finished("total")
    assert finished["state"] == "success", finished["error"]
    assert finished["xcoms"] == [["return_value", {"count": 3, "sum": 80, "first": 10}]]


def test_a_try_whose_input_is_missing_fails_with_a_message(every_db: Setup) -> None:
    finished = every_db.finished("size", 0)
    assert finished["state"] == "failed"
    assert "XComArg('files') has no value to expand over" in finished["error"]


def test_a_value_that_cannot_be_mapped_over_fails_the_pushing_task(sqlite: Setup) -> None:
    sqlite.dag_file.write_text(DAG_SOURCE.replace('["a.csv", "b.csv", "c.csv"]', '"a.csv"'))
    finished = sqlite.finished("files")
    assert finished["state"] == "failed"
    assert "pushed a str: a mapped task expands over a list or a dict" in finished["error"]


def _tasks_run(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "tradewind", "tasks", "run", "mapped", *args]
    return subprocess.run(
        command,
        env=child_environ(settings),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_tasks_run_with_a_map_index(sqlite: Setup) -> None:
    done = _tasks_run(sqlite.settings, "echo", RUN_ID, "--map-index", "1")
    assert done.returncode == 0, done.stderr
    finished = json.loads(done.stdout.splitlines()[-1])
    assert finished["state"] == "success"
    assert finished["xcoms"] == [["return_value", "two"]]
    assert finished["rendered_map_index"] == "say 1"


def test_tasks_test_with_a_map_index(sqlite: Setup, tradewind_cli: Cli) -> None:
    sqlite.push("files", -1, ["x", "yy"], run_id=TEST_RUN_ID)
    result = tradewind_cli(
        sqlite.settings, "tasks", "test", "mapped", "size", "2024-05-01", "--map-index", "1"
    )
    assert result.exit_code == 0, result.output
    assert "Task mapped.size[1] (test__2024-05-01T00:00:00+00:00): success" in result.stdout
    assert "Return value: 4" in result.stdout
    result = tradewind_cli(
        sqlite.settings, "tasks", "test", "mapped", "size", "2024-05-01", "--map-index", "2"
    )
    assert result.exit_code == 1
    assert "map index 2 is out of range: the input has 2 items" in result.output
    result = tradewind_cli(sqlite.settings, "tasks", "test", "mapped", "size", "2024-05-01")
    assert result.exit_code == 1
    assert "task 'size' is mapped: choose one of its instances with --map-index" in result.output
    result = tradewind_cli(sqlite.settings, "tasks", "test", "mapped", "files", "--map-index", "0")
    assert result.exit_code == 1
    assert "task 'files' is not mapped" in result.output
