"""Credentials end when they should: a new password ends the user's API tokens and sessions, a
user deleted and created again under the same name gets none of the old user's, and logging out
ends the session cookie (even a copy of it). Through the real API, UI and CLI."""

from __future__ import annotations

import re
from collections.abc import Callable

from click.testing import Result
from fastapi.testclient import TestClient
from scheduling import make_system_fixture, sqlite_only  # noqa: F401
from webtest import Web, make_web_fixture, web_fixture  # noqa: F401

from tradewind.api.deps import SESSION_COOKIE


def token_for(web: Web, username: str, password: str) -> dict[str, str]:
    answer = web.client.post("/auth/token", json={"username": username, "password": password})
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def browser_for(web: Web, username: str, password: str) -> TestClient:
    """A client logged in through the UI's login form, like a browser."""
    browser = TestClient(web.client.app, follow_redirects=False)
    form = browser.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    answer = browser.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token.group(1)},
    )
    assert answer.status_code == 303, answer.text
    assert browser.get("/dags").status_code == 200
    return browser


def can_read(web: Web, headers: dict[str, str], path: str = "/api/v1/dags") -> int:
    status: int = web.client.get(path, headers=headers).status_code
    return status


def is_logged_out(browser: TestClient) -> bool:
    page = browser.get("/dags")
    return page.status_code == 303 and page.headers["location"].startswith("/login")


def test_a_user_created_again_gets_none_of_the_old_users_credentials(web: Web) -> None:
    created = web.post(
        "/api/v1/users", json={"username": "bob", "password": "pw-bob", "role": "viewer"}
    )
    assert created.status_code == 200, created.text
    old_token = token_for(web, "bob", "pw-bob")
    old_browser = browser_for(web, "bob", "pw-bob")
    assert can_read(web, old_token) == 200
    assert web.delete("/api/v1/users/bob").status_code == 204
    again = web.post(
        "/api/v1/users", json={"username": "bob", "password": "pw-bob-2", "role": "admin"}
    )
    assert again.status_code == 200, again.text
    # The old viewer's token neither works nor carries the new admin's rights.
    assert can_read(web, old_token) == 401
    assert can_read(web, old_token, "/api/v1/users") == 401
    assert is_logged_out(old_browser)
    assert can_read(web, token_for(web, "bob", "pw-bob-2"), "/api/v1/users") == 200


@sqlite_only
def test_a_new_password_ends_the_users_tokens_and_sessions(web: Web) -> None:
    token = token_for(web, "viewer", "pw-viewer")
    browser = browser_for(web, "viewer", "pw-viewer")
    others = token_for(web, "user", "pw-user")
    changed = web.patch("/api/v1/users/viewer", json={"password": "pw-new"})
    assert changed.status_code == 200, changed.text
    assert can_read(web, token) == 401
    assert is_logged_out(browser)
    assert browser.get("/api/v1/dags").status_code == 401
    # The new password gives working credentials; other users keep theirs.
    assert can_read(web, token_for(web, "viewer", "pw-new")) == 200
    assert is_logged_out(browser_for(web, "viewer", "pw-new")) is False
    assert can_read(web, others) == 200


@sqlite_only
def test_logging_out_ends_the_session_cookie_even_a_copy_of_it(web: Web) -> None:
    browser = browser_for(web, "user", "pw-user")
    token = token_for(web, "user", "pw-user")
    kept = browser.cookies[SESSION_COOKIE]
    csrf = re.search(r'<meta name="csrf-token" content="([^"]+)">', browser.get("/dags").text)
    assert csrf is not None
    out = browser.post("/logout", data={"csrf_token": csrf.group(1)})
    assert out.status_code == 303
    replayed = TestClient(web.client.app, follow_redirects=False)
    replayed.cookies.set(SESSION_COOKIE, kept)
    assert is_logged_out(replayed)
    assert replayed.get("/api/v1/dags").status_code == 401
    # Logging out is about the UI: the user's API tokens stay valid; a new login works.
    assert can_read(web, token) == 200
    assert not is_logged_out(browser_for(web, "user", "pw-user"))


@sqlite_only
def test_resetting_a_password_on_the_cli_ends_the_users_tokens(
    web: Web, tradewind_cli: Callable[..., Result]
) -> None:
    token = token_for(web, "op", "pw-op")
    browser = browser_for(web, "op", "pw-op")
    result = tradewind_cli(web.system.settings, "users", "reset-password", "-u", "op", "-p", "x2")
    assert result.exit_code == 0, result.output
    assert can_read(web, token) == 401
    assert is_logged_out(browser)
    assert can_read(web, token_for(web, "op", "x2")) == 200
