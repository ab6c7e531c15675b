"""Password guessing is throttled, over a real web server: failed logins (basic auth,
``POST /auth/token``, the login form) are counted per user name and per client address, in the
metastore so that every web server process shares the count; past the limit a login is refused
with 429 and Retry-After even with the right password. Every failed login is in the audit log,
and an unknown user name costs the same password check as a known one."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from scheduling import make_system_fixture, sqlite_only, stop  # noqa: F401
from webtest import Web, free_port, make_web_fixture, serving, web_fixture  # noqa: F401

from tradewind import passwords
from tradewind.metastore.store import users as user_store
from tradewind.ui.app import create_app

# A small limit per user; per address as high as the test's other attempts need, or small.
PER_USER = {"login_max_failures": 3, "login_max_failures_per_address": 1000}
PER_ADDRESS = {"login_max_failures": 1000, "login_max_failures_per_address": 3}

Door = Callable[[httpx.Client, str, str], httpx.Response]


def by_basic(client: httpx.Client, username: str, password: str) -> httpx.Response:
    return client.get("/api/v1/dags", auth=(username, password))


def by_token(client: httpx.Client, username: str, password: str) -> httpx.Response:
    return client.post("/auth/token", json={"username": username, "password": password})


def by_form(client: httpx.Client, username: str, password: str) -> httpx.Response:
    form = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token is not None
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token.group(1)},
    )


DOORS: dict[str, Door] = {"basic": by_basic, "token": by_token, "form": by_form}


def logged_in(answer: httpx.Response) -> bool:
    """Whether a login through any door succeeded (the form answers 303 to the next page)."""
    return answer.status_code in (200, 303)


@contextmanager
def from_address(base: str, address: str) -> Iterator[httpx.Client]:
    """A client whose requests come from ``address`` (any of 127.0.0.0/8 reaches the server)."""
    transport = httpx.HTTPTransport(local_address=address)
    with httpx.Client(base_url=base, transport=transport, follow_redirects=False) as client:
        yield client


@contextmanager
def served(web: Web, **webserver: Any) -> Iterator[str]:
    settings = web.system.settings
    changed = settings.webserver.model_copy(update=webserver)
    with serving(create_app(settings.model_copy(update={"webserver": changed}))) as base:
        yield base


def failed_logins(web: Web) -> list[dict[str, Any]]:
    answer = web.get("/api/v1/eventLogs", params={"event": "login.failed", "limit": 1000})
    assert answer.status_code == 200
    return list(reversed(answer.json()["event_logs"]))


def test_a_user_name_is_locked_after_its_failures_from_any_address_and_door(web: Web) -> None:
    with served(web, **PER_USER) as base:
        # Three wrong passwords for "user", each from another address and through another door.
        for door, address in zip(DOORS, ("127.0.0.2", "127.0.0.3", "127.0.0.4"), strict=True):
            with from_address(base, address) as client:
                assert DOORS[door](client, "user", "wrong").status_code == 401
        # The fourth attempt is refused, even with the right password, through every door.
        with from_address(base, "127.0.0.5") as client:
            for door in DOORS.values():
                refused = door(client, "user", "pw-user")
                assert refused.status_code == 429, refused.text
                assert 0 < int(refused.headers["retry-after"]) <= 60
            # The lockout is the user's: another user logs in from the same address.
            assert logged_in(by_basic(client, "viewer", "pw-viewer"))
    attempts = [
        (e["owner"], e["extra"]["via"], e["extra"]["address"], e["extra"]["reason"])
        for e in failed_logins(web)
    ]
    assert attempts == [
        ("user", "basic", "127.0.0.2", "wrong username or password"),
        ("user", "token", "127.0.0.3", "wrong username or password"),
        ("user", "form", "127.0.0.4", "wrong username or password"),
        ("user", "basic", "127.0.0.5", "locked out"),
        ("user", "token", "127.0.0.5", "locked out"),
        ("user", "form", "127.0.0.5", "locked out"),
    ]
    # The audit log never holds a password.
    assert "pw-user" not in web.get("/api/v1/eventLogs", params={"limit": 1000}).text


def test_an_address_is_locked_after_failures_for_any_user_names(web: Web) -> None:
    with served(web, **PER_ADDRESS) as base:
        with from_address(base, "127.0.0.2") as guesser:
            for username in ("admin", "op", "nobody"):
                assert by_token(guesser, username, "guess").status_code == 401
            refused = by_basic(guesser, "viewer", "pw-viewer")
            assert refused.status_code == 429
            assert int(refused.headers["retry-after"]) > 0
            assert by_form(guesser, "viewer", "pw-viewer").status_code == 429
        # The same user from another address is not held up.
        with from_address(base, "127.0.0.3") as client:
            assert logged_in(by_basic(client, "viewer", "pw-viewer"))
    assert [(e["owner"], e["extra"]["reason"]) for e in failed_logins(web)] == [
        ("admin", "wrong username or password"),
        ("op", "wrong username or password"),
        ("nobody", "wrong username or password"),
        ("viewer", "locked out"),
        ("viewer", "locked out"),
    ]


@sqlite_only
def test_a_success_ends_the_users_count(web: Web) -> None:
    with served(web, **PER_USER) as base, from_address(base, "127.0.0.2") as client:
        for _ in range(3):
            assert by_token(client, "op", "wrong").status_code == 401
            assert by_token(client, "op", "wrong").status_code == 401
            assert logged_in(by_token(client, "op", "pw-op"))
        # Without a success in between, the third failure locks.
        for _ in range(3):
            assert by_token(client, "op", "wrong").status_code == 401
        assert by_token(client, "op", "pw-op").status_code == 429


@sqlite_only
def test_a_lockout_ends(make_web: Callable[..., Web]) -> None:
    web = make_web(webserver={"login_max_failures": 2, "login_lockout_seconds": 1})
    with served(web) as base, from_address(base, "127.0.0.2") as client:
        for _ in range(2):
            assert by_basic(client, "user", "wrong").status_code == 401
        assert by_basic(client, "user", "pw-user").status_code == 429
        deadline = time.monotonic() + 30
        while not logged_in(by_basic(client, "user", "pw-user")):
            assert time.monotonic() < deadline, "the lockout did not end"
            time.sleep(0.1)


@sqlite_only
def test_an_unknown_user_costs_the_same_password_check(
    web: Web, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked: list[str] = []
    verify = passwords.verify_password

    def counting(password: str, stored: str) -> bool:
        checked.append(stored)
        return verify(password, stored)

    monkeypatch.setattr(passwords, "verify_password", counting)
    with web.system.sessions() as session:
        user = user_store.get_user(session, "viewer")
        assert user is not None
        real_hash = user.password_hash
    with served(web) as base, from_address(base, "127.0.0.2") as client:
        for door in DOORS.values():
            checked.clear()
            assert door(client, "viewer", "wrong").status_code == 401
            assert checked == [real_hash]
            checked.clear()
            assert door(client, "no-such-user", "wrong").status_code == 401
            assert len(checked) == 1  # a password check, as for a known user
            assert checked == [passwords.dummy_hash()]
    # The dummy hash is made as a real one is: the same scheme, cost and lengths.
    scheme, n, r, p, salt, digest = passwords.dummy_hash().split("$")
    assert (scheme, n, r, p) == tuple(real_hash.split("$")[:4])
    assert (len(salt), len(digest)) == tuple(len(part) for part in real_hash.split("$")[4:])


@contextmanager
def webserver_process(web: Web, workers: int, **webserver: Any) -> Iterator[str]:
    """``tradewind webserver -w WORKERS`` on this system's settings, until the block ends."""
    settings = web.system.settings
    port = free_port()
    changed = settings.webserver.model_copy(update={"port": port, **webserver})
    env = {**os.environ, **settings.model_copy(update={"webserver": changed}).to_env()}
    process = subprocess.Popen(
        [sys.executable, "-m", "tradewind", "webserver", "-w", str(workers)],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.stderr.read() if process.stderr else ""
            assert time.monotonic() < deadline, "the web server did not answer"
            try:
                if httpx.get(f"{base}/health").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield base
    finally:
        stop(process)


@sqlite_only
def test_the_count_is_shared_by_the_web_servers_worker_processes(web: Web) -> None:
    with webserver_process(web, 2, **PER_USER) as base:
        # Each attempt on a new connection, so that the kernel hands them to either worker.
        for _ in range(3):
            with from_address(base, "127.0.0.2") as client:
                answer = by_token(client, "user", "wrong")
                assert answer.status_code == 401
        for _ in range(6):
            with from_address(base, "127.0.0.2") as client:
                answer = by_token(client, "user", "pw-user")
                assert answer.status_code == 429, answer.text
    assert len(failed_logins(web)) == 9
