"""Testing a connection from the web server: can it be reached as given?

Each known type has its check: a database runs ``SELECT 1`` (sqlite, postgres, mysql), http
makes a request, fs looks for its path, and the types reached over TCP (ssh, ftp, redis, …)
open a connection to their host and port. :func:`test` answers ``(ok, message)``; a message
never holds the connection's password or the secret fields of its extra.
"""

from __future__ import annotations

import socket
import sqlite3
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from tradewind.metastore.store.connections import Connection

TIMEOUT = 10.0

# The types the connection form offers: (conn_type, label), known ones first.
CONN_TYPES: tuple[tuple[str, str], ...] = (
    ("http", "HTTP"),
    ("https", "HTTPS"),
    ("postgres", "Postgres"),
    ("mysql", "MySQL"),
    ("sqlite", "SQLite"),
    ("redis", "Redis"),
    ("aws", "Amazon Web Services"),
    ("google_cloud_platform", "Google Cloud"),
    ("azure", "Azure"),
    ("ssh", "SSH"),
    ("ftp", "FTP"),
    ("sftp", "SFTP"),
    ("smtp", "SMTP"),
    ("email", "Email"),
    ("fs", "File (path)"),
    ("kubernetes", "Kubernetes cluster"),
    ("celery", "Celery broker"),
    ("generic", "Generic"),
)

# The port a type reached over TCP listens on when the connection names none.
TCP_PORTS = {
    "ssh": 22,
    "sftp": 22,
    "ftp": 21,
    "smtp": 25,
    "email": 25,
    "redis": 6379,
    "postgres": 5432,
    "mysql": 3306,
}


def test(conn: Connection) -> tuple[bool, str]:
    """Whether ``conn`` works, and what was found, in words."""
    check = _CHECKS.get(conn.conn_type)
    if check is None and conn.conn_type in TCP_PORTS:
        check = _tcp
    if check is None:
        return False, f"tradewind has no test for connections of type {conn.conn_type!r}"
    try:
        return True, check(conn)
    except Exception as exc:  # any failure is the answer, said in words
        return False, _scrub(f"{type(exc).__name__}: {exc}".strip().rstrip(":"), conn)


def _scrub(message: str, conn: Connection) -> str:
    """The message without the connection's secrets."""
    for secret in sorted(filter(None, conn.secrets()), key=len, reverse=True):
        message = message.replace(secret, "***")
    return message.splitlines()[0] if message else "the test failed"


def _sqlite(conn: Connection) -> str:
    path = conn.host or conn.schema
    if not path:
        raise ValueError("a sqlite connection needs the database file's path as its host")
    if not Path(path).is_file():
        raise FileNotFoundError(f"no database file at {path}")
    db = sqlite3.connect(f"file:{Path(path).resolve()}?mode=ro", uri=True, timeout=TIMEOUT)
    try:
        db.execute("SELECT 1").fetchone()
    finally:
        db.close()
    return f"Connected to {path}: SELECT 1 answered"


def _postgres(conn: Connection) -> str:
    import psycopg

    with psycopg.connect(
        host=conn.host or "localhost",
        port=conn.port or 5432,
        user=conn.login or None,
        password=conn.password or None,
        dbname=conn.schema or None,
        connect_timeout=int(TIMEOUT),
    ) as db:
        db.execute("SELECT 1").fetchone()
    return f"Connected to postgres at {conn.host or 'localhost'}: SELECT 1 answered"


def _mysql(conn: Connection) -> str:
    import pymysql

    db = pymysql.connect(
        host=conn.host or "localhost",
        port=conn.port or 3306,
        user=conn.login or None,
        password=conn.password or "",
        database=conn.schema or None,
        connect_timeout=int(TIMEOUT),
    )
    try:
        with db.cursor() as cursor:
            cursor.execute("SELECT 1")
    finally:
        db.close()
    return f"Connected to mysql at {conn.host or 'localhost'}: SELECT 1 answered"


def _http(conn: Connection) -> str:
    host = conn.host or ""
    if not host:
        raise ValueError("an http connection needs a host")
    url = host if "://" in host else f"{'https' if conn.conn_type == 'https' else 'http'}://{host}"
    if conn.port:
        url += f":{conn.port}"
    if conn.schema:
        url += "/" + conn.schema.lstrip("/")
    request = urllib.request.Request(url, method="GET")
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        raise ConnectionError(f"{url} answered HTTP {exc.code} {exc.reason}") from None
    return f"{url} answered HTTP {status}"


def _fs(conn: Connection) -> str:
    path = conn.extra_dejson.get("path") or conn.host
    if not path:
        raise ValueError('a fs connection needs a path (extra {"path": ...})')
    if not Path(str(path)).exists():
        raise FileNotFoundError(f"no such path: {path}")
    return f"The path {path} exists"


def _tcp(conn: Connection) -> str:
    if not conn.host:
        raise ValueError(f"a {conn.conn_type} connection needs a host")
    port = conn.port or TCP_PORTS[conn.conn_type]
    with socket.create_connection((conn.host, port), timeout=TIMEOUT):
        pass
    return f"Reached {conn.host}:{port} over TCP (credentials not checked)"


_CHECKS: dict[str, Callable[[Connection], str]] = {
    "sqlite": _sqlite,
    "postgres": _postgres,
    "mysql": _mysql,
    "http": _http,
    "https": _http,
    "fs": _fs,
}
