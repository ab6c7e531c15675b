"""The DAG processor's heartbeat, and how it rides out a metastore that goes away.

The processor is a row in the ``job`` table (type ``dag_processor``) whose heartbeat the web
server's ``/health`` and ``/metrics`` read. When the metastore cannot be reached (restarted,
network cut), the processor says so in one line, tries again with the shared outage policy's
growing delay (:mod:`tradewind.metastore.outage`), and says in one line when it is back;
meanwhile it never writes half a scan: what it parsed and could not write is parsed again once
the metastore answers. A pass that fails for any other reason (a bug) is logged with its
traceback and tried again after a delay of its own, so that one bad pass does not end the
processor.
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

from tradewind.metastore import outage
from tradewind.metastore.store import jobs as job_store
from tradewind.metastore.types import utcnow
from tradewind.settings import Settings

log = logging.getLogger(__name__)

# Between passes that failed for another reason than an outage (a bug): from 1 s up to 30 s.
FIRST_DELAY = 1.0
MAX_DELAY = 30.0


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
        self._outage = outage.Outage(
            "the DAG processor", log, meanwhile="it parses again what it could not write"
        )
        self._bugs = outage.Backoff(FIRST_DELAY, MAX_DELAY)
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
        self._outage.back()

    def failed(self, exc: BaseException) -> float:
        """A pass (or a heartbeat) failed: say so, and return how long to wait before the next."""
        if outage.is_outage(exc):
            delay = self._outage.lost(exc)
        else:
            delay = self._bugs.next()
            log.error("a DAG processor pass failed; next try in %g s", delay, exc_info=exc)
        self._retry_at = time.monotonic() + delay
        return delay

    def succeeded(self) -> None:
        """A pass went through: an outage is over, the next failure waits briefly again."""
        self._outage.back()
        self._bugs.reset()

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
