"""Wake the scheduler when another process changes the metastore, instead of polling for it.

A run triggered from the command line (or, later, the web server) should start in
milliseconds, not at the scheduler's next ``wake_interval``. How a scheduler hears of it
depends on the database:

- PostgreSQL: writers that want the scheduler to look (a trigger, a clear, a mark, an unpause)
  call :func:`tradewind.metastore.notify.notify` inside their transaction; PostgreSQL
  delivers the notification when they commit, and a thread of the scheduler waits on
  ``LISTEN`` for it.
- SQLite: a thread looks at the request file the same writers write after their commit, and
  at the database file's ``PRAGMA data_version``, which changes whenever any other connection
  commits (writers that did not ask count too). It looks when a file named after the database
  changes (:mod:`.filechanges`: the database, its journal or write-ahead log, the request
  file), at most every :data:`SQLITE_CHECK_INTERVAL` seconds, and every
  :data:`SQLITE_QUIET_CHECK` seconds in any case; where the files cannot be watched, every
  :data:`SQLITE_CHECK_INTERVAL` seconds.
- MySQL/MariaDB: nothing cheap exists; the scheduler keeps its ``wake_interval``.

A request of another process calls ``on_request`` (the scheduler looks at once, always); an
unrequested change, or a request of this very process, calls ``on_change`` (the scheduler looks
unless it most likely made the change itself). A wake-up that finds nothing new costs one full
pass, nothing more.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import exc
from sqlalchemy.engine import Engine

from tradewind.metastore import notify, outage
from tradewind.metastore.notify import CHANNEL
from tradewind.scheduler.filechanges import FileChanges

log = logging.getLogger(__name__)

SQLITE_CHECK_INTERVAL = 0.05
# With the files watched, the waker looks this often even when no change was seen.
SQLITE_QUIET_CHECK = 0.5
# With a waker, the scheduler still looks unprompted every wake_interval x this (a safety net:
# a notification can be missed while the listener reconnects).
TOLD_FACTOR = 10
# How often the PostgreSQL listener looks at the stop flag while no notification comes.
_LISTEN_TIMEOUT = 1.0


@dataclass(frozen=True)
class Callbacks:
    on_change: Callable[[], None]
    on_request: Callable[[], None]
    own_pid: int

    def heard(self, sender: int | None) -> None:
        if sender is not None and sender != self.own_pid:
            self.on_request()
        else:
            self.on_change()


def start_waker(
    engine: Engine,
    on_change: Callable[[], None],
    stop: threading.Event,
    *,
    on_request: Callable[[], None] | None = None,
    own_pid: int | None = None,
) -> threading.Thread | None:
    """A daemon thread calling ``on_request`` when another process asks the scheduler to look
    and ``on_change`` when the metastore changed otherwise (None: this database cannot)."""
    calls = Callbacks(
        on_change, on_request or on_change, os.getpid() if own_pid is None else own_pid
    )
    name = engine.dialect.name
    if name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        target: Callable[[], None] = lambda: _watch_sqlite(  # noqa: E731
            str(engine.url.database), calls, stop
        )
    elif name == "postgresql" and engine.dialect.driver == "psycopg":
        target = lambda: _listen_postgres(engine, calls, stop)  # noqa: E731
    else:
        return None
    thread = threading.Thread(target=target, name="metastore-waker", daemon=True)
    thread.start()
    return thread


def _watch_sqlite(path: str, calls: Callbacks, stop: threading.Event) -> None:
    try:
        connection = sqlite3.connect(path, check_same_thread=False)
    except sqlite3.Error as exc:
        log.warning("cannot watch %s for changes (%s); polling only", path, exc)
        return
    requests = notify.request_file(path)
    changes = FileChanges.watch(path)
    try:
        seen = _data_version(connection)
        asked = _read(requests)
        while not stop.wait(SQLITE_CHECK_INTERVAL):
            if changes is not None:
                changes.wait(SQLITE_QUIET_CHECK)
            current = _data_version(connection)
            request = _read(requests)
            if request != asked:
                asked, seen = request, current
                calls.heard(notify.sender_of(request))
            elif current != seen:
                seen = current
                calls.on_change()
    except sqlite3.Error as exc:
        log.warning("stopped watching %s for changes (%s); polling only", path, exc)
    finally:
        connection.close()
        if changes is not None:
            changes.close()


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read(64)
    except OSError:
        return b""


def _data_version(connection: sqlite3.Connection) -> int:
    row = connection.execute("PRAGMA data_version").fetchone()
    return int(row[0])


def _listen_postgres(engine: Engine, calls: Callbacks, stop: threading.Event) -> None:
    import psycopg

    backoff = outage.Backoff()
    while not stop.is_set():
        try:
            with _own_connection(engine) as connection:
                connection.execute(f"LISTEN {CHANNEL}")
                backoff.reset()
                # Whatever happened while not listening is found by the next full pass.
                calls.on_request()
                while not stop.is_set():
                    for message in connection.notifies(timeout=_LISTEN_TIMEOUT, stop_after=1):
                        calls.heard(notify.sender_of(message.payload))
        except (psycopg.Error, exc.DBAPIError) as error:
            # The scheduler's passes say when the metastore is away and when it is back
            # (one line each); this thread only listens again, backing off meanwhile.
            log.debug("lost the metastore notifications (%s); listening again", error)
            stop.wait(backoff.next())


@contextmanager
def _own_connection(engine: Engine) -> Iterator[Any]:
    """A driver connection in autocommit, kept out of the engine's pool, made as the engine
    makes its own: bounded while connecting, and broken after ``database.tcp_timeout`` of
    silence (a listener that only waits would not notice a dead connection otherwise)."""
    with engine.connect() as connection:
        connection.detach()  # closed, not pooled, at the end
        raw: Any = connection.connection.dbapi_connection
        raw.autocommit = True
        yield raw
