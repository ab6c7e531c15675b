"""DAG details, tasks, source, import errors and deleting a DAG through the REST API."""

from __future__ import annotations

import pytest
from scheduling import make_system_fixture, sqlite_only  # noqa: F401
from sqlalchemy import func, select
from webtest import Web, make_web_fixture, web_fixture  # noqa: F401

from tradewind.metastore.models import (
    AuditLog,
    DagCode,
    DagModel,
    DagRun,
    DagTag,
    SerializedDagModel,
    TaskInstance,
    TaskInstanceHistory,
    XCom,
)

PAIR = """
with DAG(
    "first",
    schedule=None,
    start_date=datetime(2024, 1, 1, tzinfo=timezone.utc),
    tags=["a", "b"],
    doc_md="Loads **things**.",
    params={"n": 3},
):
    with TaskGroup("grp"):
        one = PythonOperator(task_id="one", python_callable=lambda: 7, retries=1)
    two = BashOperator(task_id="two", bash_command="echo {{ params.n }}", retries=1)
    one >> two

with DAG("second", schedule=None):
    EmptyOperator(task_id="only")
"""

API = "/api/v1"


@pytest.fixture
def pair(web: Web) -> Web:
    web.system.add_dag("pair", PAIR)
    return web


@sqlite_only
def test_details_tasks_and_source(pair: Web) -> None:
    details = pair.get(f"{API}/dags/first/details")
    assert details.status_code == 200, details.text
    body = details.json()
    assert body["dag_id"] == "first"
    assert body["tags"] == ["a", "b"]
    assert body["doc_md"] == "Loads **things**."
    assert body["params"]["n"]["default"] == 3
    assert body["start_date"].startswith("2024-01-01T00:00:00")
    assert body["task_defaults"]["retries"] == 1
    assert body["version"] == 1
    assert body["asset_expression"] is None
    pair.system.add_dag(
        "on_data",
        """
        from tradewind import Asset

        with DAG("on_data", schedule=Asset("s3://a") | Asset("s3://b")):
            EmptyOperator(task_id="read")
        """,
    )
    on_data = pair.get(f"{API}/dags/on_data/details").json()
    assert on_data["schedule"] == "Asset"
    expression = on_data["asset_expression"]
    assert [part["asset"]["uri"] for part in expression["any"]] == ["s3://a", "s3://b"]
    assert on_data["dataset_expression"] == expression

    tasks = pair.get(f"{API}/dags/first/tasks", user="viewer").json()
    assert tasks["total_entries"] == 2
    assert [t["task_id"] for t in tasks["tasks"]] == ["grp.one", "two"]
    one, two = tasks["tasks"]
    assert one["downstream_task_ids"] == ["two"]
    assert two["upstream_task_ids"] == ["grp.one"]
    assert one["task_group"] == "grp"
    assert two["operator"] == "BashOperator"
    assert "bash_command" in two["template_fields"]
    assert two["trigger_rule"] == "all_success"

    source = pair.get(f"{API}/dags/second/source", user="viewer").json()
    assert source["dag_id"] == "second"
    assert source["fileloc"].endswith("pair.py")
    assert 'with DAG("second"' in source["content"]

    for path in ("details", "tasks", "source"):
        missing = pair.get(f"{API}/dags/ghost/{path}")
        assert missing.status_code == 404
        assert "ghost" in missing.json()["detail"]


@sqlite_only
def test_import_errors_paged_and_one(web: Web) -> None:
    web.system.add_dag("broken_a", "raise RuntimeError('bad a')\n")
    web.system.add_dag("broken_b", "import no_such_module_here\n")
    listed = web.get(f"{API}/importErrors", user="viewer", params={"limit": 1}).json()
    assert listed["total_entries"] == 2
    assert len(listed["import_errors"]) == 1
    first = listed["import_errors"][0]
    assert first["filename"].endswith("broken_a.py")
    assert "bad a" in first["stack_trace"]
    rest = web.get(f"{API}/importErrors", params={"offset": 1}).json()["import_errors"]
    assert [e["filename"].rsplit("/", 1)[-1] for e in rest] == ["broken_b.py"]
    one = web.get(f"{API}/importErrors/{first['import_error_id']}").json()
    assert one == first
    assert web.get(f"{API}/importErrors/999999").status_code == 404
    assert web.get(f"{API}/importErrors/abc").status_code == 400


def _count(web: Web, model: type, dag_id: str) -> int:
    with web.system.sessions() as session:
        column = model.dag_id  # type: ignore[attr-defined]
        return session.scalar(select(func.count()).select_from(model).where(column == dag_id))


def test_delete_dag_removes_its_records(pair: Web) -> None:
    """On every dialect: the rows go children first, the other DAG of the file stays whole."""
    run_id = pair.system.trigger("first")
    assert pair.system.wait("first", run_id) == "success"
    other = pair.system.trigger("second")
    assert pair.system.wait("second", other) == "success"
    assert _count(pair, XCom, "first") == 2  # both tasks return a value
    assert _count(pair, TaskInstanceHistory, "first") == 2

    assert pair.delete(f"{API}/dags/first", user="viewer").status_code == 403
    gone = pair.delete(f"{API}/dags/first", user="user")
    assert gone.status_code == 204, gone.text
    for model in (DagModel, DagRun, TaskInstance, TaskInstanceHistory, XCom, DagTag):
        assert _count(pair, model, "first") == 0, model
    assert _count(pair, SerializedDagModel, "first") == 0
    assert _count(pair, DagRun, "second") == 1
    assert pair.get(f"{API}/dags/first").status_code == 404
    assert pair.get(f"{API}/dags/second/source").status_code == 200
    assert pair.delete(f"{API}/dags/first").status_code == 404
    with pair.system.sessions() as session:
        entry = session.scalars(select(AuditLog).where(AuditLog.event == "delete_dag")).one()
        assert (entry.owner, entry.dag_id) == ("user", "first")

    # The last DAG of the file takes the file's source with it.
    assert pair.delete(f"{API}/dags/second").status_code == 204
    with pair.system.sessions() as session:
        assert session.scalar(select(func.count()).select_from(DagCode)) == 0


@sqlite_only
def test_a_deleted_dag_whose_file_remains_comes_back_at_the_next_scan(pair: Web) -> None:
    from tradewind.parsing.processor import DagProcessor

    processor = DagProcessor(pair.system.settings, pair.system.sessions)
    processor.scan()  # a long-lived processor that knows the file already
    assert pair.delete(f"{API}/dags/second").status_code == 204
    assert pair.get(f"{API}/dags/second").status_code == 404
    assert processor.scan().parsed == 1
    assert pair.get(f"{API}/dags/second").status_code == 200
    assert processor.scan().parsed == 0  # and then it is quiet again
