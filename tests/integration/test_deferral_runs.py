"""Deferrable tasks through the real scheduler, local executor, task runner and a real
triggerer process, on SQLite and PostgreSQL: a deferrable sensor that succeeds when its file
appears and one that times out, a custom operator resumed with its trigger's event in the same
try, a trigger that raises failing its task, clearing and marking a deferred task, and a pool
that counts deferred tries."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from scheduling import (  # noqa: F401
    FINISHED_RUN,
    System,
    make_system_fixture,
    poll,
    running_system,
    scheduler_process,
    system_fixture,
    system_sections,
)
from triggering import triggerer_process
from webtest import Web, make_web_fixture  # noqa: F401

from tradewind.api.deps import SESSION_COOKIE
from tradewind.metastore.store import pools as pool_store
from tradewind.parsing.processor import DagProcessor
from tradewind.scheduler import marking
from tradewind.scheduler.operations import clear_tasks
from tradewind.settings import Settings
from tradewind.states import TaskState
from tradewind.tasklogs import log_path

pytestmark = pytest.mark.parametrize(
    "db_dialect", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
DEFERRED, SCHEDULED = TaskState.DEFERRED, TaskState.SCHEDULED

# Triggers of the DAGs below: a module beside the DAG files, as users keep theirs.
MY_TRIGGERS = """
import asyncio
from tradewind.triggers.base import BaseTrigger, TriggerEvent


class Countdown(BaseTrigger):
    def __init__(self, seconds, label):
        super().__init__()
        self.seconds, self.label = seconds, label

    def serialize(self):
        return ("my_triggers.Countdown", {"seconds": self.seconds, "label": self.label})

    async def run(self):
        self.log.info("counting down %s s for %s", self.seconds, self.label)
        await asyncio.sleep(self.seconds)
        yield TriggerEvent({"label": self.label, "done": True})


class Broken(BaseTrigger):
    def serialize(self):
        return ("my_triggers.Broken", {})

    async def run(self):
        raise RuntimeError("the remote service said no")
        yield TriggerEvent(None)
"""


@pytest.fixture(name="deferring")
def deferring_fixture(system: System, tmp_path: Path) -> Iterator[System]:
    """The system with a triggerer process beside its scheduler."""
    (system.dags / "my_triggers.py").write_text(MY_TRIGGERS)
    with triggerer_process(system.settings, tmp_path / "triggerer.log"):
        yield system


def _until(system: System, check: Callable[[], bool], timeout: float = 60) -> None:
    assert system.run_until(check, timeout)


def test_a_deferrable_sensor_waits_without_a_process_and_succeeds(
    deferring: System, tmp_path: Path
) -> None:
    wanted = tmp_path / "arrived.csv"
    deferring.add_dag(
        "waits_for_file",
        f"""
        from tradewind.sensors import FileSensor

        with DAG("waits_for_file", schedule=None):
            FileSensor(task_id="wait", filepath={str(wanted)!r}, deferrable=True,
                       poke_interval=0.1, timeout=120)
        """,
    )
    run_id = deferring.trigger("waits_for_file")
    _until(deferring, lambda: deferring.state("waits_for_file", run_id, "wait") is DEFERRED)
    waiting = deferring.instance("waits_for_file", run_id, "wait")
    assert waiting.trigger_id is not None
    wanted.write_text("a,b\n")
    assert deferring.wait("waits_for_file", run_id) == "success"
    done = deferring.instance("waits_for_file", run_id, "wait")
    # Resumed in the same try, and the trigger's lines are in that try's log.
    assert done.try_number == 1
    assert done.trigger_id is None
    log = log_path(deferring.settings.logging.base_log_folder, done.key).read_text()
    assert "FileTrigger" in log


def test_a_custom_operator_resumes_with_its_event(deferring: System) -> None:
    deferring.add_dag(
        "countdown",
        """
        from my_triggers import Countdown
        from tradewind.models import BaseOperator


        class Launch(BaseOperator):
            def execute(self, context):
                self.defer(trigger=Countdown(0.2, "rocket"), method_name="landed",
                           kwargs={"crew": 3})

            def landed(self, context, event, crew):
                return [event["label"], event["done"], crew]


        with DAG("countdown", schedule=None):
            Launch(task_id="launch")
        """,
    )
    run_id = deferring.trigger("countdown")
    assert deferring.wait("countdown", run_id) == "success"
    assert deferring.xcom("countdown", run_id, "launch") == ["rocket", True, 3]
    assert deferring.instance("countdown", run_id, "launch").try_number == 1


def test_a_raising_trigger_and_a_timeout_fail_their_tasks(
    deferring: System, tmp_path: Path
) -> None:
    deferring.add_dag(
        "failing",
        f"""
        from datetime import timedelta
        from my_triggers import Broken
        from tradewind.models import BaseOperator
        from tradewind.sensors import FileSensor


        class Ask(BaseOperator):
            def execute(self, context):
                self.defer(trigger=Broken(), method_name="answered")

            def answered(self, context, event):
                return event


        with DAG("failing", schedule=None):
            Ask(task_id="ask", retries=0)
            FileSensor(task_id="never", filepath={str(tmp_path / "never")!r}, deferrable=True,
                       timeout=1, retries=0)
        """,
    )
    run_id = deferring.trigger("failing")
    assert deferring.wait("failing", run_id) == "failed"
    ask = deferring.instance("failing", run_id, "ask")
    assert ask.state == TaskState.FAILED
    assert "the remote service said no" in (ask.failure_reason or "")
    never = deferring.instance("failing", run_id, "never")
    assert never.state == TaskState.FAILED
    assert (
        "timed out" in (never.failure_reason or "").lower()
        or "timeout" in (never.failure_reason or "").lower()
    )


def test_clearing_and_marking_a_deferred_task(deferring: System, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    deferring.add_dag(
        "held",
        f"""
        from tradewind.sensors import FileSensor

        with DAG("held", schedule=None):
            FileSensor(task_id="hold", filepath={str(gate)!r}, deferrable=True,
                       poke_interval=0.1, timeout=300)
            FileSensor(task_id="hold_too", filepath={str(gate)!r}, deferrable=True,
                       poke_interval=0.1, timeout=300)
        """,
    )
    run_id = deferring.trigger("held")

    def both_deferred() -> bool:
        states = deferring.states("held", run_id)
        return states.get("hold") is DEFERRED and states.get("hold_too") is DEFERRED

    _until(deferring, both_deferred)
    with deferring.sessions.begin() as session:
        marking.mark_tasks(
            session, "held", run_id, ["hold_too"], TaskState.SUCCESS, now=datetime.now(UTC)
        )
        clear_tasks(session, "held", run_id, ["hold"], now=datetime.now(UTC))
    # The cleared one runs again (a new try) and defers again; the marked one is done.
    _until(
        deferring,
        lambda: (
            deferring.instance("held", run_id, "hold").try_number == 2
            and deferring.state("held", run_id, "hold") is DEFERRED
        ),
    )
    assert deferring.state("held", run_id, "hold_too") is TaskState.SUCCESS
    gate.touch()
    assert deferring.wait("held", run_id) == "success"


def test_a_pool_that_includes_deferred_tries_holds_the_next_one(
    deferring: System, tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    with deferring.sessions.begin() as session:
        pool_store.set_pool(session, "single", 1, "one", include_deferred=True)
    deferring.add_dag(
        "pooled_waits",
        f"""
        from tradewind.sensors import FileSensor

        with DAG("pooled_waits", schedule=None):
            for n in range(2):
                FileSensor(task_id=f"wait_{{n}}", filepath={str(gate)!r}, deferrable=True,
                           pool="single", poke_interval=0.1, timeout=300)
        """,
    )
    run_id = deferring.trigger("pooled_waits")
    _until(deferring, lambda: DEFERRED in deferring.states("pooled_waits", run_id).values())
    deferring.settle(1.0)
    states = sorted(str(s) for s in deferring.states("pooled_waits", run_id).values())
    assert states == ["deferred", "scheduled"]
    gate.touch()
    assert deferring.wait("pooled_waits", run_id) == "success"


def test_a_scheduler_killed_while_a_task_is_deferred_loses_nothing(
    migrated_db_url: str, tmp_path: Path, make_settings: Callable[..., Settings]
) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    gate = tmp_path / "gate"
    settings = make_settings(
        tmp_path, migrated_db_url, **system_sections(core={"dags_folder": str(dags)})
    )
    log = tmp_path / "processes.log"
    with running_system(settings, dags, start=False) as system:
        system.add_dag(
            "survives",
            f"""
            from tradewind.sensors import FileSensor

            with DAG("survives", schedule=None):
                FileSensor(task_id="wait", filepath={str(gate)!r}, deferrable=True,
                           poke_interval=0.1, timeout=300) >> EmptyOperator(task_id="after")
            """,
        )
        run_id = system.trigger("survives")
        with triggerer_process(settings, log), scheduler_process(settings, log) as first:
            assert poll(lambda: system.state("survives", run_id, "wait") is DEFERRED, 60)
            os.kill(first.pid, signal.SIGKILL)
            first.wait()
            gate.touch()
            # Fired while no scheduler runs: the instance waits, scheduled, for the next one.
            assert poll(lambda: system.state("survives", run_id, "wait") is SCHEDULED, 60)
            with scheduler_process(settings, log):
                assert poll(lambda: system.run_state("survives", run_id) in FINISHED_RUN, 60)
        assert system.run_state("survives", run_id) == "success"
        assert system.instance("survives", run_id, "wait").try_number == 1


def test_the_api_and_the_ui_show_what_a_deferred_task_waits_on(
    make_web: Callable[..., Web], tmp_path: Path
) -> None:
    web = make_web()
    gate = tmp_path / "gate"
    web.system.add_dag(
        "shown",
        f"""
        from tradewind.sensors import FileSensor

        with DAG("shown", schedule=None):
            FileSensor(task_id="wait", filepath={str(gate)!r}, deferrable=True,
                       poke_interval=0.1, timeout=300)
        """,
    )
    run_id = web.system.trigger("shown")
    _until(web.system, lambda: web.system.state("shown", run_id, "wait") is DEFERRED)
    api = web.get(f"/api/v1/dags/shown/dagRuns/{run_id}/taskInstances/wait").json()
    assert api["state"] == "deferred"
    assert api["trigger_id"] is not None
    assert api["next_method"] == "execute_complete"
    assert api["trigger_timeout"] is not None
    trigger = api["trigger"]
    assert trigger["classpath"] == "tradewind.triggers.file.FileTrigger"
    assert trigger["id"] == api["trigger_id"]
    assert trigger["created_date"]
    web.client.cookies.set(SESSION_COOKIE, web.session_cookie("viewer", "csrf"))
    page = web.client.get(f"/dags/shown/runs/{run_id}/tasks/wait").text
    assert "waiting on tradewind.triggers.file.FileTrigger" in page
    gate.touch()


def test_a_task_that_starts_from_its_trigger_runs_no_first_process(
    deferring: System, tmp_path: Path
) -> None:
    marker = tmp_path / "execute_ran"
    deferring.add_dag(
        "from_trigger",
        f"""
        from datetime import timedelta
        from tradewind.models import BaseOperator
        from tradewind.triggers.base import StartTriggerArgs


        class Later(BaseOperator):
            start_trigger_args = StartTriggerArgs(
                trigger_cls="tradewind.triggers.temporal.TimeDeltaTrigger",
                trigger_kwargs={{"delta": timedelta(seconds=1)}},
                next_method="execute_complete",
            )
            start_from_trigger = True

            def execute(self, context):
                Path({str(marker)!r}).write_text("ran")

            def execute_complete(self, context, event):
                return "resumed"


        with DAG("from_trigger", schedule=None):
            Later(task_id="later")
        """,
    )
    run_id = deferring.trigger("from_trigger")
    _until(deferring, lambda: deferring.state("from_trigger", run_id, "later") is DEFERRED)
    # Deferred straight from scheduled: never queued, no process.
    waiting = deferring.instance("from_trigger", run_id, "later")
    assert (waiting.queued_dttm, waiting.pid) == (None, None)
    assert deferring.wait("from_trigger", run_id) == "success"
    assert deferring.xcom("from_trigger", run_id, "later") == "resumed"
    assert not marker.exists()
    assert deferring.instance("from_trigger", run_id, "later").try_number == 1


def test_an_airflow_dag_file_that_defers_runs_unchanged(deferring: System, tmp_path: Path) -> None:
    landed = tmp_path / "landed.csv"
    (deferring.dags / "airflow_deferring.py").write_text(
        f"""
from datetime import datetime, timedelta

from airflow import DAG
from airflow.exceptions import TaskDeferred
from airflow.models import BaseOperator
from airflow.sensors.filesystem import FileSensor
from airflow.triggers.temporal import TimeDeltaTrigger


class WaitThenSay(BaseOperator):
    def execute(self, context):
        self.defer(trigger=TimeDeltaTrigger(timedelta(seconds=0.2)), method_name="say")

    def say(self, context, event=None):
        return "waited"


with DAG("airflow_deferring", start_date=datetime(2024, 1, 1), schedule=None):
    WaitThenSay(task_id="wait_then_say") >> FileSensor(
        task_id="landed", filepath={str(landed)!r}, deferrable=True, poke_interval=0.1
    )
assert TaskDeferred
"""
    )
    DagProcessor(deferring.settings, deferring.sessions).scan()
    run_id = deferring.trigger("airflow_deferring")
    _until(deferring, lambda: deferring.state("airflow_deferring", run_id, "landed") is DEFERRED)
    landed.write_text("x\n")
    assert deferring.wait("airflow_deferring", run_id) == "success"
    assert deferring.xcom("airflow_deferring", run_id, "wait_then_say") == "waited"
