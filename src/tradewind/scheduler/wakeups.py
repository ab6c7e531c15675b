"""Wake the scheduler when another process changes the metastore, instead of polling for it.

A run triggered from the command line (or, later, the web server) should start in
milliseconds, not at the scheduler's next ``wake_interval``. How a scheduler hears of it
depends on the database:

- PostgreSQL: writers that want the scheduler to look (a trigger, a clear, a pause or unpause)
  call :func:`tradewind.metastore.notify.notify` inside their transaction; PostgreSQL
  delivers the notification when they commit, and a thread of the scheduler waits on
  ``LISTEN`` for it.
- SQLite: a thread asks the database file's ``PRAGMA data_version`` every
  :data:`SQLITE_CHECK_INTERVAL` seconds; it changes whenever any other connection commits.
  The question costs microseconds and needs no cooperation from the writers.
- MySQL/MariaDB: nothing cheap exists; the scheduler keeps its ``wake_interval``.

Either way the thread only calls ``on_change``; the scheduler then runs its full pass at once.
A wake-up that finds nothing new costs one full pass, nothing more.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable

from sqlalchemy.engine import Engine

from tradewind.metastore.notify import CHANNEL

log = logging.getLogger(__name__)

SQLITE_CHECK_INTERVAL = 0.05
# With a waker, the scheduler still looks unprompted every wake_interval x this (a safety net:
# a notification can be missed while the listener reconnects).
TOLD_FACTOR = 10
# How often the PostgreSQL listener looks at the stop flag while no notification comes.
_LISTEN_TIMEOUT = 1.0


def start_waker(
    engine: Engine, on_change: Callable[[], None], stop: threading.Event
) -> threading.Thread | None:
    """A daemon thread calling ``on_change`` when others change the metastore (None: cannot)."""
    name = engine.dialect.name
    if name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        target: Callable[[], None] = lambda: _watch_sqlite(  # noqa: E731
            str(engine.url.database), on_change, stop
        )
    elif name == "postgresql":
        target = lambda: _listen_postgres(engine, on_change, stop)  # noqa: E731
    else:
        return None
    thread = threading.Thread(target=target, name="metastore-waker", daemon=True)
    thread.start()
    return thread


def _watch_sqlite(path: str, on_change: Callable[[], None], stop: threading.Event) -> None:
    try:
        connection = sqlite3.connect(path, check_same_thread=False)
    except sqlite3.Error as exc:
        log.warning("cannot watch %s for changes (%s); polling only", path, exc)
        return
    try:
        seen = _data_version(connection)
        while not stop.wait(SQLITE_CHECK_INTERVAL):
            current = _data_version(connection)
            if current != seen:
                seen = current
                on_change()
    except sqlite3.Error as exc:
        log.warning("stopped watching %s for changes (%s); polling only", path, exc)
    finally:
        connection.close()


def _data_version(connection: sqlite3.Connection) -> int:
    row = connection.execute("PRAGMA data_version").fetchone()
    return int(row[0])


def _listen_postgres(engine: Engine, on_change: Callable[[], None], stop: threading.Event) -> None:
    import psycopg

    url = engine.url.set(drivername="postgresql")
    while not stop.is_set():
        try:
            with psycopg.connect(
                url.render_as_string(hide_password=False), autocommit=True
            ) as connection:
                connection.execute(f"LISTEN {CHANNEL}")
                # Whatever happened while not listening is found by the next full pass.
                on_change()
                while not stop.is_set():
                    for _ in connection.notifies(timeout=_LISTEN_TIMEOUT, stop_after=1):
                        on_change()
        except psycopg.Error as exc:
            log.warning("lost the metastore notifications (%s); listening again", exc)
            stop.wait(1.0)
