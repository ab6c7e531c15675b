"""Connections to a database server that notice, in bounded time, that it stopped answering.

A restarted server refuses or resets connections, and the drivers say so at once. A network
cut says nothing: packets are dropped, no reset comes back. Left to the kernel's defaults, a
statement sent during a cut waits until TCP gives up retransmitting it (about 15 minutes on
Linux), and a connection that waits for an answer waits forever; after the cut, what got
through waits for TCP's next retransmission, seconds to minutes later. With
``database.tcp_timeout`` = T seconds (0 keeps the operating system's defaults):

- data sent and not acknowledged for T seconds breaks the connection (``TCP_USER_TIMEOUT``);
- a connection that hears nothing (idle in the pool, or waiting for the answer to a long
  statement) sends TCP keepalive probes after T/2 seconds, and breaks when T seconds pass
  without an answer. The server's kernel answers probes while the server works, so a long
  statement is never cut: only silence is.

A broken connection fails with the driver's OperationalError, an outage that every process
rides out (:mod:`tradewind.metastore.outage`) by connecting again; connecting is bounded by
``database.connect_timeout``, handshake included, also when the server's address drops the
SYN. PostgreSQL (libpq) takes all this as connection parameters; for PyMySQL the options are
set on its socket before the handshake. A parameter given in the database URL wins.

:func:`bound` installs it on an engine, also on engines that others make (Celery's).
"""

from __future__ import annotations

import functools
import socket
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

from tradewind.settings import DatabaseSettings

# Keepalive probes sent before a silent connection breaks (when TCP_USER_TIMEOUT is not
# there to break it first).
PROBES = 3


def keepalive_times(timeout: int) -> tuple[int, int, int]:
    """(idle, interval, count): probes start after ``idle`` seconds of silence and are sent
    every ``interval`` seconds, so that a silent peer is given up after about ``timeout``."""
    interval = max(1, timeout // (2 * PROBES))
    idle = max(1, timeout - PROBES * interval)
    return idle, interval, PROBES


def libpq_params(timeout: int) -> dict[str, int]:
    """libpq's connection parameters for ``tcp_timeout`` (none for 0)."""
    if timeout <= 0:
        return {}
    idle, interval, count = keepalive_times(timeout)
    return {
        "keepalives": 1,
        "keepalives_idle": idle,
        "keepalives_interval": interval,
        "keepalives_count": count,
        "tcp_user_timeout": timeout * 1000,
    }


def bound_socket(sock: socket.socket, timeout: int) -> None:
    """Keepalives and a user timeout on a connected TCP socket, where the OS has them."""
    idle, interval, count = keepalive_times(timeout)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    for name, value in (
        ("TCP_KEEPIDLE", idle),
        ("TCP_KEEPINTVL", interval),
        ("TCP_KEEPCNT", count),
        ("TCP_USER_TIMEOUT", timeout * 1000),
    ):
        option = getattr(socket, name, None)
        if option is not None:
            sock.setsockopt(socket.IPPROTO_TCP, option, value)


def bound(engine: Engine, settings: DatabaseSettings) -> None:
    """Every connection ``engine`` makes from now on is bounded by ``settings.connect_timeout``
    while connecting and by ``settings.tcp_timeout`` once connected (see the module)."""
    dialect = engine.dialect
    if dialect.name == "postgresql":
        params: dict[str, Any] = {
            "connect_timeout": settings.connect_timeout,
            **libpq_params(settings.tcp_timeout),
        }
        event.listen(engine, "do_connect", functools.partial(_libpq_connect, params=params))
    elif dialect.name in ("mysql", "mariadb") and dialect.driver == "pymysql":
        listener = functools.partial(
            _pymysql_connect, connect_timeout=settings.connect_timeout, timeout=settings.tcp_timeout
        )
        event.listen(engine, "do_connect", listener)


def _libpq_connect(
    dialect: Any, record: Any, cargs: Any, cparams: dict[str, Any], *, params: dict[str, Any]
) -> None:
    for name, value in params.items():
        cparams.setdefault(name, value)
    # None: the dialect connects, with these parameters


def _pymysql_connect(
    dialect: Any,
    record: Any,
    cargs: Any,
    cparams: dict[str, Any],
    *,
    connect_timeout: int,
    timeout: int,
) -> Any:
    cparams.setdefault("connect_timeout", connect_timeout)
    if timeout <= 0:
        return None  # PyMySQL connects as it does (keepalives with the OS's times)
    from pymysql import err

    connection = dialect.connect(*cargs, **cparams, defer_connect=True)
    if connection.unix_socket:
        connection.connect()
        return connection
    where = (connection.host, connection.port)
    source = (connection.bind_address, 0) if connection.bind_address else None
    try:
        sock = socket.create_connection(where, connection.connect_timeout, source)
    except OSError as error:
        # What PyMySQL says when it cannot connect: an OperationalError, so an outage.
        message = f"Can't connect to MySQL server on {connection.host!r} ({error})"
        raise err.OperationalError(2003, message) from error
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    bound_socket(sock, timeout)
    connection.host_info = f"socket {connection.host}:{connection.port}"
    connection.connect(sock)  # the handshake, on the bounded socket
    return connection
