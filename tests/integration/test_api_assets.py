"""/assets and /datasets (Airflow 3's and Airflow 2's names): assets with their references,
aliases, events, events posted by another system (through the real scheduler), the queue of
events consumer DAGs have not run for yet, and bad input."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from scheduling import make_system_fixture, sqlite_only  # noqa: F401
from sqlalchemy import select
from webtest import Web, make_web_fixture, web_fixture  # noqa: F401

from tradewind.metastore.models import AuditLog, DagRun
from tradewind.states import DagRunType

ORDERS = "s3://bucket/orders"
USERS = "s3://bucket/users"

PRODUCERS = """
from tradewind import Asset, AssetAlias

with DAG("make_orders", schedule=None):
    @task(outlets=[Asset("s3://bucket/orders")])
    def orders(*, outlet_events):
        outlet_events[Asset("s3://bucket/orders")].extra["rows"] = 42

    orders()

with DAG("make_any", schedule=None):
    @task(outlets=[AssetAlias("daily")])
    def some(*, outlet_events):
        extra = {"n": 1, "token": "abc"}
        outlet_events[AssetAlias("daily")].add(Asset("s3://bucket/users"), extra=extra)

    some()
"""

CONSUMERS = """
from tradewind import Asset, AssetAlias

UNPAUSED = {"is_paused_upon_creation": False}

with DAG("use_orders", schedule=[Asset("s3://bucket/orders")], **UNPAUSED):
    @task
    def read(*, triggering_asset_events):
        return [
            [e.asset.uri, e.extra, e.source_dag_id]
            for events in triggering_asset_events.values()
            for e in events
        ]

    read()

BOTH = [Asset("s3://bucket/orders"), Asset("s3://bucket/users")]
with DAG("use_both", schedule=BOTH, **UNPAUSED):
    EmptyOperator(task_id="go", inlets=[Asset("s3://bucket/users")])

with DAG("use_daily", schedule=[AssetAlias("daily")], **UNPAUSED):
    EmptyOperator(task_id="go")
"""


def _asset_runs(web: Web, dag_id: str) -> list[DagRun]:
    with web.system.sessions() as session:
        return list(
            session.scalars(
                select(DagRun)
                .where(DagRun.dag_id == dag_id, DagRun.run_type == DagRunType.ASSET_TRIGGERED.value)
                .order_by(DagRun.id)
            ).all()
        )


def _ok(answer: Any) -> Any:
    assert answer.status_code == 200, answer.text
    return answer.json()


def _error(answer: Any, status: int, detail: str = "") -> None:
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert body["status"] == status
    assert detail in body["detail"], body["detail"]


def _setup(web: Web, consumers: str = CONSUMERS) -> dict[str, int]:
    """The DAGs registered; the id of each asset by URI."""
    web.system.add_dag("producers", PRODUCERS)
    web.system.add_dag("consumers", consumers)
    listed = _ok(web.get("/api/v1/assets", user="viewer"))
    return {asset["uri"]: asset["id"] for asset in listed["assets"]}


def _audited(web: Web, event: str) -> list[AuditLog]:
    with web.system.sessions() as session:
        return list(session.scalars(select(AuditLog).where(AuditLog.event == event)).all())


def test_posted_events_run_the_consumer_through_the_scheduler(web: Web) -> None:
    ids = _setup(web)
    posted = _ok(
        web.post("/api/v1/assets/events", user="op", json={"uri": ORDERS, "extra": {"rows": 1}})
    )
    assert posted["asset_id"] == ids[ORDERS]
    assert posted["uri"] == ORDERS
    assert posted["extra"] == {"rows": 1, "from_rest_api": True}
    assert posted["source_dag_id"] is None
    assert posted["source_map_index"] == -1
    assert posted["created_dagruns"] == []
    assert web.system.run_until(lambda: len(_asset_runs(web, "use_orders")) == 1)
    run_id = _asset_runs(web, "use_orders")[0].run_id
    assert web.system.wait("use_orders", run_id) == "success"
    assert web.system.xcom("use_orders", run_id, "read") == [
        [ORDERS, {"rows": 1, "from_rest_api": True}, None]
    ]
    upstream = _ok(web.get(f"/api/v1/dags/use_orders/dagRuns/{run_id}/upstreamAssetEvents"))
    assert upstream["total_entries"] == 1
    [event] = upstream["asset_events"]
    assert event["id"] == posted["id"]
    assert [(r["dag_id"], r["run_id"], r["state"]) for r in event["created_dagruns"]] == [
        ("use_orders", run_id, "success")
    ]

    # Airflow 2's names: by dataset_uri, answered with dataset_* fields.
    body = {"dataset_uri": ORDERS, "extra": {"rows": 2}}
    second = _ok(web.post("/api/v1/datasets/events", user="admin", json=body))
    assert (second["dataset_id"], second["dataset_uri"]) == (ids[ORDERS], ORDERS)
    assert second["extra"] == {"rows": 2, "from_rest_api": True}
    assert web.system.run_until(lambda: len(_asset_runs(web, "use_orders")) == 2)
    second_run = _asset_runs(web, "use_orders")[1].run_id
    path = f"/api/v1/dags/use_orders/dagRuns/{second_run}/upstreamDatasetEvents"
    [old_style] = _ok(web.get(path, user="viewer"))["dataset_events"]
    assert old_style["dataset_uri"] == ORDERS
    assert old_style["extra"] == {"rows": 2, "from_rest_api": True}
    assert old_style["created_dagruns"][0]["run_id"] == second_run

    # Each event lists the runs it triggered; a run that was not asset-triggered has none.
    listed = _ok(web.get("/api/v1/assets/events", params={"asset_id": ids[ORDERS]}))
    assert listed["total_entries"] == 2
    assert [e["created_dagruns"][0]["run_id"] for e in listed["asset_events"]] == [
        run_id,
        second_run,
    ]
    manual = web.system.trigger("make_orders")
    assert web.system.wait("make_orders", manual) == "success"
    none = _ok(web.get(f"/api/v1/dags/make_orders/dagRuns/{manual}/upstreamAssetEvents"))
    assert none == {"asset_events": [], "total_entries": 0}
    audited = [json.loads(e.extra or "") for e in _audited(web, "asset_event.create")]
    assert (
        audited
        == [{"asset_id": ids[ORDERS], "uri": ORDERS, "queued": ["use_both", "use_orders"]}] * 2
    )


def test_assets_with_what_refers_to_them(web: Web) -> None:
    ids = _setup(web)
    producer = web.system.trigger("make_any")  # resolves the alias "daily" to the users asset
    assert web.system.wait("make_any", producer) == "success"
    assets = _ok(web.get("/api/v1/assets", user="viewer"))
    assert assets["total_entries"] == 2
    orders, users = assets["assets"]
    assert (orders["uri"], orders["name"], orders["group"]) == (ORDERS, ORDERS, "asset")
    assert orders["extra"] == {}
    assert [(t["dag_id"], t["task_id"]) for t in orders["producing_tasks"]] == [
        ("make_orders", "orders")
    ]
    assert [d["dag_id"] for d in orders["scheduled_dags"]] == ["use_both", "use_orders"]
    assert orders["aliases"] == []
    assert orders["last_asset_event"] is None
    assert [d["dag_id"] for d in users["scheduled_dags"]] == ["use_both", "use_daily"]
    assert [(t["dag_id"], t["task_id"]) for t in users["consuming_tasks"]] == [("use_both", "go")]
    assert [a["name"] for a in users["aliases"]] == ["daily"]
    assert users["last_asset_event"]["id"] >= 1
    assert _ok(web.get(f"/api/v1/assets/{ids[USERS]}")) == users

    def uris(path: str, **params: Any) -> list[str]:
        found = _ok(web.get(path, params=params))
        return [a["uri"] for a in found.get("assets", found.get("datasets", []))]

    assert uris("/api/v1/assets", order_by="-uri") == [USERS, ORDERS]
    assert uris("/api/v1/assets", uri_pattern="users") == [USERS]
    assert uris("/api/v1/assets", uri_pattern="%") == []
    assert uris("/api/v1/assets", dag_ids=["use_daily"]) == [USERS]
    assert uris("/api/v1/assets", dag_ids=["make_orders", "nope"]) == [ORDERS]
    assert uris("/api/v1/datasets", dag_ids="make_orders,use_daily") == [ORDERS, USERS]
    assert uris("/api/v1/assets", limit=1, offset=1) == [USERS]
    assert _ok(web.get("/api/v1/assets", params={"limit": 1}))["total_entries"] == 2

    dataset = _ok(web.get(f"/api/v1/datasets/{quote(ORDERS, safe='')}", user="viewer"))
    assert dataset["id"] == ids[ORDERS]
    assert [d["dag_id"] for d in dataset["consuming_dags"]] == ["use_both", "use_orders"]
    assert dataset["producing_tasks"][0]["task_id"] == "orders"
    aliases = _ok(web.get("/api/v1/assets/aliases", user="viewer"))
    assert [(a["name"], a["group"]) for a in aliases["asset_aliases"]] == [("daily", "asset")]
    alias_id = aliases["asset_aliases"][0]["id"]
    assert _ok(web.get(f"/api/v1/assets/aliases/{alias_id}"))["name"] == "daily"

    # The event through the alias names its source try; secret-looking fields are masked.
    [event] = _ok(web.get("/api/v1/assets/events", params={"uri": USERS}))["asset_events"]
    assert (event["source_dag_id"], event["source_task_id"]) == ("make_any", "some")
    assert event["source_run_id"] == producer
    assert event["extra"] == {"n": 1, "token": "***"}
    by_source = web.get("/api/v1/datasets/events", params={"source_dag_id": "make_any"})
    assert [e["dataset_uri"] for e in _ok(by_source)["dataset_events"]] == [USERS]


def test_queued_events_are_listed_and_taken_off_the_queue(web: Web) -> None:
    ids = _setup(web)
    orders, users = ids[ORDERS], ids[USERS]
    _ok(web.post("/api/v1/assets/events", user="op", json={"asset_id": orders}))
    queue = _ok(web.get("/api/v1/dags/use_both/assets/queuedEvents", user="viewer"))
    assert [(q["dag_id"], q["asset_id"], q["uri"]) for q in queue["queued_events"]] == [
        ("use_both", orders, ORDERS)
    ]
    when = queue["queued_events"][0]["created_at"]
    of_asset = _ok(web.get(f"/api/v1/assets/{orders}/queuedEvents"))
    assert [q["dag_id"] for q in of_asset["queued_events"]] == ["use_both", "use_orders"]
    one = _ok(web.get(f"/api/v1/dags/use_both/assets/{orders}/queuedEvents"))
    assert one == {
        "dag_id": "use_both",
        "asset_id": orders,
        "uri": ORDERS,
        "created_at": when,
    }
    old = _ok(web.get(f"/api/v1/datasets/queuedEvent/{quote(ORDERS, safe='')}"))
    assert old["queued_events"][0] == {
        "uri": ORDERS,
        "dag_id": "use_both",
        "created_at": when,
    }
    assert _ok(web.get("/api/v1/dags/use_both/datasets/queuedEvent"))["total_entries"] == 1
    earlier = {"before": "2000-01-01T00:00:00+00:00"}
    _error(web.get(f"/api/v1/assets/{orders}/queuedEvents", params=earlier), 404, "no events")
    _error(web.get(f"/api/v1/dags/use_both/assets/{users}/queuedEvents"), 404, "no events")

    # Taken off use_both's queue, the orders event no longer counts toward its run.
    path = f"/api/v1/dags/use_both/assets/{orders}/queuedEvents"
    _error(web.delete(path, user="viewer"), 403)
    assert web.delete(path, user="op").status_code == 204
    _error(web.get(path), 404, f"no events are queued of asset {orders} for DAG 'use_both'")
    _error(web.delete(path, user="op"), 404)
    assert [e.dag_id for e in _audited(web, "asset_queue.delete")] == ["use_both"]
    _ok(web.post("/api/v1/assets/events", user="op", json={"asset_id": users}))
    assert web.system.run_until(lambda: len(_asset_runs(web, "use_orders")) == 1)
    web.system.settle(0.5)
    assert _asset_runs(web, "use_both") == []
    assert [
        q["asset_id"]
        for q in _ok(web.get("/api/v1/dags/use_both/assets/queuedEvents"))["queued_events"]
    ] == [users]

    # Airflow 2's names empty the queues as well.
    assert web.delete("/api/v1/dags/use_both/datasets/queuedEvent", user="op").status_code == 204
    _error(web.get("/api/v1/dags/use_both/assets/queuedEvents"), 404)


@sqlite_only
def test_who_may_read_and_post(web: Web) -> None:
    ids = _setup(web)
    body = {"asset_id": ids[ORDERS]}
    _error(web.post("/api/v1/assets/events", user="viewer", json=body), 403, "op role")
    _error(web.post("/api/v1/assets/events", user="user", json=body), 403, "op role")
    _error(web.post("/api/v1/datasets/events", user="viewer", json={"dataset_uri": ORDERS}), 403)
    _error(web.client.post("/api/v1/assets/events", json=body), 401)
    _error(web.client.get("/api/v1/assets"), 401)
    _error(web.delete(f"/api/v1/assets/{ids[ORDERS]}/queuedEvents", user="user"), 403)
    # A browser session must bring its CSRF token to post.
    web.client.cookies.set("tradewind_session", web.session_cookie("op", "csrf-1"))
    try:
        _error(web.client.post("/api/v1/assets/events", json=body), 403, "X-CSRF-Token")
        sent = web.client.post(
            "/api/v1/assets/events", json=body, headers={"X-CSRF-Token": "csrf-1"}
        )
        assert _ok(sent)["asset_id"] == ids[ORDERS]
    finally:
        web.client.cookies.clear()
    assert _ok(web.get("/api/v1/assets/events", user="viewer"))["total_entries"] == 1


@sqlite_only
def test_bad_requests_are_clear_4xx(make_web: Any) -> None:
    web = make_web(core={"max_conf_mb": 0.001})
    ids = _setup(web)
    post = "/api/v1/assets/events"
    _error(web.post(post, json={"asset_id": 999}), 404, "no asset 999")
    _error(web.post(post, json={"uri": "s3://nowhere"}), 404, "no asset with URI 's3://nowhere'")
    _error(web.post("/api/v1/datasets/events", json={"dataset_uri": "x"}), 404, "'x'")
    for bad in (
        {"asset_id": ids[ORDERS], "extra": [1]},
        {"asset_id": ids[ORDERS], "extra": "rows"},
        {"asset_id": ids[ORDERS], "uri": ORDERS},
        {"extra": {}},
        {"asset_id": "1"},
        {"asset_id": 0},
        {"asset_id": 2**40},
        {"uri": ""},
        {"uri": ORDERS, "surprise": 1},
        {"dataset_uri": ORDERS},
    ):
        _error(web.post(post, json=bad), 400)
    large = {"uri": ORDERS, "extra": {"x": "y" * 2000}}
    _error(web.post(post, json=large), 413, "over the limit of 1.02 KB (core.max_conf_mb)")
    as_json = {**web.as_("admin"), "Content-Type": "application/json"}
    infinite = b'{"uri": "s3://bucket/orders", "extra": {"n": 1e999}}'
    _error(web.client.post(post, content=infinite, headers=as_json), 400, "infinity")
    assert _ok(web.get("/api/v1/assets/events"))["total_entries"] == 0

    for path, status in (
        ("/api/v1/assets/abc", 400),
        ("/api/v1/assets/0", 400),
        (f"/api/v1/assets/{2**40}", 400),
        ("/api/v1/assets/12345", 404),
        ("/api/v1/assets/aliases/7", 404),
        ("/api/v1/datasets/s3%3A%2F%2Fnowhere", 404),
        ("/api/v1/assets?order_by=bogus", 400),
        ("/api/v1/assets/events?order_by=-uri", 400),
        ("/api/v1/assets/events?timestamp_gte=yesterday", 400),
        ("/api/v1/assets/events?source_map_index=-2", 400),
        ("/api/v1/dags/nope/assets/queuedEvents", 404),
        (f"/api/v1/dags/nope/assets/{ids[ORDERS]}/queuedEvents", 404),
        ("/api/v1/dags/use_orders/assets/12345/queuedEvents", 404),
        ("/api/v1/assets/12345/queuedEvents", 404),
        ("/api/v1/datasets/queuedEvent/nowhere", 404),
        ("/api/v1/dags/use_orders/dagRuns/nope/upstreamAssetEvents", 404),
        ("/api/v1/dags/nope/dagRuns/nope/upstreamDatasetEvents", 404),
    ):
        _error(web.get(path), status)
    _error(web.get("/api/v1/assets/12345"), 404, "no asset 12345")
    _error(web.delete("/api/v1/dags/nope/datasets/queuedEvent", user="op"), 404, "no DAG 'nope'")
