"""Screenshots of the UI's main pages at 1366x768, for docs/screenshots.

``capture(page, base_url, dag_id, run_id, task_id, out)`` takes them with a logged-in
Playwright page (the browser test calls it too). Run as a script, it builds a small system of
its own (SQLite metastore, scheduler, local executor, web server on a free port), runs a demo
DAG once and writes the PNGs::

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots]
"""

from __future__ import annotations

import argparse
import socket
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

VIEWPORT = {"width": 1366, "height": 768}
CHROMIUM = "/usr/bin/chromium"

DEMO_DAG = """
from datetime import datetime
import time
from tradewind import DAG, Param, TaskGroup
from tradewind.operators import BashOperator, EmptyOperator, PythonOperator


def extract(**context):
    print("extracting rows for", context["params"]["region"])
    time.sleep(0.3)
    return 42


with DAG(
    "sales_daily",
    schedule="@daily",
    start_date=datetime(2024, 1, 1),
    catchup=False,
    tags=["sales", "demo"],
    description="Daily sales: extract, transform in a group, publish",
    params={
        "region": Param("eu", enum=["eu", "us", "apac"], description="Where to load from"),
        "limit": Param(1000, type="integer", minimum=1),
        "dry_run": Param(False, type="boolean"),
    },
) as dag:
    start = EmptyOperator(task_id="start")
    pull = PythonOperator(task_id="extract", python_callable=extract)
    with TaskGroup("transform") as transform:
        clean = BashOperator(task_id="clean", bash_command="echo cleaning; sleep 0.2")
        enrich = BashOperator(task_id="enrich", bash_command="echo enriching; sleep 0.4")
        clean >> enrich
        BashOperator(
            task_id="validate", bash_command='echo validating; test "{{ params.region }}" != apac'
        ) << clean
    publish = EmptyOperator(task_id="publish")
    notify = BashOperator(task_id="notify", bash_command="echo done")
    start >> pull >> transform >> publish >> notify
"""

OTHER_DAGS = {
    "inventory_sync.py": """
from datetime import datetime, timedelta
from tradewind import DAG
from tradewind.operators import EmptyOperator

for name, schedule, tags in (
    ("inventory_sync", "0 * * * *", ["inventory"]),
    ("marketing_attribution", "@daily", ["marketing", "ml"]),
    ("warehouse_vacuum", timedelta(hours=6), ["maintenance"]),
    ("weekly_reports", "0 6 * * 1", ["reports"]),
):
    with DAG(name, schedule=schedule, start_date=datetime(2024, 1, 1), catchup=False,
             tags=tags, description=f"{name.replace('_', ' ').capitalize()}") as dag:
        EmptyOperator(task_id="start") >> EmptyOperator(task_id="end")
    globals()[name] = dag
""",
    "broken_feed.py": "from tradewind import DAG\nraise RuntimeError('the feed URL is not set')\n",
    "asset_flow.py": """
from datetime import datetime
from tradewind import DAG, Asset
from tradewind.operators import EmptyOperator

ORDERS = Asset("orders", uri="s3://sales/orders.parquet")
CUSTOMERS = Asset("customers", uri="postgres://crm/public/customers")
REVENUE = Asset("revenue by region", uri="s3://warehouse/revenue.parquet", group="warehouse")
ASSET_DAG = {"start_date": datetime(2024, 1, 1), "is_paused_upon_creation": False}

with DAG("load_orders", schedule=None, start_date=datetime(2024, 1, 1), tags=["assets"]):
    EmptyOperator(task_id="load", outlets=[ORDERS])
with DAG("sync_customers", schedule=None, start_date=datetime(2024, 1, 1), tags=["assets"]):
    EmptyOperator(task_id="sync", outlets=[CUSTOMERS])
with DAG("build_revenue", schedule=[ORDERS, CUSTOMERS], tags=["assets"], **ASSET_DAG):
    EmptyOperator(task_id="aggregate", outlets=[REVENUE])
with DAG("revenue_dashboard", schedule=[REVENUE], tags=["assets"], **ASSET_DAG):
    EmptyOperator(task_id="refresh")
""",
}
# The producers of asset_flow.py that the script runs, so that the asset pages show events.
ASSET_PRODUCERS = ("load_orders",)


def capture(
    page: Any, base: str, dag_id: str, run_id: str, *, task_id: str, out: Path
) -> list[Path]:
    """Screenshots of the main pages; ``page`` is logged in as an admin."""
    out.mkdir(parents=True, exist_ok=True)
    dag = quote(dag_id, safe="")
    run = quote(run_id, safe="")
    shots = [
        ("dag-list", "/dags", None),
        ("grid", f"/dags/{dag}?run={run}", "#run-panel"),
        ("graph", f"/dags/{dag}/graph?run={run}&open=transform", "svg.graph"),
        ("gantt", f"/dags/{dag}/gantt?run={run}", ".gantt"),
        ("task-log", f"/dags/{dag}/runs/{run}/tasks/{quote(task_id, safe='')}", "#log"),
        ("trigger", f"/dags/{dag}/trigger", "#trigger-form"),
        ("code", f"/dags/{dag}/code", "pre.code"),
        ("details", f"/dags/{dag}/details", "main"),
        ("pools", "/admin/pools", "#resource-table tr[data-id]"),
        ("variables", "/admin/variables", "#resource-table"),
        ("connections", "/admin/connections", "#resource-table"),
        ("dag-runs", "/browse/dag-runs", "main table"),
        ("task-instances", "/browse/task-instances", "main table"),
        ("jobs", "/browse/jobs", "main table"),
        ("audit-log", "/browse/audit-log", None),
    ]
    written = []
    for name, path, ready in shots:
        page.goto(base + path)
        if ready:
            page.wait_for_selector(ready)
        if name == "task-log":
            page.wait_for_function(
                "document.getElementById('log-status').textContent.startsWith('End of log')"
            )
        page.wait_for_timeout(300)
        target = out / f"{name}.png"
        page.screenshot(path=str(target))
        written.append(target)
    return written


def capture_assets(page: Any, base: str, *, out: Path) -> list[Path]:
    """Screenshots of the asset list and of the graph of DAGs and assets."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, path, ready in (
        ("assets", "/assets", "#asset-list"),
        ("asset-dependencies", "/assets/dependencies", "#asset-graph"),
    ):
        page.goto(base + path)
        page.wait_for_selector(ready)
        page.wait_for_timeout(300)
        target = out / f"{name}.png"
        page.screenshot(path=str(target))
        written.append(target)
    return written


def seed_admin_pages(session: Any, cipher: Any, variables: Any, connections: Any) -> None:
    """A few variables and connections, so that their pages show what a user keeps there."""
    for key, value, about in (
        ("sales_regions", ["eu", "us", "apac"], "Regions the sales DAG loads"),
        ("warehouse_schema", "analytics", "Schema the loads write to"),
        ("slack_api_token", "xoxb-not-a-real-token", "Masked: its name says secret"),
    ):
        variables.set_variable(session, key, value, cipher, description=about)
    for conn in (
        connections.Connection(
            "warehouse",
            "postgres",
            host="db.internal",
            login="loader",
            password="secret",
            schema="analytics",
            port=5432,
            description="The analytics warehouse",
        ),
        connections.Connection(
            "orders_api", "http", host="https://orders.example.com", description="Orders API"
        ),
    ):
        connections.add_connection(session, conn, cipher)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """``app`` served by uvicorn in a thread; yields its base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the web server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@contextmanager
def scheduling(run_until: Callable[..., None]) -> Iterator[None]:
    """A scheduler's ``run_until`` looping in a thread until the block ends."""
    stop = threading.Event()
    thread = threading.Thread(
        target=lambda: run_until(stop.is_set, timeout=3600), name="scheduler", daemon=True
    )
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(30)


def wait_for(check: Callable[[], bool], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("gave up waiting")
        time.sleep(0.1)


def write_dags(folder: Path) -> None:
    folder.mkdir()
    (folder / "sales_daily.py").write_text(textwrap.dedent(DEMO_DAG))
    for name, source in OTHER_DAGS.items():
        (folder / name).write_text(source)


def start_demo_runs(session: Any) -> list[tuple[str, str]]:
    """Unpause and trigger the demo's runs: sales_daily three times, the asset producers once;
    their (dag_id, run_id), sales_daily's first."""
    from tradewind.metastore.store import dags as dag_store
    from tradewind.scheduler.trigger import trigger_dag

    runs = [("sales_daily", {"region": r}) for r in ("apac", "eu", "us")]
    runs += [(dag_id, None) for dag_id in ASSET_PRODUCERS]
    for dag_id in {dag_id for dag_id, _ in runs}:
        dag_store.set_paused(session, dag_id, False)
    return [
        (dag_id, trigger_dag(session, dag_id, now=datetime.now(UTC), conf=conf).run_id)
        for dag_id, conf in runs
    ]


def main(argv: list[str] | None = None) -> None:
    from playwright.sync_api import sync_playwright

    from tradewind import passwords
    from tradewind.executors import create_executor
    from tradewind.metastore import crypto, schema
    from tradewind.metastore import engine as engine_module
    from tradewind.metastore.store import connections, users, variables
    from tradewind.metastore.store import runs as run_store
    from tradewind.parsing.processor import DagProcessor
    from tradewind.scheduler.loop import Scheduler
    from tradewind.settings import load_settings
    from tradewind.ui.app import create_app

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("docs/screenshots"))
    args = parser.parse_args(argv)
    home = Path(tempfile.mkdtemp(prefix="tw-screens-"))
    write_dags(home / "dags")
    settings = load_settings(
        environ={},
        home=home,
        overrides={
            "core": {"dags_folder": str(home / "dags"), "load_examples": False},
            "webserver": {"secret_key": "screenshots"},
            "scheduler": {"run_dag_processor": False},
        },
    )
    engine = engine_module.create_engine(settings.database)
    schema.init_db(engine)
    sessions = engine_module.session_factory(engine)
    DagProcessor(settings, sessions).scan()
    with sessions.begin() as session:
        users.create_user(
            session,
            username="admin",
            password_hash=passwords.hash_password("admin"),
            role="admin",
            email="admin@example.com",
            now=datetime.now(UTC),
        )
        started = start_demo_runs(session)
        seed_admin_pages(session, crypto.Cipher(settings.core.fernet_key), variables, connections)
    scheduler = Scheduler(settings, sessions, create_executor(settings))
    scheduler.start()

    def finished() -> bool:
        with sessions() as session:
            found = [run_store.get_run(session, dag_id, r) for dag_id, r in started]
            return all(run is not None and run.state in ("success", "failed") for run in found)

    try:
        with scheduling(scheduler.run_until), serving(create_app(settings)) as base:
            wait_for(finished)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
                page = browser.new_page(viewport=VIEWPORT)
                page.goto(base + "/login")
                page.fill("input[name=username]", "admin")
                page.fill("input[name=password]", "admin")
                page.click("button[type=submit]")
                page.wait_for_url("**/dags")
                for path in capture(
                    page, base, "sales_daily", started[2][1], task_id="extract", out=args.out
                ):
                    print(path)
                for path in capture_assets(page, base, out=args.out):
                    print(path)
                browser.close()
    finally:
        scheduler.stop()
        engine.dispose()


if __name__ == "__main__":
    main()
