"""The UI's pages over HTTP: logging in and out, who sees which page, what each page shows."""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient
from scheduling import make_system_fixture, sqlite_only  # noqa: F401
from webtest import Web, make_web_fixture, web_fixture  # noqa: F401

from tradewind.api.deps import CSRF_HEADER, SESSION_COOKIE
from tradewind.ui.auth import LOGIN_CSRF_COOKIE

DAG = """
with DAG("ui_demo", schedule=None, start_date=datetime(2024, 1, 1), tags=["demo"],
         params={"rows": 3}) as dag:
    with TaskGroup("load") as load:
        PythonOperator(task_id="extract", python_callable=lambda: print("extracting"))
        PythonOperator(task_id="transform", python_callable=lambda: 2)
    EmptyOperator(task_id="done") << load
"""


def login(client: TestClient, username: str, next_path: str = "/dags") -> Any:
    form = client.get(f"/login?next={next_path}")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    return client.post(
        "/login",
        data={
            "username": username,
            "password": f"pw-{username}",
            "csrf_token": token.group(1),
            "next": next_path,
        },
        follow_redirects=False,
    )


def csrf_of(page: str) -> str:
    found = re.search(r'<meta name="csrf-token" content="([^"]*)">', page)
    assert found is not None
    return found.group(1)


@sqlite_only
def test_login_sets_the_session_and_logout_clears_it(web: Web) -> None:
    client = web.client
    first = client.get("/dags", follow_redirects=False)
    assert first.status_code == 303
    assert first.headers["location"] == "/login?next=%2Fdags"
    answer = login(client, "viewer", "/browse/audit-log")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/browse/audit-log"
    cookie = answer.headers["set-cookie"]
    assert SESSION_COOKIE in cookie
    assert "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower()
    assert "Max-Age=43200" in cookie
    page = client.get("/dags")
    assert page.status_code == 200
    token = csrf_of(page.text)
    assert token
    # The page's token works for API writes with the session cookie.
    answer = client.get("/api/v1/dags")
    assert answer.status_code == 200
    out = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303
    assert client.get("/dags", follow_redirects=False).status_code == 303


@sqlite_only
def test_wrong_password_and_forged_login_form(web: Web) -> None:
    client = web.client
    form = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    wrong = client.post(
        "/login", data={"username": "admin", "password": "nope", "csrf_token": token.group(1)}
    )
    assert wrong.status_code == 401
    assert "Wrong username or password" in wrong.text
    assert SESSION_COOKIE not in wrong.cookies
    # Without the double-submit cookie (a cross-site form), the login is refused.
    client.cookies.delete(LOGIN_CSRF_COOKIE, path="/login")
    forged = TestClient(client.app).post(
        "/login", data={"username": "admin", "password": "pw-admin", "csrf_token": "x"}
    )
    assert forged.status_code == 401
    assert "expired" in forged.text


@sqlite_only
def test_logout_needs_the_csrf_token(web: Web) -> None:
    client = web.client
    login(client, "user")
    refused = client.post("/logout", data={"csrf_token": "wrong"}, follow_redirects=False)
    assert refused.status_code == 403
    assert client.get("/dags").status_code == 200


@sqlite_only
def test_next_must_be_local(web: Web) -> None:
    answer = login(web.client, "viewer", "//evil.example.com/")
    assert answer.headers["location"] == "/dags"


@sqlite_only
def test_public_role_browses_without_login(web: Web) -> None:
    client = web.client_with(public_role="viewer")
    page = client.get("/dags")
    assert page.status_code == 200
    assert "Log in" in page.text
    assert client.get("/admin/variables").status_code == 403


@sqlite_only
def test_api_write_with_page_token(web: Web) -> None:
    web.system.add_dag("ui_demo", DAG)
    client = web.client
    login(client, "user")
    token = csrf_of(client.get("/dags").text)
    refused = client.patch("/api/v1/dags/ui_demo", json={"is_paused": False})
    assert refused.status_code == 403
    done = client.patch(
        "/api/v1/dags/ui_demo", json={"is_paused": False}, headers={CSRF_HEADER: token}
    )
    assert done.status_code == 200
    assert done.json()["is_paused"] is False


@pytest.fixture
def demo(web: Web) -> tuple[Web, str]:
    web.system.add_dag("ui_demo", DAG)
    run_id = web.system.trigger("ui_demo")
    assert web.system.wait("ui_demo", run_id) == "success"
    return web, run_id


@sqlite_only
def test_every_page_renders_for_a_viewer(demo: tuple[Web, str]) -> None:
    web, run_id = demo
    client = web.client
    login(client, "viewer")
    pages = [
        "/dags",
        "/dags?q=ui_&status=active&tag=demo",
        "/dags/ui_demo",
        "/dags/ui_demo?runs=100",
        "/dags/ui_demo/graph",
        "/dags/ui_demo/graph?open=load",
        f"/dags/ui_demo/gantt?run={run_id}",
        "/dags/ui_demo/code",
        "/dags/ui_demo/details",
        f"/dags/ui_demo/runs/{run_id}/tasks/load.extract",
        f"/ui/dags/ui_demo/runs/{run_id}/panel",
        "/ui/dags/ui_demo/grid",
        "/browse/audit-log",
        "/browse/import-errors",
    ]
    for path in pages:
        answer = client.get(path)
        assert answer.status_code == 200, (path, answer.text[-2000:])
        assert "<html" in answer.text or path.startswith("/ui/"), path
    grid = client.get("/dags/ui_demo").text
    assert grid.count('class="s-success"') >= 3
    assert "load.extract" in grid
    # A viewer sees no write controls.
    assert 'id="trigger"' not in grid
    assert "Mark success" not in client.get(f"/ui/dags/ui_demo/runs/{run_id}/panel").text
    assert client.get("/dags/ui_demo/trigger").status_code == 403
    for path in ("/admin/variables", "/admin/connections", "/admin/pools", "/admin/users"):
        assert client.get(path).status_code == 403, path
    assert client.get("/dags/nope").status_code == 404


@sqlite_only
def test_pages_for_an_admin(demo: tuple[Web, str]) -> None:
    web, run_id = demo
    client = web.client
    login(client, "admin")
    for path in (
        "/dags/ui_demo/trigger",
        "/admin/variables",
        "/admin/connections",
        "/admin/pools",
        "/admin/users",
    ):
        answer = client.get(path)
        assert answer.status_code == 200, (path, answer.text[-2000:])
    trigger = client.get("/dags/ui_demo/trigger").text
    assert 'data-param="rows"' in trigger
    assert 'data-kind="integer"' in trigger
    panel = client.get(f"/ui/dags/ui_demo/runs/{run_id}/panel").text
    assert "Mark success" in panel


@sqlite_only
def test_logged_out_pages_redirect_to_login(web: Web) -> None:
    for path in ("/", "/dags", "/dags/x", "/dags/x/graph", "/admin/pools", "/browse/audit-log"):
        answer = web.client.get(path, follow_redirects=False)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/login") or path == "/", path


@sqlite_only
def test_live_state_endpoints(demo: tuple[Web, str]) -> None:
    web, run_id = demo
    client = web.client
    login(client, "viewer")
    states = client.get("/ui/dag-states?dag_id=ui_demo&dag_id=missing").json()
    demo_dag = states["dags"]["ui_demo"]
    assert demo_dag["last_run"] == run_id
    assert demo_dag["run_counts"] == {"success": 1}
    assert "s-success" in demo_dag["cells"]["last-run"]
    assert states["dags"]["missing"]["last_run"] is None
    assert states["active"] is False
    grid = client.get("/ui/dags/ui_demo/grid-state", params={"watch": run_id}).json()
    assert [(run["run_id"], run["state"]) for run in grid["runs"]] == [(run_id, "success")]
    assert grid["runs"][0]["mark"].startswith("success|")
    assert grid["tasks"][run_id]["load.extract"] == "success"
    assert grid["tasks"][run_id]["group:load"] == "success"


def test_next_rejects_control_characters() -> None:
    from tradewind.ui.pages import safe_next

    assert safe_next("/dags/x?run=1") == "/dags/x?run=1"
    for bad in ("/\t/evil.example.com", "//evil", "/\\evil", "https://evil", "", "/\n/x"):
        assert safe_next(bad) == "/dags", bad


def test_graph_layout_layers_and_groups() -> None:
    from datetime import datetime

    from tradewind import DAG, TaskGroup
    from tradewind.operators import EmptyOperator
    from tradewind.parsing.serialize import deserialize_dag, serialize_dag
    from tradewind.ui import graph, structure

    with DAG("shape", schedule=None, start_date=datetime(2024, 1, 1)) as dag:
        start = EmptyOperator(task_id="start")
        with TaskGroup("g") as group:
            a = EmptyOperator(task_id="a")
            a >> EmptyOperator(task_id="b")
        end = EmptyOperator(task_id="end")
        start >> group >> end
        start >> end
    shape = structure.build(deserialize_dag(serialize_dag(dag)))
    assert [(r.kind, r.id, r.depth) for r in shape.rows] == [
        ("task", "start", 0),
        ("group", "g", 0),
        ("task", "g.a", 1),
        ("task", "g.b", 1),
        ("task", "end", 0),
    ]
    assert shape.group_states({"g.a": "success", "g.b": "failed"}) == {"g": "failed"}
    assert shape.group_states({"g.a": "success", "g.b": "skipped"}) == {"g": "success"}
    assert shape.group_states({"g.a": "success"}) == {"g": "none"}

    collapsed = graph.layout(shape, expanded=set())
    xs = {node.key: node.x for node in collapsed.nodes}
    assert set(xs) == {"start", "group:g", "end"}
    assert xs["start"] < xs["group:g"] < xs["end"]  # end is on its longest path, not beside g
    assert len(collapsed.edges) == 3
    assert collapsed.boxes == []

    opened = graph.layout(shape, expanded={"g"})
    xs = {node.key: node.x for node in opened.nodes}
    assert xs["start"] < xs["g.a"] < xs["g.b"] < xs["end"]
    assert [box.group_id for box in opened.boxes] == ["g"]
    box = opened.boxes[0]
    for node in opened.nodes:
        inside = box.x < node.x and node.x + graph.NODE_W < box.x + box.w
        assert inside == node.key.startswith("g."), node.key


LABELLED = """
from tradewind.authoring.edges import Label

with DAG("labelled", schedule=None, start_date=datetime(2024, 1, 1)) as dag:
    check = EmptyOperator(task_id="check")
    check >> Label("rows look right") >> EmptyOperator(task_id="publish")
    check >> Label("rows are off") >> EmptyOperator(task_id="alert")
    check >> EmptyOperator(task_id="archive")
"""


@sqlite_only
def test_graph_shows_edge_labels(web: Web) -> None:
    web.system.add_dag("labelled", LABELLED)
    login(web.client, "viewer")
    page = web.client.get("/dags/labelled/graph")
    assert page.status_code == 200
    labels = re.findall(r'<text class="edge-label"[^>]*>([^<]*)</text>', page.text)
    assert sorted(labels) == ["rows are off", "rows look right"]
