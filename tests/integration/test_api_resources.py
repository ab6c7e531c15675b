"""Variables, connections and pools through the REST API (op role or higher)."""

from __future__ import annotations

import json

from scheduling import make_system_fixture, sqlite_only  # noqa: F401
from sqlalchemy import select
from webtest import Web, make_web_fixture, web_fixture  # noqa: F401

from tradewind.metastore.models import AuditLog
from tradewind.metastore.models import Connection as ConnectionRow

API = "/api/v1"


def _events(web: Web) -> list[tuple[str, str | None]]:
    with web.system.sessions() as session:
        rows = session.scalars(select(AuditLog).order_by(AuditLog.id)).all()
        return [(row.event, row.owner) for row in rows]


def test_variables_round_trip(web: Web) -> None:
    """On every dialect: create, read, list masked, edit, delete; each write audited."""
    assert web.get(f"{API}/variables", user="user").status_code == 403
    made = web.post(f"{API}/variables", user="op", json={"key": "region", "value": "eu"})
    assert made.status_code == 200, made.text
    assert made.json() == {
        "key": "region",
        "value": "eu",
        "value_truncated": False,
        "value_size": 2,
        "description": None,
        "is_encrypted": True,
    }
    web.post(f"{API}/variables", json={"key": "api_token", "value": "s3cret", "description": "d"})
    again = web.post(f"{API}/variables", json={"key": "region", "value": "us"})
    assert again.status_code == 409
    listed = web.get(f"{API}/variables", user="op").json()
    assert listed["total_entries"] == 2
    assert {v["key"]: v["value"] for v in listed["variables"]} == {
        "api_token": "***",
        "region": "eu",
    }
    assert web.get(f"{API}/variables/api_token", user="op").json()["value"] == "s3cret"
    edited = web.patch(f"{API}/variables/region", json={"value": '{"a": 1}'})
    assert edited.json()["value"] == '{"a": 1}'
    renamed = web.patch(f"{API}/variables/region", json={"key": "other"})
    assert renamed.status_code == 409
    assert "cannot be renamed" in renamed.json()["detail"]
    assert web.patch(f"{API}/variables/ghost", json={"value": "x"}).status_code == 404
    assert web.delete(f"{API}/variables/region").status_code == 204
    assert web.get(f"{API}/variables/region").status_code == 404
    assert web.delete(f"{API}/variables/region").status_code == 404
    assert web.post(f"{API}/variables", json={"key": "", "value": "x"}).status_code == 400
    events = [e for e, _ in _events(web) if e.startswith("variable.")]
    assert events == ["variable.create", "variable.create", "variable.edit", "variable.delete"]


@sqlite_only
def test_connections_never_show_secrets(web: Web) -> None:
    body = {
        "connection_id": "db",
        "conn_type": "postgres",
        "host": "db.local",
        "login": "me",
        "password": "pw!",
        "port": 5432,
        "extra": json.dumps({"sslmode": "require", "api_key": "k-123"}),
    }
    made = web.post(f"{API}/connections", user="op", json=body)
    assert made.status_code == 200, made.text
    shown = made.json()
    assert "password" not in shown
    assert shown["has_password"] is True
    assert json.loads(shown["extra"]) == {"sslmode": "require", "api_key": "***"}
    assert shown["schema"] is None
    assert web.post(f"{API}/connections", json=body).status_code == 409
    assert "pw!" not in web.get(f"{API}/connections").text
    assert "k-123" not in web.get(f"{API}/connections/db").text

    # What was read can be sent back: the masked field keeps its stored value.
    patched = web.patch(
        f"{API}/connections/db",
        json={"extra": shown["extra"], "host": "db2", "schema": "sales", "password": None},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["host"] == "db2"
    assert patched.json()["schema"] == "sales"
    assert patched.json()["has_password"] is False
    cipher = web.client.app.state.web.cipher  # type: ignore[attr-defined]
    with web.system.sessions() as session:
        row = session.scalars(select(ConnectionRow)).one()
        extra = json.loads(cipher.decrypt(row.extra or "", row.is_extra_encrypted, what="x"))
    assert extra["api_key"] == "k-123"

    bad = web.post(f"{API}/connections", json={**body, "connection_id": "x", "extra": "[1]"})
    assert bad.status_code == 400
    assert "JSON object" in bad.json()["detail"]
    assert web.post(f"{API}/connections", json={**body, "port": 0}).status_code == 400
    assert web.delete(f"{API}/connections/db", user="op").status_code == 204
    assert web.get(f"{API}/connections/db").status_code == 404
    events = [e for e, _ in _events(web) if e.startswith("connection.")]
    assert events == ["connection.create", "connection.edit", "connection.delete"]


@sqlite_only
def test_pools_with_their_usage(web: Web) -> None:
    listed = web.get(f"{API}/pools", user="op").json()
    assert [p["name"] for p in listed["pools"]] == ["default_pool"]
    made = web.post(f"{API}/pools", json={"name": "db", "slots": 2, "description": "the db"})
    assert made.status_code == 200, made.text
    assert made.json() == {
        "name": "db",
        "slots": 2,
        "description": "the db",
        "occupied_slots": 0,
        "running_slots": 0,
        "queued_slots": 0,
        "deferred_slots": 0,
        "open_slots": 2,
        "include_deferred": False,
    }
    assert web.post(f"{API}/pools", json={"name": "db", "slots": 1}).status_code == 409
    counted = web.patch(f"{API}/pools/db", json={"include_deferred": True}).json()
    assert counted["include_deferred"] is True
    assert web.post(f"{API}/pools", json={"name": "x", "slots": -1}).status_code == 400
    assert web.patch(f"{API}/pools/db", json={"slots": 5}).json()["slots"] == 5
    assert web.patch(f"{API}/pools/db", json={"name": "other"}).status_code == 409
    refused = web.delete(f"{API}/pools/default_pool")
    assert refused.status_code == 409
    assert "cannot be deleted" in refused.json()["detail"]
    assert web.delete(f"{API}/pools/db").status_code == 204
    assert web.delete(f"{API}/pools/db").status_code == 404
    assert web.get(f"{API}/pools/db", user="viewer").status_code == 403
    events = [e for e, _ in _events(web) if e.startswith("pool.")]
    assert events == ["pool.create", "pool.edit", "pool.edit", "pool.delete"]


@sqlite_only
def test_secrets_stored_under_another_key_are_a_409_that_says_so(web: Web) -> None:
    from fastapi.testclient import TestClient

    from tradewind.metastore import crypto
    from tradewind.ui.app import create_app

    assert web.post(f"{API}/variables", json={"key": "token", "value": "s3"}).status_code == 200
    settings = web.system.settings
    other = settings.model_copy(
        update={"core": settings.core.model_copy(update={"fernet_key": crypto.generate_key()})}
    )
    with TestClient(create_app(other)) as client:
        answer = client.get(f"{API}/variables/token", headers=web.as_("admin"))
    assert answer.status_code == 409
    assert "core.fernet_key" in answer.json()["detail"]
