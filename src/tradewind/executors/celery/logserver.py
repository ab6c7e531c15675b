"""A Celery worker's log server: the logs of the tries it ran, for the web server.

``tradewind celery worker`` starts one on ``celery.worker_log_server_port`` (0: none), on every
interface (the web server is on another host). It answers only ``GET /log/<path>?offset=N``,
where ``<path>`` is a try's log relative to ``logging.base_log_folder``, and only with a
token signed by ``webserver.secret_key`` naming that path (see
:mod:`tradewind.executors.served_logs`): JSON ``{"content", "offset", "at_end"}`` read as
:func:`tradewind.tasklogs.read_log` reads (at most 1 MiB; ``final=1`` says the try has
ended). A path leading out of the folder or a bad, expired or missing token is a 403; no such
file, a folder, or any other request a 404.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tradewind.executors.served_logs import ROUTE, inside, token_allows
from tradewind.settings import Settings
from tradewind.tasklogs import read_log

log = logging.getLogger(__name__)

ALL_INTERFACES = "0.0.0.0"


class LogServer(ThreadingHTTPServer):
    """Serves the logs under ``folder`` to holders of a token signed with ``secret_key``."""

    daemon_threads = True

    def __init__(self, folder: Path, secret_key: str, host: str, port: int) -> None:
        self.folder = Path(folder)
        self.secret_key = secret_key
        self._thread: threading.Thread | None = None
        super().__init__((host, port), _Handler)

    @property
    def port(self) -> int:
        port: int = self.server_address[1]
        return port

    def start(self) -> LogServer:
        """Serve from a daemon thread."""
        self._thread = threading.Thread(
            target=self.serve_forever, name="tradewind-log-server", daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        if self._thread is not None:
            self.shutdown()
            self._thread.join()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: LogServer
    timeout = 30  # a client that stops sending loses its connection
    server_version = "tradewind-log-server"
    sys_version = ""

    def do_GET(self) -> None:
        self._answer(*self._read())

    def _read(self) -> tuple[int, dict[str, Any]]:
        url = urllib.parse.urlsplit(self.path)
        if not url.path.startswith(ROUTE):
            return 404, {"detail": "not found"}
        relative = urllib.parse.unquote(url.path.removeprefix(ROUTE))
        scheme, _, token = self.headers.get("Authorization", "").partition(" ")
        secret_key = self.server.secret_key
        if scheme.lower() != "bearer" or not token_allows(secret_key, token.strip(), relative):
            return 403, {"detail": "a fresh token for this log is required"}
        path = inside(self.server.folder, relative)
        if path is None:
            return 403, {"detail": "the path leads out of the log folder"}
        query = urllib.parse.parse_qs(url.query)
        try:
            offset = int(query.get("offset", ["0"])[0])
        except ValueError:
            return 400, {"detail": "offset must be a whole number"}
        if not path.is_file():
            return 404, {"detail": "no such log"}
        chunk = read_log(path, offset, final=query.get("final", ["0"])[0] == "1")
        return 200, {"content": chunk.content, "offset": chunk.offset, "at_end": chunk.at_end}

    def _not_found(self) -> None:
        self._answer(404, {"detail": "not found"})

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _not_found

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("log server: %s - %s", self.address_string(), format % args)


def serve_logs(settings: Settings, host: str = ALL_INTERFACES) -> LogServer | None:
    """Start this worker's log server, if ``celery.worker_log_server_port`` asks for one.

    A port taken (another worker on this host serves the same folder) or no secret key is a
    warning: the worker runs its tries all the same.
    """
    port = settings.celery.worker_log_server_port
    if not port:
        return None
    if not settings.webserver.secret_key:
        log.warning(
            "not serving task logs: webserver.secret_key is empty (give workers the web "
            "server's key in tradewind.toml, so it can read their logs)"
        )
        return None
    try:
        server = LogServer(
            settings.logging.base_log_folder, settings.webserver.secret_key, host, port
        )
    except OSError as exc:
        log.warning("not serving task logs on port %d: %s", port, exc)
        return None
    log.info("serving task logs of %s on port %d", settings.logging.base_log_folder, port)
    return server.start()
