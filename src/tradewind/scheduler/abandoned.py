"""Tries the metastore no longer expects, stopped: cleared (restarting), marked by hand, their
run ended or deleted. A try that reported its end is left alone (its process may still run
the task's callbacks), and one already being stopped is not asked twice."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from sqlalchemy.orm import Session, sessionmaker

from tradewind.executors.base import BaseExecutor
from tradewind.metastore.store import tries as try_store
from tradewind.states import TaskState
from tradewind.workloads import TaskKey

log = logging.getLogger(__name__)


class Abandoned:
    """What one scheduler knows of its executor's tries: those that reported their end, and
    those it asked its executor to stop (both pruned to what the executor still holds)."""

    def __init__(self) -> None:
        self._reported: set[TaskKey] = set()
        self._stopping: set[TaskKey] = set()

    def reported(self, keys: Iterable[TaskKey]) -> None:
        self._reported.update(keys)

    def stop(self, sessions: sessionmaker[Session], executor: BaseExecutor) -> None:
        """Stop the executor's tries the metastore no longer expects. One query for all the
        tries the executor holds; nothing when it holds none."""
        held = executor.active_keys()
        self._reported &= held
        self._stopping &= held
        keys = held - self._stopping
        if not keys:
            return
        with sessions() as session:
            current = try_store.try_states(session, keys)
        for key in sorted(keys):
            try_number, state = current.get(key, (None, None))
            why = self._why(key, try_number, state)
            if why is None:
                continue
            log.warning("stopping %s: %s", key, why)
            self._stopping.add(key)
            executor.cancel(key)

    def _why(self, key: TaskKey, try_number: int | None, state: TaskState | None) -> str | None:
        """Why the try is to be stopped; None when it is expected."""
        if try_number != key.try_number:
            return "the metastore no longer expects it"
        if state is TaskState.RESTARTING:
            return "its task instance was cleared; it runs again once this try has ended"
        if state in (TaskState.QUEUED, TaskState.RUNNING) or key in self._reported:
            # Expected; or it reported its end and runs its callbacks: let it finish.
            return None
        return f"its task instance was set to {state} meanwhile"
