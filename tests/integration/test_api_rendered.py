"""GET .../taskInstances/{task_id}/renderedFields: what a task instance's latest try rendered."""

from __future__ import annotations

from datetime import UTC, datetime

from scheduling import make_system_fixture, sqlite_only  # noqa: F401
from webtest import Web, make_web_fixture, web_fixture  # noqa: F401

from tradewind.metastore import crypto
from tradewind.metastore.store import variables as variable_store

LOGICAL = datetime(2024, 3, 5, tzinfo=UTC)

DAG_BODY = """
with DAG("templated", schedule=None, params={"x": 3}):
    first = BashOperator(
        task_id="first",
        bash_command="echo {{ ds }} {{ params.x }} {{ var.value.db_password }}; exit 1",
    )
    first >> BashOperator(task_id="second", bash_command="echo {{ ds }}")
"""


def _path(run_id: str, task_id: str, dag_id: str = "templated") -> str:
    return f"/api/v1/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/renderedFields"


def _finished_run(web: Web) -> str:
    system = web.system
    with system.sessions.begin() as session:
        cipher = crypto.Cipher(system.settings.core.fernet_key)
        variable_store.set_variable(session, "db_password", "maria-pw-42", cipher)
    system.add_dag("templated", DAG_BODY)
    run_id = system.trigger("templated", logical_date=LOGICAL)
    assert system.wait("templated", run_id) == "failed"
    return run_id


def test_rendered_fields_of_a_try_and_of_a_task_that_never_ran(web: Web) -> None:
    run_id = _finished_run(web)
    got = web.get(_path(run_id, "first"), user="viewer")
    assert got.status_code == 200, got.text
    assert got.json() == {
        "dag_id": "templated",
        "dag_run_id": run_id,
        "task_id": "first",
        "map_index": -1,
        "try_number": 1,
        "rendered_fields": {
            # A failed try's rendered values are kept (they help to see why it failed).
            "bash_command": "echo 2024-03-05 3 ***; exit 1",
            "env": None,
            "cwd": None,
        },
    }
    assert "maria-pw-42" not in got.text
    # Upstream failed: the task instance exists but never rendered anything.
    never = web.get(_path(run_id, "second"), user="viewer")
    assert never.status_code == 200, never.text
    assert never.json()["rendered_fields"] == {}
    assert never.json()["try_number"] == 0


@sqlite_only
def test_unknown_task_instances_are_404_and_callers_must_log_in(web: Web) -> None:
    run_id = _finished_run(web)
    for path in (
        _path(run_id, "nope"),
        _path("no-such-run", "first"),
        _path(run_id, "first", dag_id="no-such-dag"),
    ):
        missing = web.get(path, user="viewer")
        assert missing.status_code == 404, path
        assert missing.json()["status"] == 404
    assert web.get(_path(run_id, "first%00")).status_code == 400
    assert web.get(_path(run_id, "x" * 251)).status_code == 400
    assert web.client.get(_path(run_id, "first")).status_code == 401
