"""Task instances: list, get, tries; mark and clear with upstream/downstream/past/future scopes."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scheduling import make_system_fixture, sqlite_only  # noqa: F401
from webtest import Web, make_web_fixture, web_fixture  # noqa: F401

from tradewind.metastore.models import AuditLog
from tradewind.scheduler.trigger import trigger_dag
from tradewind.states import TaskState

SHAPE = """
with DAG("shape", schedule=None):
    a, b, c, d = (EmptyOperator(task_id=t) for t in "abcd")
    a >> b >> c
"""


def tis_url(run_id: str, task_id: str = "", dag_id: str = "shape") -> str:
    url = f"/api/v1/dags/{dag_id}/dagRuns/{run_id}/taskInstances"
    return url + (f"/{task_id}" if task_id else "")


def picked(answer: Any) -> list[tuple[str, str]]:
    assert answer.status_code == 200, answer.text
    return sorted((t["dag_run_id"], t["task_id"]) for t in answer.json()["task_instances"])


def three_finished_runs(web: Web) -> list[str]:
    """r1, r2, r3 of ``shape`` on three days, each finished."""
    web.system.add_dag("shape", SHAPE)
    run_ids = []
    for day in (1, 2, 3):
        with web.system.sessions.begin() as session:
            run = trigger_dag(
                session,
                "shape",
                now=datetime.now(UTC),
                run_id=f"r{day}",
                logical_date=datetime(2024, 1, day, tzinfo=UTC),
            )
            run_ids.append(run.run_id)
    web.system.set_paused("shape", False)
    for run_id in run_ids:
        assert web.system.wait("shape", run_id) == "success"
    return run_ids


@sqlite_only
def test_list_get_and_filter_task_instances(web: Web) -> None:
    three_finished_runs(web)
    web.patch(tis_url("r2", "c"), json={"new_state": "failed"})
    listed = web.get(tis_url("r2"), user="viewer").json()
    assert [t["task_id"] for t in listed["task_instances"]] == ["a", "b", "c", "d"]
    assert listed["total_entries"] == 4
    first = listed["task_instances"][0]
    assert first["state"] == "success"
    assert first["try_number"] == 1
    assert first["dag_run_id"] == "r2"
    assert first["pool"] == "default_pool"
    page = web.get(tis_url("r2") + "?limit=2&offset=1").json()
    assert [t["task_id"] for t in page["task_instances"]] == ["b", "c"]
    assert page["total_entries"] == 4
    failed = web.get(tis_url("r2") + "?state=failed&state=none").json()
    assert [t["task_id"] for t in failed["task_instances"]] == ["c"]
    one = web.get(tis_url("r2", "c"), user="viewer").json()
    assert one["state"] == "failed"
    assert web.get(tis_url("r2", "zzz")).status_code == 404
    assert web.get(tis_url("r9", "a")).status_code == 404
    assert web.get(tis_url("r9")).status_code == 404
    assert web.get(tis_url("r2", "a", dag_id="nope")).json()["detail"] == "no DAG 'nope'"
    assert web.get(tis_url("r2") + "?state=bogus").status_code == 400
    # A NUL can name nothing in any database: it is refused as bad input.
    assert web.get(tis_url("r2", "%00")).status_code == 400
    assert web.get(tis_url("r2", "x" * 3000)).status_code == 404
    assert web.client.get(tis_url("r2")).status_code == 401


@sqlite_only
def test_mark_scopes_pick_the_right_task_instances_and_dry_run_changes_nothing(web: Web) -> None:
    three_finished_runs(web)

    def dry(**scope: bool) -> list[tuple[str, str]]:
        body = {"new_state": "failed", "dry_run": True, **scope}
        return picked(web.patch(tis_url("r2", "b"), user="user", json=body))

    assert dry() == [("r2", "b")]
    assert dry(include_upstream=True) == [("r2", "a"), ("r2", "b")]
    assert dry(include_downstream=True) == [("r2", "b"), ("r2", "c")]
    assert dry(include_past=True) == [("r1", "b"), ("r2", "b")]
    assert dry(include_future=True) == [("r2", "b"), ("r3", "b")]
    assert dry(include_future=True, include_upstream=True) == [
        ("r2", "a"),
        ("r2", "b"),
        ("r3", "a"),
        ("r3", "b"),
    ]
    for run_id in ("r1", "r2", "r3"):
        assert set(web.system.states("shape", run_id).values()) == {TaskState.SUCCESS}
    # Already in the state asked for: nothing changes.
    same = web.patch(tis_url("r2", "b"), json={"new_state": "success", "dry_run": True})
    assert picked(same) == []
    marked = web.patch(
        tis_url("r2", "b"), json={"new_state": "skipped", "include_downstream": True}
    )
    assert picked(marked) == [("r2", "b"), ("r2", "c")]
    assert {t["state"] for t in marked.json()["task_instances"]} == {"skipped"}
    assert web.system.states("shape", "r2")["c"] is TaskState.SKIPPED
    assert web.system.states("shape", "r1")["b"] is TaskState.SUCCESS
    with web.system.sessions() as session:
        logged = session.query(AuditLog).filter_by(event="mark_skipped").all()
    assert [(e.run_id, e.task_id) for e in logged] == [("r2", "b")]  # dry runs leave no entry


@sqlite_only
def test_clear_scopes_only_failed_and_rerun(web: Web) -> None:
    three_finished_runs(web)
    web.patch(tis_url("r1", "c"), json={"new_state": "failed", "include_future": True})
    assert web.system.states("shape", "r3")["c"] is TaskState.FAILED
    url = "/api/v1/dags/shape/clearTaskInstances"

    def dry(**body: Any) -> list[tuple[str, str]]:
        body = {"dag_run_id": "r2", "only_failed": False, **body}  # dry_run: true by default
        return picked(web.post(url, user="user", json=body))

    assert dry(task_ids=["b"]) == [("r2", "b")]
    assert dry(task_ids=["b"], include_upstream=True) == [("r2", "a"), ("r2", "b")]
    assert dry(task_ids=["b"], include_downstream=True) == [("r2", "b"), ("r2", "c")]
    assert dry(task_ids=["b"], include_past=True) == [("r1", "b"), ("r2", "b")]
    assert dry(task_ids=["b"], include_future=True) == [("r2", "b"), ("r3", "b")]
    assert len(dry()) == 4  # every task of the run
    assert dry(only_failed=True, include_past=True, include_downstream=True, task_ids=["a"]) == [
        ("r1", "c"),
        ("r2", "c"),
    ]
    assert web.system.run_state("shape", "r2") == "success"
    assert web.system.states("shape", "r2")["c"] is TaskState.FAILED
    cleared = web.post(
        url, json={"dag_run_id": "r2", "task_ids": ["c"], "include_past": True, "dry_run": False}
    )
    assert picked(cleared) == [("r1", "c"), ("r2", "c")]
    assert web.system.run_state("shape", "r1") == "running"
    for run_id in ("r1", "r2"):
        assert web.system.wait("shape", run_id) == "success"
        assert web.system.instance("shape", run_id, "c").try_number == 2
        assert web.system.instance("shape", run_id, "b").try_number == 1
    assert web.system.states("shape", "r3")["c"] is TaskState.FAILED


@sqlite_only
def test_mark_and_clear_errors_and_roles(web: Web) -> None:
    three_finished_runs(web)
    url = "/api/v1/dags/shape/clearTaskInstances"
    body = {"dag_run_id": "r1", "task_ids": ["a"]}
    assert web.post(url, user="viewer", json=body).status_code == 403
    assert web.client.post(url, json=body).status_code == 401
    mark = {"new_state": "failed"}
    assert web.patch(tis_url("r1", "a"), user="viewer", json=mark).status_code == 403
    assert web.patch(tis_url("r1", "a"), json={"new_state": "running"}).status_code == 400
    assert web.patch(tis_url("r1", "a"), json={}).status_code == 400
    assert web.patch(tis_url("r1", "zz"), json=mark).status_code == 404
    assert web.patch(tis_url("r7", "a"), json=mark).status_code == 404
    unknown = web.post(url, json={"dag_run_id": "r1", "task_ids": ["a", "ghost"]})
    assert unknown.status_code == 404
    assert "ghost" in unknown.json()["detail"]
    assert web.post(url, json={"dag_run_id": "r1", "task_ids": ["\x00"]}).status_code == 400
    assert web.post(url, json={"dag_run_id": "nope"}).status_code == 404
    lone = b'{"dag_run_id": "\\ud800", "task_ids": ["\\udfff"]}'
    as_json = {**web.as_("admin"), "Content-Type": "application/json"}
    assert web.client.post(url, content=lone, headers=as_json).status_code == 400
    assert web.post(url, json={"dag_run_id": "x" * 1000}).status_code == 400
    assert web.post(url, json={}).status_code == 400
    assert web.post(url).status_code == 400
    assert web.post("/api/v1/dags/nope/clearTaskInstances", json=body).status_code == 404
    assert set(web.system.states("shape", "r1").values()) == {TaskState.SUCCESS}


@sqlite_only
def test_marking_a_running_task_success_wins_over_its_late_report(web: Web, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    web.system.add_dag(
        "gated",
        f"""
        def fail_late(journal, gate, ti=None):
            work(journal, gate=gate, ti=ti)
            raise RuntimeError("too late to count")

        with DAG("gated", schedule=None):
            first = PythonOperator(
                task_id="first", python_callable=fail_late,
                op_kwargs={{"journal": {str(tmp_path / "journal")!r}, "gate": {str(gate)!r}}},
            )
            second = EmptyOperator(task_id="second")
            first >> second
        """,
    )
    run_id = web.system.trigger("gated")
    assert web.system.run_until(
        lambda: web.system.state("gated", run_id, "first") is TaskState.RUNNING
    )
    marked = web.patch(
        tis_url(run_id, "first", "gated"), user="user", json={"new_state": "success"}
    )
    assert picked(marked) == [(run_id, "first")]
    assert web.system.wait("gated", run_id) == "success"
    gate.touch()  # the try fails now, if it still runs: its report must not count
    web.system.settle(1.0)
    assert web.system.states("gated", run_id) == {
        "first": TaskState.SUCCESS,
        "second": TaskState.SUCCESS,
    }
    tries = web.get(tis_url(run_id, "first", "gated") + "/tries").json()
    assert [(t["try_number"], t["state"]) for t in tries["task_instances"]] == [(1, "success")]


@sqlite_only
def test_tries_lists_every_try(web: Web, tmp_path: Path) -> None:
    marker = tmp_path / "failed_once"
    web.system.add_dag(
        "flaky",
        f"""
        def flaky():
            marker = Path({str(marker)!r})
            if not marker.exists():
                marker.touch()
                raise RuntimeError("first try fails")

        with DAG("flaky", schedule=None):
            PythonOperator(
                task_id="t", python_callable=flaky, retries=1, retry_delay=timedelta(0)
            )
        """,
    )
    run_id = web.system.trigger("flaky")
    assert web.system.wait("flaky", run_id) == "success"
    url = tis_url(run_id, "t", "flaky")
    tries = web.get(url + "/tries", user="viewer").json()
    assert [t["try_number"] for t in tries["task_instances"]] == [1, 2]
    assert tries["task_instances"][0]["state"] in ("up_for_retry", "failed")
    assert tries["task_instances"][1]["state"] == "success"
    assert tries["total_entries"] == 2
    # Cleared, it runs again as a third try.
    web.post(f"/api/v1/dags/flaky/dagRuns/{run_id}/clear", json={"dry_run": False})
    assert web.get(url + "/tries").json()["total_entries"] == 2
    assert web.system.wait("flaky", run_id) == "success"
    again = web.get(url + "/tries").json()["task_instances"]
    assert [(t["try_number"], t["state"]) for t in again][1:] == [(2, "success"), (3, "success")]
    assert web.get(tis_url(run_id, "nope", "flaky") + "/tries").status_code == 404
