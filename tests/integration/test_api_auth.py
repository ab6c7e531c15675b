"""Who may call the API: tokens, basic auth, sessions with CSRF, roles; health and version."""

from __future__ import annotations

import base64

from scheduling import make_system_fixture, sqlite_only  # noqa: F401
from webtest import Web, make_web_fixture, web_fixture  # noqa: F401

from tradewind.api.deps import CSRF_HEADER, SESSION_COOKIE
from tradewind.api.security import Signer
from tradewind.metastore.models import AuditLog


def basic(username: str, password: str) -> dict[str, str]:
    encoded = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {encoded}"}


def test_health_and_version_need_no_login(web: Web) -> None:
    health = web.client.get("/api/v1/health")
    assert health.status_code == 200
    body = health.json()
    assert body["metadatabase"]["status"] == "healthy"
    # The test's scheduler is started: it heartbeats.
    assert body["scheduler"]["status"] == "healthy"
    assert body["scheduler"]["heartbeat_age_seconds"] is not None
    assert web.client.get("/health").json()["metadatabase"] == body["metadatabase"]
    assert web.client.get("/api/v1/version").json()["version"]


@sqlite_only
def test_token_from_password_then_bearer_calls(web: Web) -> None:
    wrong = web.client.post("/auth/token", json={"username": "viewer", "password": "nope"})
    assert wrong.status_code == 401
    assert wrong.json()["detail"] == "wrong username or password"
    got = web.client.post("/auth/token", json={"username": "viewer", "password": "pw-viewer"})
    assert got.status_code == 200
    token = got.json()["access_token"]
    assert got.json()["token_type"] == "bearer"
    ok = web.client.get("/api/v1/openapi.json", headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code == 200
    with web.system.sessions() as session:
        logins = session.query(AuditLog).filter_by(event="login", owner="viewer").count()
    assert logins == 1


@sqlite_only
def test_bad_credentials_are_401_with_a_challenge(web: Web) -> None:
    for headers in (
        {},
        {"Authorization": "Bearer forged"},
        {"Authorization": f"Bearer {Signer('another key').token('admin', web.stamps('admin')[0])}"},
        basic("admin", "wrong"),
        basic("ghost", "pw-ghost"),
        {"Authorization": "Basic !!!"},
    ):
        answer = web.client.get("/api/v1/version/../health", headers=headers)
        assert answer.status_code == 200  # health stays public
    protected = "/api/v1/dags"
    for headers in (
        {},
        {"Authorization": "Bearer forged"},
        basic("admin", "wrong"),
        {"Authorization": "Basic !!!"},
    ):
        answer = web.client.get(protected, headers=headers)
        assert answer.status_code == 401, headers
        assert "Bearer" in answer.headers["www-authenticate"]
        assert answer.json()["status"] == 401


@sqlite_only
def test_basic_auth_works_and_can_be_switched_off(web: Web) -> None:
    assert web.client.get("/api/v1/dags", headers=basic("viewer", "pw-viewer")).status_code == 200
    closed = web.client_with(basic_auth=False)
    answer = closed.get("/api/v1/dags", headers=basic("viewer", "pw-viewer"))
    assert answer.status_code == 401


@sqlite_only
def test_a_deleted_user_token_stops_working(web: Web) -> None:
    assert web.get("/api/v1/dags", user="viewer").status_code == 200
    with web.system.sessions.begin() as session:
        from tradewind.metastore.store import users as user_store

        user_store.delete_user(session, "viewer")
    assert web.get("/api/v1/dags", user="viewer").status_code == 401


@sqlite_only
def test_session_cookie_needs_the_csrf_header_to_change_things(web: Web) -> None:
    web.client.cookies.set(SESSION_COOKIE, web.session_cookie("user", "the-csrf-token"))
    assert web.client.get("/api/v1/dags").status_code == 200
    refused = web.client.patch("/api/v1/dags/nothing", json={"is_paused": False})
    assert refused.status_code == 403
    assert CSRF_HEADER in refused.json()["detail"]
    passed = web.client.patch(
        "/api/v1/dags/nothing", json={"is_paused": False}, headers={CSRF_HEADER: "the-csrf-token"}
    )
    assert passed.status_code == 404  # past the CSRF check: the DAG does not exist


@sqlite_only
def test_public_role_lets_anonymous_read_only(web: Web) -> None:
    public = web.client_with(public_role="viewer")
    assert public.get("/api/v1/dags").status_code == 200
    refused = public.patch("/api/v1/dags/x", json={"is_paused": True})
    assert refused.status_code == 403


@sqlite_only
def test_openapi_document_lists_auth_and_no_422(web: Web) -> None:
    document = web.client.get("/api/v1/openapi.json").json()
    assert set(document["components"]["securitySchemes"]) == {"bearer", "basic"}
    for operations in document["paths"].values():
        for operation in operations.values():
            assert "422" not in operation["responses"]


@sqlite_only
def test_responses_say_how_long_the_server_took(web: Web) -> None:
    timing = web.get("/api/v1/dags").headers["server-timing"]
    assert timing.startswith("app;dur=")
    assert float(timing.removeprefix("app;dur=")) >= 0
