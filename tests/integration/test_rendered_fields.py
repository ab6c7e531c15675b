"""Rendered template fields through the real scheduler and local executor, on every dialect:
what each try rendered is stored (masked), a later try overwrites it, deletes cascade."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

import sqlalchemy as sa
from scheduling import System, make_system_fixture, sqlite_only, system_fixture  # noqa: F401

from tradewind.metastore import crypto
from tradewind.metastore.models import DagModel, RenderedTaskInstanceFields
from tradewind.metastore.store import connections as connection_store
from tradewind.metastore.store import rendered as rendered_store
from tradewind.metastore.store import variables as variable_store
from tradewind.states import TaskState

LOGICAL = datetime(2024, 3, 5, tzinfo=UTC)

DAG_BODY = """
def flaky(label, ti=None):
    if ti.try_number == 1:
        raise RuntimeError("the first try fails")

with DAG("rendered", schedule=None, params={"x": "ex"}):
    BashOperator(task_id="bash", bash_command="echo {{ ds }} {{ params.x }}")
    PythonOperator(
        task_id="py",
        python_callable=lambda **kwargs: None,
        op_kwargs={
            "who": "{{ dag_run.conf['who'] }}",
            "dsn": "postgresql://ann:{{ conn.db.password }}@db/prod",
            "note": "token={{ var.value.api_password }}",
            "day": "{{ ds_nodash }}",
        },
    )
    PythonOperator(
        task_id="flaky",
        python_callable=flaky,
        op_args=["try {{ ti.try_number }}"],
        retries=1,
        retry_delay=timedelta(seconds=0),
    )
    EmptyOperator(task_id="empty")
"""


def _rendered(system: System, run_id: str, task_id: str) -> rendered_store.Rendered | None:
    with system.sessions() as session:
        return rendered_store.get_rendered(session, "rendered", run_id, task_id)


def test_tries_store_what_they_rendered_with_secrets_masked(system: System) -> None:
    cipher = crypto.Cipher(system.settings.core.fernet_key)
    with system.sessions.begin() as session:
        variable_store.set_variable(session, "api_password", "tok-9f8e7d", cipher)
        connection_store.add_connection(
            session,
            connection_store.Connection("db", "postgres", host="db", password="pg-s3cr3t-pw"),
            cipher,
        )
    system.add_dag("rendered", DAG_BODY)
    run_id = system.trigger("rendered", {"who": "ann"}, logical_date=LOGICAL)
    assert system.wait("rendered", run_id) == "success", system.states("rendered", run_id)
    assert system.state("rendered", run_id, "flaky") is TaskState.SUCCESS

    bash = _rendered(system, run_id, "bash")
    assert bash is not None
    assert bash.try_number == 1
    assert dict(bash.fields) == {"bash_command": "echo 2024-03-05 ex", "env": None, "cwd": None}

    py = _rendered(system, run_id, "py")
    assert py is not None
    assert dict(py.fields) == {
        "templates_dict": None,
        "op_args": [],
        "op_kwargs": {
            "who": "ann",
            "dsn": "postgresql://ann:***@db/prod",
            "note": "token=***",
            "day": "20240305",
        },
    }
    # The second try overwrote what the first one rendered.
    flaky = _rendered(system, run_id, "flaky")
    assert flaky is not None
    assert (flaky.try_number, flaky.fields["op_args"]) == (2, ["try 2"])
    # A task without template fields stores nothing.
    assert _rendered(system, run_id, "empty") is None

    with system.sessions() as session:
        stored = json.dumps(
            list(session.scalars(sa.select(RenderedTaskInstanceFields.rendered_fields)))
        )
    assert "pg-s3cr3t-pw" not in stored
    assert "tok-9f8e7d" not in stored

    # Deleting the DAG deletes its runs, task instances and their rendered fields.
    with system.sessions.begin() as session:
        session.execute(sa.delete(DagModel).where(DagModel.dag_id == "rendered"))
    with system.sessions() as session:
        count = session.scalar(sa.select(sa.func.count()).select_from(RenderedTaskInstanceFields))
    assert count == 0


@sqlite_only
def test_the_sequential_executor_stores_them_too(make_system: Callable[..., System]) -> None:
    system = make_system(core={"executor": "sequential"})
    system.add_dag(
        "seq",
        """
        with DAG("seq", schedule=None, params={"x": "ex"}):
            BashOperator(task_id="bash", bash_command="echo {{ ds }} {{ params.x }}")
        """,
    )
    run_id = system.trigger("seq", logical_date=LOGICAL)
    assert system.wait("seq", run_id) == "success"
    with system.sessions() as session:
        found = rendered_store.get_rendered(session, "seq", run_id, "bash")
    assert found is not None
    assert found.fields["bash_command"] == "echo 2024-03-05 ex"
