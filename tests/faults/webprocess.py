"""A real ``tradewind webserver`` process for fault tests, on a free port, asked over HTTP as
the ``admin`` user of :mod:`webtest` (basic auth)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from scheduling import System, poll, stop
from throwaway import free_port
from webtest import WEB_SECTIONS, add_user

from tradewind.settings import Settings, child_environ

ADMIN = ("admin", "pw-admin")


def web_sections() -> dict[str, dict[str, Any]]:
    """Settings sections for a web server of its own: a free port, the tests' keys."""
    web = {**WEB_SECTIONS["webserver"], "port": free_port()}
    return {"webserver": web, "core": dict(WEB_SECTIONS["core"])}


def add_admin(system: System) -> None:
    add_user(system, "admin", "admin")


@dataclass
class WebProcess:
    process: subprocess.Popen[bytes]
    base: str
    log: Path

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        kwargs.setdefault("timeout", 30)
        return httpx.request(method, self.base + path, auth=ADMIN, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def answers(self, path: str, status: int) -> Callable[[], bool]:
        """A condition: ``GET path`` answers ``status``."""

        def check() -> bool:
            with suppress(httpx.HTTPError):
                return self.get(path).status_code == status
            return False

        return check


@contextmanager
def webserver_process(settings: Settings, log: Path) -> Iterator[WebProcess]:
    """``tradewind webserver`` with exactly ``settings``, answering; stopped on the way out."""
    web = settings.webserver
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "tradewind", "webserver"],
            env=child_environ(settings),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    found = WebProcess(process, f"http://{web.host}:{web.port}", log)
    try:
        assert poll(lambda: process.poll() is not None or found.answers("/health", 200)())
        assert process.poll() is None, log.read_text()
        yield found
    finally:
        stop(process)
