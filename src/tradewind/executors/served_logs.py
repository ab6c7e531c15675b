"""Logs served by the host that wrote them: what the worker's log server and the web server share.

A Celery worker serves the logs of the tries it ran
(:mod:`tradewind.executors.celery.logserver`); the web server fetches a try's log from the
worker that ran it when the file is not in its own ``logging.base_log_folder``
(:class:`WorkerLogSource`, the celery executor's log source). Each request
names the log by its path relative to the log folder and carries a token that is signed with
``webserver.secret_key`` (which workers share through tradewind.toml), names that same path
and lives :data:`TOKEN_MAX_AGE` seconds. This module needs no Celery: the web server imports it.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path, PurePosixPath

from itsdangerous import BadSignature, URLSafeTimedSerializer

from tradewind.tasklogs import HostOf, LogChunk, LogSource, LogUnavailable, log_path, read_log
from tradewind.workloads import TaskKey

TOKEN_SALT = "tradewind.worker-log"
TOKEN_MAX_AGE = 60  # seconds
ROUTE = "/log/"
FETCH_TIMEOUT = 5.0  # seconds


class WorkerLogError(Exception):
    """The worker's log server could not give the log; the message says why, for people."""


def relative_log_path(key: TaskKey) -> str:
    """The log of a try, relative to ``logging.base_log_folder`` (the same on every host)."""
    return log_path(Path(), key).as_posix()


def make_token(secret_key: str, relative: str) -> str:
    return URLSafeTimedSerializer(secret_key, salt=TOKEN_SALT).dumps(relative)


def token_allows(secret_key: str, token: str, relative: str, max_age: int = TOKEN_MAX_AGE) -> bool:
    """Whether ``token`` is ours, fresh, and names ``relative``."""
    try:
        named = URLSafeTimedSerializer(secret_key, salt=TOKEN_SALT).loads(token, max_age=max_age)
    except BadSignature:  # also an expired signature
        return False
    return isinstance(named, str) and named == relative


def inside(folder: Path, relative: str) -> Path | None:
    """``relative`` under ``folder``, or None when it would lead out of it (``..``, an
    absolute path, a symbolic link pointing elsewhere)."""
    pure = PurePosixPath(relative)
    if not relative or "\x00" in relative or pure.is_absolute() or ".." in pure.parts:
        return None
    root = folder.resolve()
    path = (root / pure).resolve()
    return path if path.is_relative_to(root) and path != root else None


def server_url(hostname: str, port: int) -> str:
    return f"http://{hostname}:{port}"


def fetch_log(
    hostname: str,
    port: int,
    secret_key: str,
    relative: str,
    offset: int,
    *,
    final: bool,
    timeout: float = FETCH_TIMEOUT,
) -> LogChunk:
    """The log chunk at ``offset`` from a worker's log server, as :func:`read_log` reads it.

    No such file on the worker is an empty chunk at its end (as a missing local file is).
    Raises WorkerLogError when the worker does not answer or refuses.
    """
    base_url = server_url(hostname, port)
    query = urllib.parse.urlencode({"offset": offset, "final": int(final)})
    url = f"{base_url}{ROUTE}{urllib.parse.quote(relative)}?{query}"
    request = urllib.request.Request(
        url, headers={"Authorization": f"Bearer {make_token(secret_key, relative)}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = json.loads(response.read())
        return LogChunk(str(body["content"]), int(body["offset"]), bool(body["at_end"]))
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return LogChunk("", offset, True)
        reason = (
            "refuses the request (do the web server and the worker share webserver.secret_key?)"
            if exc.code == 403
            else f"answered HTTP {exc.code}"
        )
        raise WorkerLogError(
            f"the log is on worker {hostname}, which {reason} ({base_url})"
        ) from exc
    except (OSError, ValueError, KeyError, TypeError) as exc:  # URLError, timeouts, bad JSON
        raise WorkerLogError(
            f"the log is on worker {hostname}, which does not answer ({base_url}: {_why(exc)})"
        ) from exc


def _why(exc: BaseException) -> str:
    if isinstance(exc, urllib.error.URLError) and not isinstance(exc, urllib.error.HTTPError):
        return str(exc.reason)
    return str(exc) or type(exc).__name__


class WorkerLogSource(LogSource):
    """The log file under ``folder`` when it is here; otherwise the log server of the worker
    that ran the try (on ``port``; none when 0), asked with a token signed by ``secret_key``."""

    def __init__(self, folder: Path, port: int, secret_key: str) -> None:
        super().__init__(folder)
        self.port = port
        self.secret_key = secret_key

    def read(self, key: TaskKey, offset: int, *, finished: bool, host: HostOf) -> LogChunk:
        path = self.path(key)
        hostname = host() if self.port and not path.exists() else None
        if not hostname:
            return read_log(path, offset, final=finished)
        try:
            return fetch_log(
                hostname,
                self.port,
                self.secret_key,
                relative_log_path(key),
                offset,
                final=finished,
            )
        except WorkerLogError as exc:
            raise LogUnavailable(str(exc)) from None
