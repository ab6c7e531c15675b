"""Users through the REST API: admin only, passwords in but never out, no self-lockout."""

from __future__ import annotations

from scheduling import make_system_fixture, sqlite_only  # noqa: F401
from webtest import Web, make_web_fixture, web_fixture  # noqa: F401

API = "/api/v1"


def _token(web: Web, username: str, password: str) -> int:
    answer = web.client.post("/auth/token", json={"username": username, "password": password})
    return int(answer.status_code)


@sqlite_only
def test_users_are_managed_by_admins(web: Web) -> None:
    assert web.get(f"{API}/users", user="op").status_code == 403
    listed = web.get(f"{API}/users").json()
    assert [u["username"] for u in listed["users"]] == ["admin", "op", "user", "viewer"]
    assert all("password" not in str(u) for u in listed["users"])

    body = {"username": "ann", "password": "pw-ann-1", "role": "viewer", "email": "a@x.org"}
    made = web.post(f"{API}/users", json=body)
    assert made.status_code == 200, made.text
    assert made.json()["role"] == "viewer"
    assert "password" not in made.json()
    assert _token(web, "ann", "pw-ann-1") == 200
    assert web.post(f"{API}/users", json=body).status_code == 409
    unknown = web.post(f"{API}/users", json={**body, "username": "bob", "role": "root"})
    assert unknown.status_code == 400
    assert "'admin', 'op', 'user' or 'viewer'" in unknown.json()["detail"]

    patched = web.patch(
        f"{API}/users/ann", json={"role": "op", "password": "pw-ann-2", "email": None}
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["role"] == "op"
    assert patched.json()["email"] is None
    assert _token(web, "ann", "pw-ann-1") == 401
    assert _token(web, "ann", "pw-ann-2") == 200
    assert web.patch(f"{API}/users/ann", json={"active": False}).json()["active"] is False
    assert _token(web, "ann", "pw-ann-2") == 401
    assert web.patch(f"{API}/users/ghost", json={"role": "op"}).status_code == 404

    for change in ({"role": "op"}, {"active": False}):
        refused = web.patch(f"{API}/users/admin", json=change)
        assert refused.status_code == 409, change
        assert "your own account" in refused.json()["detail"]
    assert web.delete(f"{API}/users/admin").status_code == 409
    assert web.delete(f"{API}/users/ann").status_code == 204
    assert web.get(f"{API}/users/ann").status_code == 404
    assert web.delete(f"{API}/users/ann").status_code == 404

    events = web.get(f"{API}/eventLogs", params={"owner": "admin"}).json()["event_logs"]
    assert [e["event"] for e in events if e["event"].startswith("user.")] == [
        "user.delete",
        "user.edit",
        "user.edit",
        "user.create",
    ]
