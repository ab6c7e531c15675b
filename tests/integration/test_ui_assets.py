"""Assets in the UI, in headless Chromium over a real web server, with producer and consumer
DAGs run by the real scheduler: the list of assets and its search, an asset's page (producers,
consumers, events with their source, the DAGs waiting on it), the graph of which DAGs feed
which through assets, a consumer DAG's wait for its assets, and the events that triggered an
asset-triggered run."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from scheduling import make_system_fixture, sqlite_only  # noqa: F401
from sqlalchemy import select
from test_ui_browser import CHROMIUM, need_chromium, shots
from webtest import Web, make_web_fixture, web_fixture  # noqa: F401

from tradewind.metastore import notify
from tradewind.metastore.models import DagRun
from tradewind.metastore.store import assets as asset_store
from tradewind.metastore.types import utcnow
from tradewind.reports import AssetUpdate
from tradewind.states import DagRunType
from tradewind.ui.app import create_app

pytestmark = [pytest.mark.timeout(240)]
every_dialect = pytest.mark.parametrize(
    "db_dialect",
    [
        "sqlite",
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("mysql", marks=pytest.mark.mysql),
    ],
)

DAGS = """
from tradewind import Asset, AssetAlias

ORDERS = Asset("orders", uri="s3://bucket/orders")
USERS = Asset(uri="s3://bucket/users")
REPORT = Asset("daily report", uri="file:///reports/daily.csv", group="reports")
UNPAUSED = {"is_paused_upon_creation": False}

with DAG("make_orders", schedule=None):
    @task(outlets=[ORDERS])
    def orders(*, outlet_events):
        outlet_events[ORDERS].extra["rows"] = 42

    orders()

with DAG("make_users", schedule=None):
    BashOperator(task_id="users", bash_command="true", outlets=[USERS])

with DAG("use_both", schedule=[ORDERS, USERS], **UNPAUSED):
    EmptyOperator(task_id="report", outlets=[REPORT])

with DAG("read_report", schedule=[REPORT], **UNPAUSED):
    EmptyOperator(task_id="read")

with DAG("use_alias", schedule=[AssetAlias("exports")], **UNPAUSED):
    EmptyOperator(task_id="take")

with DAG("plain", schedule=None):
    EmptyOperator(task_id="alone")
"""

ORDERS, USERS, REPORT = "s3://bucket/orders", "s3://bucket/users", "file:///reports/daily.csv"


@dataclass
class Live:
    web: Web
    base: str
    browser: Any

    def page(self, username: str = "viewer") -> Any:
        page = self.browser.new_page(viewport=shots.VIEWPORT)
        page.set_default_timeout(30_000)
        page.goto(f"{self.base}/login")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", f"pw-{username}")
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(r".*/dags$"))
        return page

    def produce(self, dag_id: str) -> str:
        """Run the producer DAG through the scheduler; its run id."""
        run_id = self.web.system.trigger(dag_id)
        assert self.web.system.wait(dag_id, run_id) == "success"
        return run_id

    def update_from_outside(self, uri: str, extra: dict[str, Any]) -> None:
        with self.web.system.sessions.begin() as session:
            asset_store.record(session, [AssetUpdate(uri, extra=extra)], source=None, now=utcnow())
            notify.notify(session)

    def asset_runs(self, dag_id: str) -> list[str]:
        with self.web.system.sessions() as session:
            return list(
                session.scalars(
                    select(DagRun.run_id)
                    .where(DagRun.dag_id == dag_id, DagRun.run_type == DagRunType.ASSET_TRIGGERED)
                    .order_by(DagRun.id)
                ).all()
            )


@pytest.fixture
def live(web: Web, request: pytest.FixtureRequest) -> Iterator[Live]:
    """The DAGs above parsed (no scheduler loop runs unless a test drives it), the web server
    on a free port, Chromium."""
    need_chromium(request.config)
    from playwright import sync_api

    web.system.add_dag("assets", DAGS)
    with (
        shots.serving(create_app(web.system.settings)) as base,
        sync_api.sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield Live(web, base, browser)
        finally:
            browser.close()


def texts(locator: Any) -> list[str]:
    return [" ".join(text.split()) for text in locator.all_inner_texts()]


@sqlite_only
def test_the_asset_list_its_search_and_an_asset_page(live: Live) -> None:
    orders_run = live.produce("make_orders")
    live.update_from_outside(USERS, {"source": "upload", "files": 3})
    page = live.page()
    page.click("#nav-assets")
    page.wait_for_url(re.compile(r".*/assets$"))
    rows = page.locator("#asset-list tbody tr")
    # By name: "daily report", "orders", then the one named by its URI.
    assert [rows.nth(i).get_attribute("data-uri") for i in range(rows.count())] == [
        REPORT,
        ORDERS,
        USERS,
    ]
    orders = page.locator(f"#asset-list tr[data-uri='{ORDERS}']")
    assert orders.locator(".asset-name").inner_text() == "orders"
    assert orders.locator(".asset-uri").inner_text() == ORDERS
    assert orders.locator(".event-count").inner_text() == "1"
    last = orders.locator(".last-event").inner_text()
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", last)
    assert texts(orders.locator(".producers div")) == ["make_orders · orders"]
    assert texts(orders.locator(".consumers div")) == ["use_both"]
    report = page.locator(f"#asset-list tr[data-uri='{REPORT}']")
    assert report.locator("td").nth(1).inner_text() == "reports"
    assert report.locator(".event-count").inner_text() == "0"
    assert report.locator(".last-event").inner_text() == "—"
    assert texts(report.locator(".producers div")) == ["use_both · report"]
    assert texts(report.locator(".consumers div")) == ["read_report"]
    # The search looks at URIs and names, in any case.
    page.fill("#asset-search", "BUCKET")
    page.press("#asset-search", "Enter")
    page.wait_for_url(re.compile(r".*/assets\?q=BUCKET$"))
    assert sorted(texts(page.locator("#asset-list tbody tr .asset-name"))) == ["orders", USERS]
    page.fill("#asset-search", "daily rep")
    page.press("#asset-search", "Enter")
    page.wait_for_url(re.compile(r".*q=daily\+rep$"))
    assert texts(page.locator("#asset-list tbody tr .asset-name")) == ["daily report"]
    page.fill("#asset-search", "nothing like it")
    page.press("#asset-search", "Enter")
    page.wait_for_url(re.compile(r".*q=nothing.*"))
    assert texts(page.locator("#asset-list tbody td.empty")) == ["No assets match."]
    # An asset's page: its producers and consumers, its event with the producing try.
    page.goto(f"{live.base}/assets")
    page.locator(f"#asset-list tr[data-uri='{ORDERS}'] .asset-name").click()
    page.wait_for_url(re.compile(r".*/assets/\d+$"))
    assert page.locator("#asset-title").inner_text() == "orders"
    assert page.locator("#asset-uri").inner_text() == ORDERS
    assert texts(page.locator("#asset-producers div")) == ["make_orders · task orders"]
    assert texts(page.locator("#asset-consumers div")) == ["use_both"]
    assert page.locator("#asset-consumers a").get_attribute("href") == "/dags/use_both"
    assert texts(page.locator("#asset-waiting div")) == [
        "use_both · 1 event queued since " + page.locator("#asset-events td").first.inner_text()
    ]
    event = page.locator("#asset-events tbody tr")
    assert event.count() == 1
    assert " ".join(event.locator(".event-source").inner_text().split()) == (
        f"make_orders · orders · {orders_run}"
    )
    links = event.locator(".event-source a")
    assert [links.nth(i).get_attribute("href") for i in range(3)] == [
        "/dags/make_orders",
        "/dags/make_orders/runs/"
        + orders_run.replace(":", "%3A").replace("+", "%2B")
        + "/tasks/orders",
        "/dags/make_orders?run=" + orders_run.replace(":", "%3A").replace("+", "%2B"),
    ]
    assert event.locator("pre.extra").inner_text() == '{\n  "rows": 42\n}'
    # Its run link opens the producer's run.
    links.nth(2).click()
    page.wait_for_url(re.compile(r".*/dags/make_orders\?run=.*"))
    page.locator("#run-panel").wait_for()
    # An update from outside has no source, and shows its extra.
    page.goto(f"{live.base}/assets?q=users")
    page.locator("#asset-list .asset-name").click()
    page.wait_for_url(re.compile(r".*/assets/\d+$"))
    event = page.locator("#asset-events tbody tr")
    assert event.locator(".event-source").inner_text() == "from outside"
    assert event.locator("pre.extra").inner_text() == '{\n  "source": "upload",\n  "files": 3\n}'


@sqlite_only
def test_the_dependency_graph_shows_which_dags_feed_which(live: Live, tmp_path: Path) -> None:
    page = live.page()
    page.goto(f"{live.base}/assets")
    page.click("#deps-tab")
    page.wait_for_url(re.compile(r".*/assets/dependencies$"))

    def edges() -> set[tuple[str, str]]:
        found = page.evaluate(
            """() => {
                const title = (key) => document.querySelector(`g.node[data-k="${key}"] title`)
                    .textContent;
                return [...document.querySelectorAll("#asset-graph path.edge")]
                    .map((e) => [title(e.dataset.from), title(e.dataset.to)]);
            }"""
        )
        return {(a, b) for a, b in found}

    assert edges() == {
        ("make_orders", ORDERS),
        ("make_users", USERS),
        (ORDERS, "use_both"),
        (USERS, "use_both"),
        ("use_both", REPORT),
        (REPORT, "read_report"),
        ("alias exports", "use_alias"),
    }
    # The DAG outside every dependency is not drawn.
    assert page.locator("#asset-graph g.node[data-k='dag:plain']").count() == 0
    assert sorted(page.locator("#asset-graph g.node.asset text:not(.op)").all_text_contents()) == [
        "daily report",
        "orders",
        USERS,
    ]
    # Producers are drawn left of what they feed.
    x = {
        key: page.locator(f"#asset-graph g.node[data-k='{key}']").bounding_box()["x"]
        for key in ("dag:make_orders", "dag:use_both", "dag:read_report")
    }
    assert x["dag:make_orders"] < x["dag:use_both"] < x["dag:read_report"]
    # A search keeps the edges of what matches.
    page.fill("#asset-search", "report")
    page.press("#asset-search", "Enter")
    page.wait_for_url(re.compile(r".*/assets/dependencies\?q=report$"))
    assert edges() == {("use_both", REPORT), (REPORT, "read_report")}
    # A node opens its DAG or asset.
    page.locator("#asset-graph g.node[data-k='dag:read_report'] a").click()
    page.wait_for_url(re.compile(r".*/dags/read_report$"))
    # An asset's page draws its own part of the graph, itself marked.
    page.goto(f"{live.base}/assets?q=orders")
    page.locator("#asset-list .asset-name").click()
    page.wait_for_url(re.compile(r".*/assets/\d+$"))
    assert edges() == {("make_orders", ORDERS), (ORDERS, "use_both")}
    assert page.locator("#asset-graph g.node.focus title").text_content() == ORDERS
    written = shots.capture_assets(page, live.base, out=tmp_path)
    assert [p.name for p in written] == ["assets.png", "asset-dependencies.png"]
    assert all(p.stat().st_size > 10_000 for p in written)


@sqlite_only
def test_a_consumer_waits_for_its_assets_and_its_run_shows_what_triggered_it(
    live: Live,
) -> None:
    page = live.page()
    page.goto(f"{live.base}/dags/use_both")
    head = page.locator("#asset-schedule")
    assert page.locator("#asset-condition").inner_text() == "orders & s3://bucket/users"
    assert page.locator("#asset-wait").inner_text() == (
        f"waiting for 2 of 2 assets: {ORDERS}, {USERS}"
    )
    assert page.locator("#asset-updated").count() == 0
    # One of the two is updated by its producer: the consumer waits for the other.
    orders_run = live.produce("make_orders")
    page.reload()
    assert page.locator("#asset-wait").inner_text() == f"waiting for 1 of 2 assets: {USERS}"
    assert page.locator("#asset-updated").inner_text() == f"· updated: {ORDERS}"
    assert "next run" in head.inner_text()
    # The details tab lists each asset of the condition with its state, linked to its page.
    page.click("#asset-condition")
    page.wait_for_url(re.compile(r".*/dags/use_both/details#assets$"))
    leaves = page.locator("#asset-leaves tbody tr")
    assert texts(leaves) == [
        f"{ORDERS} updated 1 event queued, latest "
        + leaves.first.inner_text().rsplit("latest ", 1)[1].strip(),
        f"{USERS} waiting",
    ]
    assert re.fullmatch(r"/assets/\d+", leaves.first.locator("a").get_attribute("href") or "")
    assert texts(page.locator("#asset-outlets tbody tr")) == [f"report {REPORT}"]
    # The other is updated from outside: the condition is met until the scheduler looks.
    live.update_from_outside(USERS, {"source": "upload"})
    page.goto(f"{live.base}/dags/use_both")
    assert page.locator("#asset-wait").inner_text() == "condition met: a run is due"
    assert live.web.system.run_until(lambda: len(live.asset_runs("use_both")) == 1)
    (run_id,) = live.asset_runs("use_both")
    assert live.web.system.wait("use_both", run_id) == "success"
    page.reload()
    assert page.locator("#asset-wait").inner_text() == (
        f"waiting for 2 of 2 assets: {ORDERS}, {USERS}"
    )
    # The run is marked as asset-triggered in the grid; its panel lists the triggering events.
    bar = page.locator(f"#grid thead th[data-r='{run_id}'] .runbar")
    assert "rt-asset_triggered" in (bar.get_attribute("class") or "")
    assert bar.locator(".rt").inner_text() == "◆"
    bar.click()
    page.locator("#run-asset-events").wait_for()
    assert page.locator("#run-type").inner_text() == "asset triggered"
    rows = page.locator("#run-asset-events li")
    assert [rows.nth(i).get_attribute("data-uri") for i in range(rows.count())] == [ORDERS, USERS]
    assert " ".join(rows.first.locator(".event-source").inner_text().split()) == (
        f"make_orders · orders · {orders_run}"
    )
    assert rows.nth(1).locator(".event-source").inner_text() == "from outside"
    rows.first.locator("a").first.click()
    page.wait_for_url(re.compile(r".*/assets/\d+$"))
    assert page.locator("#asset-uri").inner_text() == ORDERS
    # The event shows the run it triggered.
    assert texts(page.locator("#asset-events tbody tr td").nth(3).locator("a")) == ["use_both"]
    # A DAG scheduled otherwise keeps its plain schedule and shows no wait.
    page.goto(f"{live.base}/dags/plain")
    page.locator("#grid").wait_for()
    assert page.locator("#asset-schedule").count() == 0


@sqlite_only
def test_bad_asset_ids_are_pages_not_found(web: Web) -> None:
    for bad in ("abc", "99999999999999999999", "12", "-1", "²"):
        answer = web.get(f"/assets/{bad}", user="viewer")
        assert answer.status_code == 404, bad
        assert "There is no asset with id" in answer.text
    assert web.get("/assets?q=" + "x" * 300, user="viewer").status_code == 400
    assert web.get("/assets?page=0", user="viewer").status_code == 400
    assert web.get("/assets/dependencies?q=nothing", user="viewer").status_code == 200


@every_dialect
def test_the_asset_pages_read_every_database(web: Web) -> None:
    """The pages' queries on each dialect (the browser tests above run on SQLite)."""
    web.system.add_dag("assets", DAGS)
    with web.system.sessions.begin() as session:
        source = asset_store.EventSource("make_orders", "orders", "manual__1", -1)
        asset_store.record(
            session, [AssetUpdate(ORDERS, extra={"rows": 7})], source=source, now=utcnow()
        )
    listed = web.get("/assets?q=BUCKET", user="viewer")
    assert listed.status_code == 200
    assert ORDERS in listed.text
    assert USERS in listed.text
    assert REPORT not in listed.text
    assert "make_orders" in listed.text
    graph = web.get("/assets/dependencies", user="viewer")
    assert graph.status_code == 200
    assert 'data-from="dag:make_orders"' in graph.text
    assert 'data-to="dag:read_report"' in graph.text
    found = re.search(r'href="/assets/(\d+)">orders<', listed.text)
    assert found is not None
    page = web.get(f"/assets/{found.group(1)}", user="viewer")
    assert page.status_code == 200
    assert "1 event queued since" in page.text
    assert "manual__1" in page.text
    head = web.get("/dags/use_both", user="viewer")
    assert f"waiting for 1 of 2 assets: {USERS}" in head.text
    details = web.get("/dags/use_both/details", user="viewer")
    assert details.status_code == 200
    assert "1 event queued, latest" in details.text
    # An update through an alias resolves it: the alias's DAG consumes the asset.
    with web.system.sessions.begin() as session:
        update = AssetUpdate("s3://bucket/export.csv", alias="exports")
        asset_store.record(session, [update], source=source, now=utcnow())
    assert "condition met: a run is due" in web.get("/dags/use_alias", user="viewer").text
    listed = web.get("/assets?q=export.csv", user="viewer")
    assert 'use_alias</a><span class="muted"> · through alias exports' in listed.text
    graph = web.get("/assets/dependencies?q=exports", user="viewer")
    assert 'data-to="alias:exports"' in graph.text
    assert 'data-from="alias:exports" data-to="dag:use_alias"' in graph.text
