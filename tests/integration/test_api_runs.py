"""/dags/{dag_id}/dagRuns: list, trigger, get, mark, delete, clear, through the real scheduler."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from scheduling import make_system_fixture, sqlite_only  # noqa: F401
from webtest import Web, make_web_fixture, web_fixture  # noqa: F401

from tradewind.metastore.models import AuditLog, TaskInstanceHistory, XCom
from tradewind.states import TaskState

CHAIN = """
with DAG("chain", schedule=None, params={"n": 1}):
    a = PythonOperator(task_id="a", python_callable=lambda params: params["n"])
    b = EmptyOperator(task_id="b")
    a >> b
"""


def gated(journal: Path, gate: Path) -> str:
    """A DAG whose first task waits for ``gate``; the second one runs after it."""
    return f"""
with DAG("gated", schedule=None):
    first = PythonOperator(
        task_id="first", python_callable=work,
        op_kwargs={{"journal": {str(journal)!r}, "gate": {str(gate)!r}}},
    )
    second = EmptyOperator(task_id="second")
    first >> second
"""


def runs_url(dag_id: str, run_id: str = "") -> str:
    return f"/api/v1/dags/{dag_id}/dagRuns" + (f"/{run_id}" if run_id else "")


def trigger(web: Web, dag_id: str, **body: Any) -> dict[str, Any]:
    answer = web.post(runs_url(dag_id), user="user", json=body)
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def events(web: Web, event: str) -> list[AuditLog]:
    with web.system.sessions() as session:
        return list(session.query(AuditLog).filter_by(event=event).all())


def test_a_triggered_run_succeeds_through_the_scheduler(web: Web) -> None:
    web.system.add_dag("chain", CHAIN)
    web.system.set_paused("chain", False)
    run = trigger(web, "chain", dag_run_id="by_api", conf={"n": 7}, note="hello")
    assert run["dag_run_id"] == "by_api"
    assert run["state"] == "queued"
    assert run["conf"] == {"n": 7}
    assert run["external_trigger"] is True
    assert run["run_type"] == "manual"
    assert web.system.wait("chain", "by_api") == "success"
    assert web.system.xcom("chain", "by_api", "a") == 7
    got = web.get(runs_url("chain", "by_api"), user="viewer").json()
    assert got["state"] == "success"
    assert got["end_date"] is not None
    assert [e.run_id for e in events(web, "trigger")] == ["by_api"]


@sqlite_only
def test_who_may_trigger_and_read(web: Web) -> None:
    web.system.add_dag("chain", CHAIN)
    assert web.post(runs_url("chain"), user="viewer", json={}).status_code == 403
    assert web.client.post(runs_url("chain"), json={}).status_code == 401
    assert web.client.get(runs_url("chain")).status_code == 401
    run = trigger(web, "chain")  # no body fields: a manual run now
    assert run["dag_run_id"].startswith("manual__")
    assert web.get(runs_url("chain"), user="viewer").json()["total_entries"] == 1
    url = runs_url("chain", run["dag_run_id"])
    assert web.patch(url, user="viewer", json={"state": "failed"}).status_code == 403
    assert web.delete(url, user="viewer").status_code == 403
    assert web.post(url + "/clear", user="viewer", json={}).status_code == 403
    assert web.get(url, user="viewer").status_code == 200
    assert not events(web, "mark_run_failed")


@sqlite_only
def test_bad_requests_are_clear_4xx(web: Web) -> None:
    web.system.add_dag("chain", CHAIN)
    assert web.post(runs_url("chain"), json={"dag_run_id": "one"}).status_code == 200

    def status(method: str, path: str, **kwargs: Any) -> tuple[int, str]:
        answer = getattr(web, method)(path, **kwargs)
        body = answer.json() if answer.status_code != 204 else {}
        if answer.status_code >= 400:
            assert body["status"] == answer.status_code
        return answer.status_code, str(body.get("detail", ""))

    assert status("post", runs_url("nope"), json={}) == (404, "no DAG 'nope'")
    assert status("post", runs_url("chain"), json={"dag_run_id": "one"})[0] == 409
    naive = status("post", runs_url("chain"), json={"logical_date": "2024-01-01T00:00:00"})
    assert naive[0] == 400
    assert "time zone" in naive[1]
    assert status("post", runs_url("chain"), json={"logical_date": "someday"})[0] == 400
    assert status("post", runs_url("chain"), json={"logical_date": "0001-01-01T00:00Z"})[0] == 400
    assert status("post", runs_url("chain"), json={"conf": [1]})[0] == 400
    assert status("post", runs_url("chain"), json={"dag_run_id": "a/b"})[0] == 400
    assert status("post", runs_url("chain"), json={"dag_run_id": "x" * 300})[0] == 400
    assert status("post", runs_url("chain"), json={"surprise": 1})[0] == 400
    assert status("post", runs_url("chain"), content=b"{not json")[0] == 400
    lone = b'{"dag_run_id": "lone", "conf": {"\\ud800": "\\udfff"}}'
    as_json = {**web.as_("admin"), "Content-Type": "application/json"}
    assert web.client.post(runs_url("chain"), content=lone, headers=as_json).status_code == 400
    huge = b'{"dag_run_id": "huge", "conf": {"n": 1e999}}'
    assert web.client.post(runs_url("chain"), content=huge, headers=as_json).status_code == 400
    assert web.client.post(runs_url("chain"), content=b"{", headers=as_json).status_code == 400
    for method in ("get", "delete"):
        # A NUL can name nothing in any database: it is refused as bad input.
        assert status(method, runs_url("chain", "%00")) == (
            400,
            "path dag_run_id: must not contain NUL characters",
        )
    for odd in ("x" * 5000, "a%2Fb", "caf%C3%A9", "%F0%9F%98%80", "~"):
        for method in ("get", "delete"):
            assert status(method, runs_url("chain", odd))[0] == 404, (method, odd)
        assert status("get", runs_url(odd))[0] in (404, 200)
        assert status("patch", runs_url("chain", odd), json={"state": "failed"})[0] == 404
    assert status("patch", runs_url("chain", "one"), json={"state": "running"})[0] == 400
    assert status("patch", runs_url("chain", "one"), json={})[0] == 400
    assert status("get", runs_url("chain") + "?state=nope")[0] == 400
    assert status("get", runs_url("chain") + "?limit=100000")[0] == 400
    assert status("get", runs_url("chain") + "?limit=0")[0] == 400
    assert status("get", runs_url("chain") + f"?offset={10**30}")[0] == 400
    far = web.get(runs_url("chain") + f"?offset={2**31 - 1}")
    assert far.status_code == 200
    assert far.json()["dag_runs"] == []
    assert far.json()["total_entries"] == 1


@sqlite_only
def test_list_filters_and_pages_newest_first(web: Web) -> None:
    web.system.add_dag("chain", CHAIN)
    web.system.add_dag("other", CHAIN.replace('"chain"', '"other"'))
    for day in (1, 2, 3):
        trigger(web, "chain", dag_run_id=f"r{day}", logical_date=f"2024-01-0{day}T00:00:00Z")
    trigger(web, "other", dag_run_id="o1", logical_date="2024-01-05T00:00:00+02:00")
    web.patch(runs_url("chain", "r2"), json={"state": "failed"})
    listed = web.get(runs_url("chain"), user="viewer").json()
    assert [r["dag_run_id"] for r in listed["dag_runs"]] == ["r3", "r2", "r1"]
    assert listed["total_entries"] == 3
    page = web.get(runs_url("chain") + "?limit=1&offset=1").json()
    assert [r["dag_run_id"] for r in page["dag_runs"]] == ["r2"]
    assert page["total_entries"] == 3
    failed = web.get(runs_url("chain") + "?state=failed").json()
    assert [r["dag_run_id"] for r in failed["dag_runs"]] == ["r2"]
    both = web.get(runs_url("chain") + "?state=failed&state=queued").json()
    assert both["total_entries"] == 3
    assert web.get(runs_url("chain") + "?run_type=scheduled").json()["total_entries"] == 0
    everything = web.get(runs_url("~")).json()
    assert [r["dag_run_id"] for r in everything["dag_runs"]] == ["o1", "r3", "r2", "r1"]
    assert everything["dag_runs"][0]["logical_date"] == "2024-01-04T22:00:00Z"
    only = web.get(runs_url("~") + "?dag_id=other").json()
    assert [r["dag_id"] for r in only["dag_runs"]] == ["other"]


@sqlite_only
def test_marking_a_running_run_failed_fails_its_try_and_skips_the_rest(
    web: Web, tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    web.system.add_dag("gated", gated(tmp_path / "journal", gate))
    run_id = web.system.trigger("gated")
    assert web.system.run_until(
        lambda: web.system.state("gated", run_id, "first") is TaskState.RUNNING
    )
    answer = web.patch(runs_url("gated", run_id), user="user", json={"state": "failed"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["state"] == "failed"
    assert answer.json()["end_date"] is not None
    assert web.system.states("gated", run_id) == {
        "first": TaskState.FAILED,
        "second": TaskState.SKIPPED,
    }
    gate.touch()  # the try may finish now: its report comes too late to count
    web.system.settle(1.0)
    assert web.system.run_state("gated", run_id) == "failed"
    assert web.system.state("gated", run_id, "first") is TaskState.FAILED
    assert len(events(web, "mark_run_failed")) == 1


@sqlite_only
def test_marking_a_queued_run_success_and_requeueing_it(web: Web) -> None:
    web.system.add_dag("chain", CHAIN)  # paused: the run stays queued
    run = trigger(web, "chain", dag_run_id="waiting")
    marked = web.patch(runs_url("chain", "waiting"), json={"state": "success"}).json()
    assert marked["state"] == "success"
    again = web.patch(runs_url("chain", "waiting"), json={"state": "queued"}).json()
    assert again["state"] == "queued"
    assert again["end_date"] is None
    assert again["queued_at"] >= run["queued_at"]
    web.system.set_paused("chain", False)
    assert web.system.wait("chain", "waiting") == "success"
    assert set(web.system.states("chain", "waiting").values()) == {TaskState.SUCCESS}


@sqlite_only
def test_clearing_a_finished_run_runs_it_again_and_dry_run_changes_nothing(web: Web) -> None:
    web.system.add_dag("chain", CHAIN)
    run_id = web.system.trigger("chain")
    assert web.system.wait("chain", run_id) == "success"
    url = runs_url("chain", run_id) + "/clear"
    dry = web.post(url, user="user")  # no body: a dry run, as in Airflow
    assert dry.status_code == 200
    assert sorted(t["task_id"] for t in dry.json()["task_instances"]) == ["a", "b"]
    assert web.system.run_state("chain", run_id) == "success"
    assert web.system.instance("chain", run_id, "a").try_number == 1
    only_failed = {"only_failed": True, "dry_run": False}
    assert web.post(url, json=only_failed).json()["task_instances"] == []
    cleared = web.post(url, user="user", json={"dry_run": False})  # clear everything
    assert cleared.status_code == 200
    assert {t["state"] for t in cleared.json()["task_instances"]} == {None}
    assert web.system.wait("chain", run_id) == "success"
    assert web.system.instance("chain", run_id, "a").try_number == 2
    assert web.system.instance("chain", run_id, "b").try_number == 2
    assert len(events(web, "clear")) == 2  # the dry run is not recorded


@sqlite_only
def test_deleting_a_run_removes_its_records(web: Web) -> None:
    web.system.add_dag("chain", CHAIN)
    run_id = web.system.trigger("chain")
    assert web.system.wait("chain", run_id) == "success"
    answer = web.delete(runs_url("chain", run_id), user="user")
    assert answer.status_code == 204
    assert web.get(runs_url("chain", run_id)).status_code == 404
    assert web.delete(runs_url("chain", run_id)).status_code == 404
    with web.system.sessions() as session:
        assert session.query(TaskInstanceHistory).count() == 0
        assert session.query(XCom).count() == 0
    assert web.get(runs_url("chain")).json()["total_entries"] == 0
    assert [e.run_id for e in events(web, "delete_run")] == [run_id]


@sqlite_only
def test_a_run_keeps_its_note(web: Web) -> None:
    web.system.add_dag(
        "noted", 'with DAG("noted", schedule=None):\n    EmptyOperator(task_id="a")\n'
    )
    made = web.post("/api/v1/dags/noted/dagRuns", json={"note": "rerun after the fix"})
    assert made.status_code == 200, made.text
    run_id = made.json()["dag_run_id"]
    assert web.get(f"/api/v1/dags/noted/dagRuns/{run_id}").json()["note"] == "rerun after the fix"
    path = f"/api/v1/dags/noted/dagRuns/{run_id}/setNote"
    assert web.patch(path, user="viewer", json={"note": "x"}).status_code == 403
    changed = web.patch(path, user="user", json={"note": "checked by ops"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["note"] == "checked by ops"
    assert web.patch(path, json={"note": None}).json()["note"] is None
    assert web.patch(path, json={"note": "x" * 1001}).status_code == 400
