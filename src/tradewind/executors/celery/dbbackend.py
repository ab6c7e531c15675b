"""Celery's database result backend with one pooled engine per process, riding out outages.

Celery's own database backend pools its engine only in processes forked by its prefork pool;
anywhere else (our workers use the threads pool) it builds a new engine without a pool for every
write, so every heartbeat and every result opens and closes a database connection. This
subclass shares one session manager per process that keeps its engine (a thread-safe pool).

While the database (the metastore's) is away, a write waits for it as long as it is away,
instead of giving up after Celery's retries: a try's outcome is never dropped, and the
worker logs one line per outage (:data:`OUTAGE`, shared with its claims) instead of one
traceback per retry. Its engines bound their waits on a server that falls silent as the
metastore's own do (:mod:`tradewind.metastore.tcp`), so a network cut is such an outage too.
"""

from __future__ import annotations

import functools
import logging
import os
import threading
from collections.abc import Callable
from typing import Any

from celery.backends.database import DatabaseBackend
from celery.backends.database.session import SessionManager

from tradewind.metastore import outage, tcp

log = logging.getLogger(__name__)

# The metastore as this worker process sees it: its claims and its reports wait for it.
OUTAGE = outage.Outage(
    "the celery worker", log, meanwhile="claims and reports of tries wait for it"
)

_managers: dict[int, SessionManager] = {}
_lock = threading.Lock()


def bound_engine(app: Any) -> Callable[[Any], None]:
    """What to do with each engine made for ``app``'s result backend: bound its connections by
    the metastore's settings (``connect_timeout``, ``tcp_timeout``)."""
    settings = getattr(app, "tradewind_settings", None)
    if settings is None:
        return lambda engine: None
    return lambda engine: tcp.bound(engine, settings.database)


def _manager(app: Any) -> SessionManager:
    with _lock:
        found = _managers.get(os.getpid())
        if found is None:
            found = SessionManager()
            found.forked = True  # "keep the engine": safe here, it is this process's own
            _managers[os.getpid()] = found
        # Engines made from now on get the settings of the newest app (a process has one).
        found.engine_callback = bound_engine(app)
        return found


class PooledDatabaseBackend(DatabaseBackend):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.session_manager = _manager(self.app)

    def _ensure_retryable(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Celery's retries for other errors; a lost database is waited for."""

        @functools.wraps(func)
        def riding_out(*call_args: Any, **call_kwargs: Any) -> Any:
            return outage.ride_out(lambda: func(*call_args, **call_kwargs), OUTAGE)

        return super()._ensure_retryable(riding_out, *args, **kwargs)
