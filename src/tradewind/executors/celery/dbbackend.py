"""Celery's database result backend with one pooled engine per process.

Celery's own database backend pools its engine only in processes forked by its prefork pool;
anywhere else (our workers use the threads pool) it builds a new engine without a pool for every
write, so every heartbeat and every result opens and closes a database connection. This
subclass shares one session manager per process that keeps its engine (a thread-safe pool).
"""

from __future__ import annotations

import os
import threading
from typing import Any

from celery.backends.database import DatabaseBackend
from celery.backends.database.session import SessionManager

_managers: dict[int, SessionManager] = {}
_lock = threading.Lock()


def _manager() -> SessionManager:
    with _lock:
        found = _managers.get(os.getpid())
        if found is None:
            found = SessionManager()
            found.forked = True  # "keep the engine": safe here, it is this process's own
            _managers[os.getpid()] = found
        return found


class PooledDatabaseBackend(DatabaseBackend):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.session_manager = _manager()
