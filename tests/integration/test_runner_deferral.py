"""Deferral through the task runner: a try that defers reports its trigger, a resumed try
goes on in its method (told by the workload, or read from its row by ``tasks run``), and
``tasks test`` runs the trigger in-process until the task is done."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from tradewind.metastore import crypto, models
from tradewind.metastore import engine as engine_module
from tradewind.runtime import runner, tasktest
from tradewind.settings import Settings
from tradewind.triggers import serde
from tradewind.workloads import TaskKey, Workload

DAG_SOURCE = """
from datetime import datetime, timedelta

from tradewind import DAG
from tradewind.authoring.baseoperator import BaseOperator
from tradewind.sensors import FileSensor
from tradewind.triggers.base import BaseTrigger, TriggerEvent
from tradewind.triggers.temporal import TimeDeltaTrigger


class Pause(BaseOperator):
    def execute(self, context):
        context["ti"].xcom_push("started", True)
        self.defer(
            trigger=TimeDeltaTrigger(timedelta(milliseconds=20)),
            method_name="carry_on",
            kwargs={"step": 1},
            timeout=timedelta(hours=1),
        )

    def carry_on(self, context, step, event):
        return {"step": step, "fired_at": event.isoformat()}


class LocalTrigger(BaseTrigger):
    def serialize(self):
        return (f"{__name__}.LocalTrigger", {})

    async def run(self):
        yield TriggerEvent(None)


class UsesLocalTrigger(BaseOperator):
    def execute(self, context):
        self.defer(trigger=LocalTrigger(), method_name="execute")


with DAG("df", schedule=None, start_date=datetime(2024, 1, 1)):
    Pause(task_id="pause")
    UsesLocalTrigger(task_id="local")
    FileSensor(task_id="file", filepath="{{ params.folder }}/*.csv", deferrable=True,
               poke_interval=0.01, params={"folder": "/nonexistent"})
"""

LOGICAL = datetime(2024, 5, 1, tzinfo=UTC)
RUN_ID = "manual__2024-05-01T00:00:00+00:00"


class Setup:
    def __init__(self, tmp_path: Path, engine: Engine, settings: Settings) -> None:
        self.dag_file = settings.core.dags_folder / "df_dag.py"
        self.dag_file.parent.mkdir(parents=True, exist_ok=True)
        self.dag_file.write_text(DAG_SOURCE)
        self.engine = engine
        self.settings = settings
        with engine_module.session_factory(engine).begin() as session:
            session.add(models.DagModel(dag_id="df", fileloc=str(self.dag_file), fileloc_hash="h"))
            session.add(
                models.DagRun(
                    dag_id="df",
                    run_id=RUN_ID,
                    logical_date=LOGICAL,
                    data_interval_start=LOGICAL,
                    data_interval_end=LOGICAL,
                    run_type="manual",
                )
            )

    def finished(self, task_id: str, **workload: Any) -> dict[str, Any]:
        messages: list[dict[str, Any]] = []

        class Channel:
            def send(self, message: Mapping[str, Any]) -> None:
                messages.append(json.loads(json.dumps(message)))

        key = TaskKey("df", RUN_ID, task_id, -1, 1)
        runner.run_workload(
            Workload(key=key, dag_file=str(self.dag_file), **workload), Channel(), self.settings
        )
        assert [m["type"] for m in messages] == ["running", "finished"], messages
        return messages[1]


@pytest.fixture
def setup(tmp_path: Path, sqlite_engine: Engine, make_settings: Callable[..., Settings]) -> Setup:
    url = sqlite_engine.url.render_as_string(hide_password=False)
    settings = make_settings(tmp_path, db_url=url, core={"fernet_key": crypto.generate_key()})
    return Setup(tmp_path, sqlite_engine, settings)


def _fired(deferral: Mapping[str, Any]) -> dict[str, Any]:
    """next_kwargs as the triggerer writes them when the trigger fires."""
    moment = serde.decode(deferral["kwargs"])["moment"]
    return {**(deferral["method_kwargs"] or {}), "event": serde.encode(moment)}


def test_a_try_that_defers_reports_its_trigger_and_its_xcoms(setup: Setup) -> None:
    when = LOGICAL.isoformat()
    run = {
        "dag_id": "df",
        "run_id": RUN_ID,
        "logical_date": when,
        "data_interval_start": when,
        "data_interval_end": when,
    }
    finished = setup.finished("pause", run=run)
    assert finished["state"] == "deferred"
    deferral = finished["deferral"]
    assert deferral["classpath"] == "tradewind.triggers.temporal.DateTimeTrigger"
    assert deferral["method"] == "carry_on"
    assert deferral["method_kwargs"] == {"step": 1}
    assert deferral["timeout"] == 3600.0
    assert finished["xcoms"] == [["started", True]]


def test_a_resumed_try_goes_on_in_its_method_with_the_event(setup: Setup) -> None:
    deferral = setup.finished("pause")["deferral"]
    finished = setup.finished("pause", next_method="carry_on", next_kwargs=_fired(deferral))
    assert finished["state"] == "success", finished
    fired_at = serde.decode(deferral["kwargs"])["moment"].isoformat()
    assert ["return_value", {"step": 1, "fired_at": fired_at}] in finished["xcoms"]


def test_tasks_run_reads_where_to_resume_from_the_task_instance(setup: Setup) -> None:
    deferral = setup.finished("pause")["deferral"]
    with engine_module.session_factory(setup.engine).begin() as session:
        session.add(
            models.TaskInstance(
                dag_id="df",
                run_id=RUN_ID,
                task_id="pause",
                try_number=1,
                state="queued",
                next_method="carry_on",
                next_kwargs=_fired(deferral),
            )
        )
    finished = setup.finished("pause")  # no run, no next_method: as `tasks run` builds it
    assert finished["state"] == "success", finished
    failing = setup.finished(
        "pause", next_method="__fail__", next_kwargs={"error": "trigger timeout", "timeout": True}
    )
    assert (failing["state"], failing["error"]) == ("failed", "trigger timeout")


def test_a_trigger_defined_in_the_dag_file_fails_the_try_saying_where_to_put_it(
    setup: Setup,
) -> None:
    finished = setup.finished("local")
    assert finished["state"] == "failed"
    assert "defined in a DAG file" in finished["error"]


def test_tasks_test_runs_the_trigger_here_and_resumes(setup: Setup, tmp_path: Path) -> None:
    def run(task_id: str, conf: Mapping[str, Any] | None = None) -> tasktest.TaskTestResult:
        return tasktest.run_test(
            setup.settings,
            "df",
            task_id,
            logical_date=LOGICAL,
            conf=conf or {},
            dag_file=str(setup.dag_file),
            note=lambda _: None,
        )

    result = run("pause")
    assert result.state == "success", result.error
    assert json.loads(result.return_value or "null")["step"] == 1
    (tmp_path / "in").mkdir()
    # The file appears while the sensor's trigger waits for it.
    arrival = threading.Timer(0.05, (tmp_path / "in" / "a.csv").write_text, args=("x",))
    arrival.start()
    try:
        assert run("file", {"folder": str(tmp_path / "in")}).state == "success"
    finally:
        arrival.join()
