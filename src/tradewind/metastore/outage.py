"""Riding out a lost metastore: which errors mean the database is away, how long to wait
before trying again, and one log line per outage.

A restart of the database server or a network cut breaks the connections of every process
at once. The scheduler, the celery workers and the web server keep what they hold, wait, and
try again, instead of dying or answering 500s. Only connection-class errors are ridden out
(:func:`is_outage`); any other error (a bug, a bad statement) surfaces as before.

Each process keeps one :class:`Outage` per part: its first failure logs one line, the first
success after it logs another, and the failures in between only lengthen the wait (doubling
from :data:`FIRST_DELAY` up to :data:`MAX_DELAY`), so that a database that is down for minutes
neither floods the log nor waits for long once it is back.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.engine import Engine

from tradewind.metastore import engine as engine_module
from tradewind.metastore.errors import AccessDenied, first_line

log = logging.getLogger(__name__)

T = TypeVar("T")

FIRST_DELAY = 0.1
MAX_DELAY = 2.0
# SQLite's OperationalError also says "no such table" or "syntax error" (bugs); only these
# words mean the file is busy or cannot be reached for now.
_SQLITE_TRANSIENT = ("locked", "busy", "unable to open", "disk i/o")


def is_outage(error: BaseException) -> bool:
    """Whether ``error`` means that the metastore cannot be reached for now (a lost or refused
    connection, a server shutting down or starting up, no connection free in the pool while
    connecting hangs), as opposed to a bug."""
    if isinstance(error, exc.TimeoutError):
        return True
    if not isinstance(error, exc.DBAPIError):
        return False
    if error.connection_invalidated or isinstance(error, exc.InterfaceError):
        return True
    if not isinstance(error, exc.OperationalError):
        return False
    if type(error.orig).__module__.startswith("sqlite3"):
        text = str(error.orig).lower()
        return any(word in text for word in _SQLITE_TRANSIENT)
    return True


def quiet_pool(record: logging.LogRecord) -> bool:
    """A logging filter: drops the connection pool's tracebacks about a connection it could not
    reset or close because the database went away (the part that meets the outage says so in
    one line); keeps every other record."""
    error = record.exc_info[1] if record.exc_info else None
    if error is None or not record.name.startswith("sqlalchemy.pool"):
        return True
    return not (is_outage(error) or _lost_by_driver(error))


def _lost_by_driver(error: BaseException) -> bool:
    """A driver's own error (not wrapped by SQLAlchemy) for a connection that is gone."""
    if isinstance(error, ConnectionError):
        return True
    if type(error).__module__.startswith("sqlite3"):
        return any(word in str(error).lower() for word in _SQLITE_TRANSIENT)
    names = {cls.__name__ for cls in type(error).__mro__}
    return bool(names & {"OperationalError", "InterfaceError"})


def describe(error: BaseException) -> str:
    """One line on what went wrong: the driver's error and its first line."""
    original = error.orig if isinstance(error, exc.DBAPIError) and error.orig else error
    return f"{type(original).__name__}: {first_line(str(original))}"


class Backoff:
    """Delays between tries: :data:`FIRST_DELAY`, doubling up to :data:`MAX_DELAY`."""

    def __init__(self, first: float = FIRST_DELAY, cap: float = MAX_DELAY) -> None:
        self.first = first
        self.cap = cap
        self._next = first

    def next(self) -> float:
        delay = self._next
        self._next = min(self.cap, delay * 2)
        return delay

    def reset(self) -> None:
        self._next = self.first


class Outage:
    """What one part of a process (``who``: "the scheduler", "the web server", ...) knows of
    the metastore: reachable, or away since when. ``meanwhile`` says in the log line what the
    part does while it is away. Safe to share between threads."""

    def __init__(self, who: str, logger: logging.Logger = log, *, meanwhile: str = "") -> None:
        self.who = who
        self.log = logger
        self.meanwhile = meanwhile
        self._since: float | None = None
        self._again = " again"
        self._backoff = Backoff()
        self._lock = threading.Lock()

    @property
    def down(self) -> bool:
        return self._since is not None

    def lost(self, error: BaseException, *, starting: bool = False) -> float:
        """Note a failure for an outage; how long to wait before the next try. The first one
        of an outage is logged (``starting``: the process starts without the metastore)."""
        with self._lock:
            if self._since is None:
                self._since = time.monotonic()
                self._backoff.reset()
                self._again = "" if starting else " again"
                also = f"; {self.meanwhile}" if self.meanwhile else ""
                what = "waits for" if starting else "lost"
                self.log.warning(
                    "%s %s the metastore (%s)%s", self.who, what, describe(error), also
                )
            return self._backoff.next()

    def back(self) -> None:
        """Note a success: the end of an outage, if one was on, is logged."""
        if self._since is None:  # the usual case, without the lock
            return
        with self._lock:
            since, self._since = self._since, None
            again = self._again
        if since is not None:
            took = time.monotonic() - since
            self.log.warning("%s reached the metastore%s after %.1f s", self.who, again, took)


def ride_out(call: Callable[[], T], outage: Outage) -> T:
    """``call()`` until it ends without an outage error, waiting between tries (for as long as
    the outage lasts); its other errors rise."""
    while True:
        try:
            result = call()
        except Exception as error:
            if not is_outage(error):
                raise
            time.sleep(outage.lost(error))
            continue
        outage.back()
        return result


def unreachable(engine: Engine) -> exc.DBAPIError | None:
    """Why the database of ``engine`` cannot be reached now (an outage error), or None when it
    answers. Refused credentials raise :class:`~tradewind.metastore.errors.AccessDenied`, any
    other error a :class:`~tradewind.metastore.errors.DatabaseError` that says what it is."""
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except exc.DBAPIError as error:
        problem = engine_module.describe_connect_error(error, engine.url)
        if isinstance(problem, AccessDenied) or not is_outage(error):
            raise problem from error
        return error
    return None


def wait_for_database(engine: Engine, stop: threading.Event, who: str) -> bool:
    """Wait until the database of ``engine`` answers (at a process's start), saying once that
    it waits and once that it is there; False when ``stop`` was set first. Refused
    credentials raise :class:`~tradewind.metastore.errors.AccessDenied` at once."""
    where = engine_module.mask_url(engine.url)
    backoff = Backoff()
    waited_since: float | None = None
    while not stop.is_set():
        error = unreachable(engine)
        if error is not None:
            if waited_since is None:
                waited_since = time.monotonic()
                log.warning("%s waits for the metastore at %s (%s)", who, where, describe(error))
            stop.wait(backoff.next())
            continue
        if waited_since is not None:
            took = time.monotonic() - waited_since
            log.warning("%s reached the metastore at %s after %.1f s", who, where, took)
        return True
    return False


def start_when_possible(
    start: Callable[[], object],
    stop: threading.Event,
    outage: Outage,
    *,
    busy: type[Exception],
    retry: float,
    logger: logging.Logger = log,
) -> bool:
    """Call ``start()`` until it succeeds or ``stop`` is set (then False): while it raises
    ``busy`` (another process holds what it needs: said once) it tries again every ``retry``
    seconds; while the metastore is away it waits (see :class:`Outage`); other errors rise."""
    announced = False
    while not stop.is_set():
        try:
            start()
            return True
        except busy as error:
            if not announced:
                logger.warning("%s; waiting for it to stop", error)
                announced = True
            stop.wait(retry)
        except Exception as error:
            if not is_outage(error):
                raise
            stop.wait(outage.lost(error, starting=True))
    return False
