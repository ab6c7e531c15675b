"""The REST API over the instances of mapped tasks: listMapped, one instance by its map index,
its tries, log, XComs and rendered fields; marking and clearing one, several or all of them."""

from __future__ import annotations

import json
from typing import Any

from mapdata import mapped_run
from scheduling import make_system_fixture, sqlite_only  # noqa: F401
from webtest import Web, make_web_fixture, web_fixture  # noqa: F401

from tradewind import tasklogs
from tradewind.metastore.models import AuditLog
from tradewind.metastore.store import rendered as rendered_store
from tradewind.metastore.store import runs as run_store
from tradewind.metastore.store import xcom as xcom_store
from tradewind.workloads import TaskKey


def url(run_id: str, tail: str = "") -> str:
    return f"/api/v1/dags/mapped/dagRuns/{run_id}/taskInstances{tail}"


def indexes(answer: Any) -> list[tuple[str, int]]:
    assert answer.status_code == 200, answer.text
    return [(t["task_id"], t["map_index"]) for t in answer.json()["task_instances"]]


def test_list_mapped_pages_orders_and_filters(web: Web) -> None:
    run_id = mapped_run(web.system)
    listed = web.get(url(run_id, "/work/listMapped"), user="viewer")
    assert indexes(listed) == [("work", i) for i in range(4)]
    body = listed.json()
    assert body["total_entries"] == 4
    assert [t["rendered_map_index"] for t in body["task_instances"]] == [
        "alpha",
        "beta",
        "gamma",
        "delta",
    ]
    assert [t["state"] for t in body["task_instances"]] == [
        "success",
        "failed",
        "success",
        "running",
    ]
    page = web.get(url(run_id, "/work/listMapped?limit=2&offset=1"))
    assert indexes(page) == [("work", 1), ("work", 2)]
    assert page.json()["total_entries"] == 4
    reverse = web.get(url(run_id, "/work/listMapped?order_by=-map_index"))
    assert indexes(reverse) == [("work", i) for i in (3, 2, 1, 0)]
    by_name = web.get(url(run_id, "/work/listMapped?order_by=rendered_map_index"))
    assert indexes(by_name) == [("work", i) for i in (0, 1, 3, 2)]
    ok = web.get(url(run_id, "/work/listMapped?state=success&state=running"))
    assert indexes(ok) == [("work", 0), ("work", 2), ("work", 3)]
    assert ok.json()["total_entries"] == 3
    later = web.get(url(run_id, "/work/listMapped?start_date_gte=2024-05-01T12:01:00Z"))
    assert indexes(later) == [("work", 1), ("work", 2), ("work", 3)]
    window = "start_date_gte=2024-05-01T14:01:00%2B02:00&end_date_lte=2024-05-01T12:02:30Z"
    assert indexes(web.get(url(run_id, "/work/listMapped?" + window))) == [
        ("work", 1),
        ("work", 2),
    ]
    assert indexes(web.get(url(run_id, "/work/listMapped?duration_gte=31"))) == []
    assert web.get(url(run_id, "/work/listMapped?start_date_gte=yesterday")).status_code == 400
    assert (
        web.get(url(run_id, "/work/listMapped?start_date_gte=2024-05-01T12:00:00")).status_code
        == 400
    )
    # A task that is not mapped, or not there, is a 404 that says so; bad input a 400.
    plain = web.get(url(run_id, "/start/listMapped"))
    assert plain.status_code == 404
    assert "not mapped" in plain.json()["detail"]
    assert web.get(url(run_id, "/nope/listMapped")).status_code == 404
    assert web.get(url("r9", "/work/listMapped")).status_code == 404
    assert web.get(url(run_id, "/work/listMapped?order_by=bogus")).status_code == 400
    assert web.get(url(run_id, "/work/listMapped?state=bogus")).status_code == 400


def test_one_instance_its_tries_and_the_list_filter(web: Web) -> None:
    run_id = mapped_run(web.system)
    one = web.get(url(run_id, "/work/1"), user="viewer")
    assert one.status_code == 200, one.text
    assert (one.json()["map_index"], one.json()["state"]) == (1, "failed")
    assert one.json()["rendered_map_index"] == "beta"
    # Without its map index, a mapped task's instance is a 404 that says to add it.
    whole = web.get(url(run_id, "/work"))
    assert whole.status_code == 404
    assert "map index" in whole.json()["detail"]
    assert web.get(url(run_id, "/start")).json()["map_index"] == -1
    assert web.get(url(run_id, "/start/-1")).json()["task_id"] == "start"
    missing = web.get(url(run_id, "/work/7"))
    assert missing.status_code == 404
    assert "0-3" in missing.json()["detail"]
    assert web.get(url(run_id, "/work/-2")).status_code in (400, 404)
    tries = web.get(url(run_id, "/work/2/tries"))
    assert [(t["map_index"], t["try_number"]) for t in tries.json()["task_instances"]] == [(2, 1)]
    # The run's list takes map_index filters.
    listed = web.get(url(run_id, "?map_index=1&map_index=2"))
    assert sorted(indexes(listed)) == [
        ("grp.one", 1),
        ("grp.one", 2),
        ("grp.two", 1),
        ("grp.two", 2),
        ("work", 1),
        ("work", 2),
    ]
    assert web.get(url(run_id, "?map_index=x")).status_code == 400


def test_log_xcoms_and_rendered_fields_per_instance(web: Web) -> None:
    run_id = mapped_run(web.system)
    folder = web.system.settings.logging.base_log_folder
    for index in (0, 2):
        path = tasklogs.log_path(folder, TaskKey("mapped", run_id, "work", index, 1))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"log of instance {index}\n")
    with web.system.sessions.begin() as session:
        run = run_store.get_run(session, "mapped", run_id)
        assert run is not None
        for index in (0, 2):
            xcom_store.set_xcoms(session, run.id, "work", index, [("return_value", index * 10)])
        rendered_store.set_rendered(
            session,
            [rendered_store.Rendered("mapped", run_id, "work", 2, 1, {"cmd": "echo 2"})],
        )
    log = web.get(url(run_id, "/work/logs/1?map_index=2"), user="viewer")
    assert log.status_code == 200, log.text
    assert log.json()["content"] == "log of instance 2\n"
    assert web.get(url(run_id, "/work/logs/1")).status_code == 404  # mapped: say which
    assert web.get(url(run_id, "/work/logs/2?map_index=2")).status_code == 404
    assert web.get(url(run_id, "/work/logs/1?map_index=9")).status_code == 404
    every = web.get(url(run_id, "/work/xcomEntries"))
    assert [(x["map_index"], x["value"]) for x in every.json()["xcom_entries"]] == [
        (0, 0),
        (2, 20),
    ]
    two = web.get(url(run_id, "/work/xcomEntries?map_index=2"))
    assert [(x["map_index"], x["value"]) for x in two.json()["xcom_entries"]] == [(2, 20)]
    entry = web.get(url(run_id, "/work/xcomEntries/return_value?map_index=0"))
    assert entry.json()["value"] == 0
    assert web.get(url(run_id, "/work/xcomEntries?map_index=1")).json()["total_entries"] == 0
    assert web.get(url(run_id, "/work/xcomEntries?map_index=8")).status_code == 404
    rendered = web.get(url(run_id, "/work/renderedFields?map_index=2"))
    assert rendered.json()["rendered_fields"] == {"cmd": "echo 2"}
    assert rendered.json()["map_index"] == 2
    assert web.get(url(run_id, "/work/renderedFields?map_index=1")).json()["rendered_fields"] == {}


@sqlite_only
def test_mark_one_instance_or_all_of_a_mapped_task(web: Web) -> None:
    run_id = mapped_run(web.system)
    marked = web.patch(url(run_id, "/work/1"), user="user", json={"new_state": "success"})
    assert indexes(marked) == [("work", 1)]
    assert web.get(url(run_id, "/work/1")).json()["state"] == "success"
    assert web.get(url(run_id, "/work/3")).json()["state"] == "running"
    dry = web.patch(url(run_id, "/work"), json={"new_state": "failed", "dry_run": True})
    assert sorted(indexes(dry)) == [("work", i) for i in range(4)]
    assert web.patch(url(run_id, "/work/9"), json={"new_state": "failed"}).status_code == 404
    assert web.patch(url(run_id, "/work/1"), json={"new_state": "queued"}).status_code == 400
    assert (
        web.patch(url(run_id, "/work/1"), user="viewer", json={"new_state": "failed"}).status_code
        == 403
    )
    with web.system.sessions() as session:
        logged = session.query(AuditLog).filter_by(event="mark_success").all()
    assert [(e.task_id, json.loads(e.extra or "")["task_instances"]) for e in logged] == [
        ("work", 1)
    ]


@sqlite_only
def test_clear_instances_named_by_task_id_and_map_index(web: Web) -> None:
    run_id = mapped_run(web.system)
    clear = "/api/v1/dags/mapped/clearTaskInstances"
    body: dict[str, Any] = {"dag_run_id": run_id, "only_failed": False}
    dry = web.post(clear, json={**body, "task_ids": [["work", 0], ["work", 2]]})
    assert sorted(indexes(dry)) == [("work", 0), ("work", 2)]
    assert web.get(url(run_id, "/work/0")).json()["state"] == "success"  # only a preview
    done = web.post(
        clear,
        json={**body, "dry_run": False, "task_ids": [["work", 1]], "include_downstream": True},
    )
    assert sorted(indexes(done)) == [("end", -1), ("work", 1)]
    states = [web.get(url(run_id, f"/work/{i}")).json()["state"] for i in range(4)]
    assert states == ["success", None, "success", "running"]
    both = web.post(clear, json={**body, "task_ids": ["start", ["grp.one", 2]]})
    assert sorted(indexes(both)) == [("grp.one", 2), ("start", -1)]
    bad = web.post(clear, json={**body, "task_ids": [["work", "1"]]})
    assert bad.status_code == 400
    assert web.post(clear, json={**body, "task_ids": [["work"]]}).status_code == 400
    assert web.post(clear, json={**body, "task_ids": [["work", -5]]}).status_code == 400
    assert web.post(clear, json={**body, "task_ids": [["nope", 1]]}).status_code == 404
