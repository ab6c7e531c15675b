"""The web server over a whole scheduling system, for API and UI tests.

``web`` is a :class:`Web`: a started :class:`scheduling.System` (metastore, scheduler, local
executor) plus an HTTP client on the web server's app, and one user per role (admin, op, user,
viewer; each user's password is ``pw-<name>``). ``web.as_("viewer")`` gives the headers of that
user's bearer token. Test modules import the fixtures::

    from webtest import Web, web_fixture  # noqa: F401
    from scheduling import make_system_fixture  # noqa: F401
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import pytest
import uvicorn
from fastapi.testclient import TestClient
from scheduling import System

from tradewind import passwords
from tradewind.api.security import Signer
from tradewind.metastore.store import users as user_store
from tradewind.metastore.types import utcnow
from tradewind.ui.app import create_app

ROLES = ("admin", "op", "user", "viewer")
SECRET_KEY = "test-secret-key-for-signing"
FERNET_KEY = "ZmDfcTF7_60GrrY167zsiPd67pEvs0aGOv2oasOM1Pg="


@cache
def password_hash(username: str) -> str:
    return passwords.hash_password(f"pw-{username}")


def add_user(system: System, username: str, role: str) -> None:
    with system.sessions.begin() as session:
        user_store.create_user(
            session,
            username=username,
            password_hash=password_hash(username),
            role=role,
            email=f"{username}@example.com",
            now=utcnow(),
        )


@dataclass
class Web:
    system: System
    client: TestClient
    extra_clients: list[TestClient] = field(default_factory=list)

    def client_with(self, **webserver: Any) -> TestClient:
        """Another client on this system, its web server run with other webserver settings."""
        web = self.system.settings.webserver.model_copy(update=webserver)
        settings = self.system.settings.model_copy(update={"webserver": web})
        client = TestClient(create_app(settings))
        self.extra_clients.append(client)
        return client

    def stamps(self, username: str) -> tuple[str, str]:
        """The user's current (token stamp, session stamp); empty for a user there is not."""
        with self.system.sessions() as session:
            user = user_store.get_user(session, username)
            return (user.token_stamp, user.session_stamp) if user is not None else ("", "")

    def as_(self, username: str) -> dict[str, str]:
        """Headers that authenticate as ``username`` with a bearer token."""
        token = Signer(SECRET_KEY).token(username, self.stamps(username)[0])
        return {"Authorization": f"Bearer {token}"}

    def session_cookie(self, username: str, csrf: str) -> str:
        """A session cookie of ``username`` (as the login form sets it) with CSRF token ``csrf``."""
        return Signer(SECRET_KEY).session(username, csrf, self.stamps(username)[1])

    def get(self, path: str, user: str = "admin", **kwargs: Any) -> Any:
        return self.client.get(path, headers=self.as_(user), **kwargs)

    def post(self, path: str, user: str = "admin", **kwargs: Any) -> Any:
        return self.client.post(path, headers=self.as_(user), **kwargs)

    def patch(self, path: str, user: str = "admin", **kwargs: Any) -> Any:
        return self.client.patch(path, headers=self.as_(user), **kwargs)

    def delete(self, path: str, user: str = "admin", **kwargs: Any) -> Any:
        return self.client.delete(path, headers=self.as_(user), **kwargs)


WEB_SECTIONS: dict[str, dict[str, Any]] = {
    "webserver": {"secret_key": SECRET_KEY},
    "core": {"fernet_key": FERNET_KEY},
}


@pytest.fixture(name="make_web")
def make_web_fixture(make_system: Callable[..., System]) -> Iterator[Callable[..., Web]]:
    """Build a Web with extra settings sections (merged over WEB_SECTIONS)."""
    made: list[Web] = []

    def make(**sections: dict[str, Any]) -> Web:
        merged = {name: dict(values) for name, values in WEB_SECTIONS.items()}
        for name, values in sections.items():
            merged.setdefault(name, {}).update(values)
        system = make_system(**merged)
        for role in ROLES:
            add_user(system, role, role)
        web = Web(system, TestClient(create_app(system.settings)))
        made.append(web)
        return web

    yield make
    for web in made:
        for client in [web.client, *web.extra_clients]:
            client.close()


@pytest.fixture(name="web")
def web_fixture(make_web: Callable[..., Web]) -> Web:
    return make_web()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """``app`` served by a real uvicorn server in a thread; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive(), "the web server stopped"
        assert time.monotonic() < deadline, "the web server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
