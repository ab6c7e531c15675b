"""Rendered template fields: JSON copies, masking, size caps, the FINISHED message, the store."""

from __future__ import annotations

import enum
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tradewind import DAG
from tradewind.executors.base import event_from_message
from tradewind.metastore import engine as engine_module
from tradewind.metastore.models import DagModel, DagRun, RenderedTaskInstanceFields, TaskInstance
from tradewind.metastore.store import rendered as rendered_store
from tradewind.operators import BashOperator, PythonOperator
from tradewind.operators.empty import EmptyOperator
from tradewind.runtime import context as context_module
from tradewind.runtime import execute, rendered
from tradewind.runtime.masking import SecretsMasker
from tradewind.testing import EmptySource
from tradewind.workloads import TaskKey

LOGICAL = datetime(2024, 1, 1, tzinfo=UTC)


class Colour(enum.Enum):
    RED = "red"


class Thing:
    def __str__(self) -> str:
        return "a thing"


class Broken:
    def __str__(self) -> str:
        raise RuntimeError("no")


def test_values_become_json() -> None:
    value = {
        "tuple": (1, 2.5, None, True),
        "set": {"b", "a"},
        "when": datetime(2024, 1, 2, 3, 4, tzinfo=UTC),
        "day": date(2024, 1, 2),
        "colour": Colour.RED,
        "nan": float("nan"),
        "object": Thing(),
        "broken": Broken(),
        "delta": timedelta(hours=1),
        7: "int key",
    }
    got = rendered.jsonable(value)
    assert got == {
        "tuple": [1, 2.5, None, True],
        "set": ["a", "b"],
        "when": "2024-01-02T03:04:00+00:00",
        "day": "2024-01-02",
        "colour": "red",
        "nan": "nan",
        "object": "a thing",
        "broken": "<Broken: cannot be shown: RuntimeError>",
        "delta": "1:00:00",
        "7": "int key",
    }
    json.dumps(got)


def test_a_structure_containing_itself_is_cut_off_as_text() -> None:
    loop: list[Any] = [1]
    loop.append(loop)
    json.dumps(rendered.jsonable(loop))


def test_values_under_secret_looking_keys_are_hidden() -> None:
    got = rendered.jsonable({"db_password": "hunter2", "api_key": None, "user": "ann"})
    assert got == {"db_password": "***", "api_key": None, "user": "ann"}


def test_known_secrets_are_masked_everywhere_in_the_report() -> None:
    masker = SecretsMasker()
    masker.add("s3cr3t")
    masker.add(987654)
    fields = {
        "bash_command": "curl -u ann:s3cr3t https://example.com",
        "op_kwargs": {"nested": ["x", "s3cr3t"], "s3cr3t": 1, "pin": 987654},
        "env": None,
    }
    assert rendered.for_report(fields, masker) == {
        "bash_command": "curl -u ann:*** https://example.com",
        "op_kwargs": {"nested": ["x", "***"], "***": 1, "pin": "***"},
        "env": None,
    }


def test_long_values_are_cut_with_a_note_after_masking() -> None:
    masker = SecretsMasker()
    masker.add("s3cr3t")
    fields = {"short": "ok", "long": "s3cr3t" + "x" * 200, "list": ["y" * 50] * 10}
    got = rendered.for_report(fields, masker, limit=100)
    assert got["short"] == "ok"
    assert got["long"].startswith("***" + "x" * 97 + "... (truncated: ")
    assert "203 characters, only the first 100 are kept" in got["long"]
    assert "s3cr3t" not in got["long"]
    assert got["list"].startswith('["' + "y" * 50)
    assert "truncated" in got["list"]


def _run(task_dag: DAG, task_id: str) -> execute.Outcome:
    task = task_dag.get_task(task_id)
    run = context_module.DagRunView("d", "r", LOGICAL, LOGICAL, LOGICAL, conf={"who": "ann"})
    key = TaskKey("d", "r", task_id)

    ti = context_module.TaskInstanceView(key, task, EmptySource(), hostname="h", pid=1)
    context = context_module.build_context(task_dag, task, run, ti, EmptySource())
    return execute.execute_task(task, context, ti, None)


def test_a_try_reports_what_it_rendered_before_execute_changed_it() -> None:
    def mutate(items: list[str]) -> None:
        items.append("changed by execute")

    with DAG("d", params={"x": 5}) as dag:
        BashOperator(task_id="bash", bash_command="echo {{ ds }} {{ params.x }}")
        PythonOperator(
            task_id="py",
            python_callable=mutate,
            op_kwargs={"items": ["{{ dag_run.conf['who'] }}"]},
        )
        EmptyOperator(task_id="empty")
        PythonOperator(task_id="bad", python_callable=print, op_args=["{{ nope }}"])
    bash = _run(dag, "bash")
    assert bash.rendered_fields is not None
    assert bash.rendered_fields["bash_command"] == "echo 2024-01-01 5"
    py = _run(dag, "py")
    assert py.rendered_fields == {
        "templates_dict": None,
        "op_args": [],
        "op_kwargs": {"items": ["ann"]},
    }
    message = py.message(SecretsMasker())
    assert message["rendered_fields"] == py.rendered_fields
    event = event_from_message(TaskKey("d", "r", "py"), json.loads(json.dumps(message)))
    assert event.report.rendered_fields == py.rendered_fields
    # No template fields, or templates that failed to render: nothing is reported.
    for task_id in ("empty", "bad"):
        outcome = _run(dag, task_id)
        assert outcome.rendered_fields is None
        assert "rendered_fields" not in outcome.message(SecretsMasker())


def _instance(engine: Engine, task_id: str) -> None:
    with engine_module.session_factory(engine).begin() as session:
        if session.get(DagModel, "d") is None:
            session.add(DagModel(dag_id="d", fileloc="/d.py", fileloc_hash="0" * 64))
            session.add(DagRun(dag_id="d", run_id="r", logical_date=LOGICAL, run_type="manual"))
            session.flush()
        session.add(TaskInstance(dag_id="d", run_id="r", task_id=task_id))


def test_the_store_keeps_one_row_per_task_instance_overwritten_by_later_tries(
    sqlite_engine: Engine,
) -> None:
    _instance(sqlite_engine, "a")
    _instance(sqlite_engine, "b")
    sessions = engine_module.session_factory(sqlite_engine)
    with sessions.begin() as session:
        rendered_store.set_rendered(session, [])
        rendered_store.set_rendered(
            session,
            [
                rendered_store.Rendered("d", "r", "a", -1, 1, {"cmd": "one"}),
                rendered_store.Rendered("d", "r", "b", -1, 1, {"cmd": "bee"}),
            ],
        )
    with sessions.begin() as session:
        rendered_store.set_rendered(
            session, [rendered_store.Rendered("d", "r", "a", -1, 2, {"cmd": "two", "n": [1]})]
        )
    with sessions() as session:
        a = rendered_store.get_rendered(session, "d", "r", "a")
        b = rendered_store.get_rendered(session, "d", "r", "b")
        assert rendered_store.get_rendered(session, "d", "r", "c") is None
        count = session.scalar(sa.select(sa.func.count()).select_from(RenderedTaskInstanceFields))
    assert a is not None
    assert (a.try_number, dict(a.fields)) == (2, {"cmd": "two", "n": [1]})
    assert b is not None
    assert (b.try_number, dict(b.fields)) == (1, {"cmd": "bee"})
    assert count == 2


def test_a_batch_is_one_statement_and_the_last_entry_of_an_instance_wins(
    sqlite_engine: Engine,
) -> None:
    for task_id in ("a", "b", "c"):
        _instance(sqlite_engine, task_id)
    statements: list[str] = []
    sa.event.listen(
        sqlite_engine, "before_cursor_execute", lambda *args: statements.append(args[2])
    )
    with engine_module.session_factory(sqlite_engine).begin() as session:
        rendered_store.set_rendered(
            session,
            [
                *(
                    rendered_store.Rendered("d", "r", task_id, -1, 1, {"cmd": task_id})
                    for task_id in ("a", "b", "c")
                ),
                rendered_store.Rendered("d", "r", "a", -1, 2, {"cmd": "again"}),
            ],
        )
        found = rendered_store.get_rendered(session, "d", "r", "a")
    assert found is not None
    assert (found.try_number, found.fields) == (2, {"cmd": "again"})
    assert sum(s.startswith("INSERT INTO rendered_task_instance_fields") for s in statements) == 1
