"""The web server under load: server time of the big pages and requests per second of the API.

A fresh home and metastore (SQLite or PostgreSQL) seeded by ``web_data`` with 1000 DAGs (a dozen
runs each) and one DAG of 100 runs x 200 tasks; ``tradewind webserver`` runs as its own process
(``--workers N``) on a free port, as a user runs it. Server times come from the ``Server-Timing``
header the app adds (the app's time, without the network); client times are wall clock around
each request from this process. Throughput: ``--clients`` threads, each with a keep-alive
connection and a bearer token, request the DAG list API (a page of 100 DAGs) for ``--seconds``.
The load generator runs on the same machine and takes CPU from the server: the req/s figure is
a floor.

    python bench/web.py --db sqlite [--workers 1] [--clients 8] [--seconds 10] [--repeat 20]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import common
import httpx
import web_data

from tradewind import passwords
from tradewind.metastore import engine as engine_module
from tradewind.metastore import schema
from tradewind.metastore.store import users
from tradewind.settings import DatabaseSettings

COMMAND = Path(sys.executable).with_name("tradewind")
PASSWORD = "bench-admin"

PAGES = (
    ("dag_list_page_ms", "DAG list page, 1001 DAGs (page 1)", "/dags"),
    ("dag_list_api_ms", "DAG list API, 100 of 1001", "/api/v1/dags?limit=100"),
    ("grid_page_ms", "grid page, 100 runs x 200 tasks", "/dags/grid_bench?runs=100"),
    ("grid_state_ms", "grid live state, 100 runs", "/ui/dags/grid_bench/grid-state?runs=100"),
    ("task_instances_api_ms", "task instances API, 200 of a run", ""),
)


def seed(url: str) -> None:
    engine = engine_module.create_engine(DatabaseSettings(url=url))
    try:
        schema.init_db(engine)
        web_data.seed(engine, 1000)
        web_data.seed_grid(engine, 100, 200)
        with engine_module.session_factory(engine).begin() as session:
            users.create_user(
                session,
                username="admin",
                password_hash=passwords.hash_password(PASSWORD),
                role="admin",
                email=None,
                now=datetime.now(UTC),
            )
    finally:
        engine.dispose()


def start_server(home: Path, url: str, port: int, workers: int) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADEWIND")}
    env |= {
        "TRADEWIND_HOME": str(home),
        "TRADEWIND__DATABASE__URL": url,
        "TRADEWIND__CORE__LOAD_EXAMPLES": "false",
        "TRADEWIND__WEBSERVER__PORT": str(port),
        "TRADEWIND__WEBSERVER__WORKERS": str(workers),
    }
    log = (home / "webserver.log").open("wb")
    return subprocess.Popen(
        [str(COMMAND), "webserver"], env=env, stdout=log, stderr=subprocess.STDOUT
    )


def server_ms(answer: httpx.Response) -> float:
    timing = answer.headers.get("server-timing", "")
    return float(timing.split("dur=")[1].split(";")[0].split(",")[0])


def time_page(client: httpx.Client, path: str, repeat: int) -> dict[str, float]:
    client.get(path)  # warm: caches and compiled templates
    server, wall = [], []
    for _ in range(repeat):
        began = time.perf_counter()
        answer = client.get(path)
        wall.append((time.perf_counter() - began) * 1000)
        if answer.status_code != 200:
            raise SystemExit(f"GET {path}: {answer.status_code} {answer.text[:300]}")
        server.append(server_ms(answer))
    return {
        "server_median_ms": statistics.median(server),
        "server_max_ms": max(server),
        "client_median_ms": statistics.median(wall),
    }


def throughput(base: str, token: str, clients: int, seconds: float) -> dict[str, float]:
    """Requests per second of the DAG list API with ``clients`` concurrent connections."""
    done = [0] * clients
    failed = [0] * clients
    stop = threading.Event()

    def hammer(index: int) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            while not stop.is_set():
                answer = client.get("/api/v1/dags?limit=100")
                if answer.status_code == 200:
                    done[index] += 1
                else:
                    failed[index] += 1

    threads = [threading.Thread(target=hammer, args=(i,)) for i in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    time.sleep(seconds)
    stop.set()
    for thread in threads:
        thread.join()
    took = time.perf_counter() - began
    return {"requests_per_s": sum(done) / took, "failed": float(sum(failed))}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args(argv)
    load_before = os.getloadavg()[0]
    home = Path(tempfile.mkdtemp(prefix="tw-web-bench-"))
    port = common.free_port()
    base = f"http://127.0.0.1:{port}"
    results: dict[str, Any] = {}
    with common.fresh_database(args.db, home) as url:
        seed(url)
        server = start_server(home, url, port, args.workers)
        try:
            common.wait_until(
                lambda: common.health_document(f"{base}/api/v1/health") is not None,
                60,
                "the web server to answer",
            )
            token = httpx.post(
                f"{base}/auth/token", json={"username": "admin", "password": PASSWORD}
            ).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
                run_id = client.get("/api/v1/dags/grid_bench/dagRuns?limit=1").json()["dag_runs"][
                    0
                ]["dag_run_id"]
                instances = f"/api/v1/dags/grid_bench/dagRuns/{run_id}/taskInstances?limit=200"
                for name, label, page in PAGES:
                    path = page or instances
                    results[name] = {"what": label, **time_page(client, path, args.repeat)}
            results["dag_list_api_throughput"] = {
                "what": f"GET /api/v1/dags?limit=100, {args.clients} clients, {args.seconds:g} s",
                **throughput(base, token, args.clients, args.seconds),
            }
        finally:
            common.stop_process(server)
    document = {
        "benchmark": "web",
        "db": args.db,
        "workers": args.workers,
        "machine": {**common.machine(), "load_average_1min": [load_before, os.getloadavg()[0]]},
        "results": results,
    }
    for figures in results.values():
        shown = "  ".join(f"{key} {value:.1f}" for key, value in figures.items() if key != "what")
        print(f"{figures['what']:<52} {shown}")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    target = common.RESULTS / f"web-{args.db}-w{args.workers}-{stamp}.json"
    target.parent.mkdir(exist_ok=True)
    target.write_text(json.dumps(document, indent=2) + "\n")
    print(f"written to {target}")


if __name__ == "__main__":
    main()
