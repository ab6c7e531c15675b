"""The DAG processor's heartbeat, and how it rides out a metastore that goes away.

The processor is a row in the ``job`` table (type ``dag_processor``) whose heartbeat the web
server's ``/health`` and ``/metrics`` read. When the metastore cannot be reached (restarted,
network cut), the processor logs one line, tries again with a growing delay (at most
:data:`MAX_DELAY`), and logs one line when it is back; meanwhile it never writes half a scan:
what it parsed and could not write is parsed again once the metastore answers.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session, sessionmaker

from tradewind.metastore.errors import first_line
from tradewind.metastore.store import jobs as job_store
from tradewind.metastore.types import utcnow
from tradewind.settings import Settings

log = logging.getLogger(__name__)

FIRST_DELAY = 1.0
MAX_DELAY = 30.0


def is_disconnect(exc: BaseException) -> bool:
    """Whether ``exc`` says the metastore cannot be reached (rather than a bad statement)."""
    if isinstance(exc, sa_exc.OperationalError | sa_exc.InterfaceError):
        return True
    return isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated


class Liveness:
    """Heartbeats, outages and the back-off between failed passes of one DAG processor."""

    def __init__(
        self,
        settings: Settings,
        sessions: sessionmaker[Session],
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._interval = settings.dag_processor.heartbeat_interval
        self._sessions = sessions
        self._clock = clock
        self.job_id: int | None = None
        self._next_beat = 0.0
        self._down_since: float | None = None
        self._delay = 0.0
        self._retry_at = 0.0

    def beat(self) -> None:
        """Heartbeat if one is due (the first registers the job); never raises for an outage."""
        now = time.monotonic()
        if now < max(self._next_beat, self._retry_at):
            return
        try:
            with self._sessions.begin() as session:
                if self.job_id is None:
                    self.job_id = job_store.start_job(
                        session,
                        job_store.DAG_PROCESSOR,
                        hostname=socket.gethostname(),
                        pid=os.getpid(),
                        executor=None,
                        now=self._clock(),
                    )
                else:
                    job_store.heartbeat(session, self.job_id, self._clock())
        except sa_exc.SQLAlchemyError as exc:
            self.failed(exc)
            return
        self._next_beat = time.monotonic() + self._interval
        self._back()

    def failed(self, exc: BaseException) -> float:
        """A pass (or a heartbeat) failed: say so, and return how long to wait before the next."""
        self._delay = min(MAX_DELAY, self._delay * 2) if self._delay else FIRST_DELAY
        self._retry_at = time.monotonic() + self._delay
        if is_disconnect(exc):
            if self._down_since is None:
                self._down_since = time.monotonic()
                log.warning(
                    "the metastore cannot be reached (%s); the DAG processor keeps trying, "
                    "at most every %g s",
                    first_line(str(exc)),
                    MAX_DELAY,
                )
        else:
            log.error("a DAG processor pass failed; next try in %g s", self._delay, exc_info=exc)
        return self._delay

    def succeeded(self) -> None:
        """A pass went through: an outage is over, the next failure waits briefly again."""
        self._back()
        self._delay = 0.0

    def _back(self) -> None:
        if self._down_since is not None:
            log.warning(
                "the metastore answers again (after %.0f s); the DAG processor goes on",
                time.monotonic() - self._down_since,
            )
            self._down_since = None

    def wait(self, stop: threading.Event, seconds: float) -> None:
        """Wait ``seconds`` or until ``stop`` is set, heartbeating meanwhile."""
        end = time.monotonic() + seconds
        while not stop.is_set():
            left = end - time.monotonic()
            if left <= 0:
                return
            due = max(self._next_beat, self._retry_at)
            if stop.wait(min(left, max(0.01, due - time.monotonic()))):
                return
            self.beat()

    def end(self) -> None:
        """Mark the job finished (best effort: the metastore may be gone)."""
        if self.job_id is None:
            return
        with contextlib.suppress(sa_exc.SQLAlchemyError), self._sessions.begin() as session:
            job_store.end_job(session, self.job_id, self._clock())
