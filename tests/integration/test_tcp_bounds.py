"""``database.tcp_timeout`` on the connections themselves: the keepalive times and the user
timeout that the driver's socket carries (read back from the socket), on PostgreSQL and
MariaDB. What they do in a network cut is shown by tests/faults/test_network_cut.py."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from tradewind.executors.celery.app import make_app
from tradewind.metastore import engine as engine_module
from tradewind.metastore import tcp
from tradewind.settings import DatabaseSettings, load_settings

SERVERS = pytest.mark.parametrize(
    "db_dialect",
    [
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("mysql", marks=pytest.mark.mysql),
    ],
)
OPTIONS = {
    "idle": (socket.IPPROTO_TCP, socket.TCP_KEEPIDLE),
    "interval": (socket.IPPROTO_TCP, socket.TCP_KEEPINTVL),
    "count": (socket.IPPROTO_TCP, socket.TCP_KEEPCNT),
    "user_timeout_ms": (socket.IPPROTO_TCP, socket.TCP_USER_TIMEOUT),
    "keepalive": (socket.SOL_SOCKET, socket.SO_KEEPALIVE),
}


def _options(raw: Any) -> dict[str, int]:
    """The options of a driver connection's socket."""
    if hasattr(raw, "pgconn"):  # psycopg: libpq's socket, by its descriptor
        sock = socket.socket(fileno=os.dup(raw.pgconn.socket))
    else:  # PyMySQL
        sock = raw._sock.dup()
    with sock:
        return {name: sock.getsockopt(*where) for name, where in OPTIONS.items()}


@contextmanager
def _engine(url: str, **database: Any) -> Iterator[Engine]:
    engine = engine_module.create_engine(DatabaseSettings(url=url, **database))
    try:
        yield engine
    finally:
        engine.dispose()


def _of(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        return _options(connection.connection.dbapi_connection)


@SERVERS
def test_connections_break_after_tcp_timeout_of_silence(db_url: str) -> None:
    with _engine(db_url, tcp_timeout=45) as engine:
        found = _of(engine)
    idle, interval, count = tcp.keepalive_times(45)
    assert found == {
        "idle": idle,
        "interval": interval,
        "count": count,
        "user_timeout_ms": 45_000,
        "keepalive": 1,
    }
    # Probes start after half the time and the last one is sent within it.
    assert idle + interval * count <= 45
    assert idle >= 45 // 2


@SERVERS
def test_a_tcp_timeout_of_0_keeps_the_operating_systems_defaults(db_url: str) -> None:
    with _engine(db_url, tcp_timeout=0) as engine:
        found = _of(engine)
    idle = int(Path("/proc/sys/net/ipv4/tcp_keepalive_time").read_text())
    assert found["idle"] == idle
    assert found["user_timeout_ms"] == 0


@pytest.mark.parametrize("db_dialect", [pytest.param("postgres", marks=pytest.mark.postgres)])
def test_a_parameter_in_the_url_wins(db_url: str) -> None:
    with _engine(db_url + "?keepalives_idle=77", tcp_timeout=45) as engine:
        found = _of(engine)
    assert found["idle"] == 77
    assert found["user_timeout_ms"] == 45_000


@pytest.mark.parametrize("db_dialect", [pytest.param("postgres", marks=pytest.mark.postgres)])
def test_the_celery_result_backend_on_the_metastore_is_bounded_too(
    db_url: str, tmp_path: Path
) -> None:
    settings = load_settings(
        environ={},
        home=tmp_path,
        overrides={
            "core": {"dags_folder": str(tmp_path), "executor": "celery"},
            "database": {"url": db_url, "tcp_timeout": 45},
            "celery": {"broker_url": "memory://", "result_backend": ""},
        },
    )
    session = make_app(settings).backend.ResultSession()
    try:
        found = _options(session.connection().connection.dbapi_connection)
    finally:
        session.close()
    assert found["user_timeout_ms"] == 45_000
    assert found["idle"] == tcp.keepalive_times(45)[0]
