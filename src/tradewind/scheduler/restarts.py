"""The restarting life cycle: a task instance cleared while its try runs.

Clearing a queued or running task instance (``metastore.store.tasks.clear_instances``) makes it
restarting, as in Airflow: its try may still have a process, and two tries of one task never
run at once. The loop stops that try (see :mod:`tradewind.scheduler.abandoned`); its finished
report then finds the instance restarting (:func:`reported`) and is kept in :class:`Restarts`
until the executor no longer holds the try (its process may still run callbacks, or the end
of a SIGTERM). Then (:meth:`Restarts.end`) the instance goes to none with a history row for
the old try (``metastore.store.tries.end_restart``), and its run decides it again, so it runs
with the next try number. A restarting try of a scheduler that died is ended by the orphan
sweep (:mod:`tradewind.scheduler.orphans`).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from datetime import datetime

from sqlalchemy.orm import Session

from tradewind.metastore.store import runs as run_store
from tradewind.metastore.store import tries as try_store
from tradewind.scheduler import dagruns
from tradewind.workloads import TaskKey

log = logging.getLogger(__name__)


def reported(session: Session, key: TaskKey) -> bool:
    """Whether the finished report of a try that could not be recorded is that of a
    restarting task instance (else it came too late, or twice, and is dropped)."""
    if try_store.is_restarting(session, _row(key)):
        return True
    log.info("dropped a late or duplicate report for %s", key)
    return False


class Restarts:
    """Tries of restarting task instances that reported their end, with their start if known:
    each instance goes to none once its executor no longer holds the try."""

    def __init__(self) -> None:
        self._waiting: dict[TaskKey, datetime | None] = {}

    def __bool__(self) -> bool:
        return bool(self._waiting)

    def snapshot(self) -> dict[TaskKey, datetime | None]:
        return dict(self._waiting)

    def restore(self, snapshot: Mapping[TaskKey, datetime | None]) -> None:
        """Back to ``snapshot`` (a pass that wrote what it ended was rolled back)."""
        self._waiting = dict(snapshot)

    def add(self, reported: Mapping[TaskKey, datetime | None]) -> None:
        self._waiting.update(reported)

    def end(
        self, session: Session, cache: dagruns.DagCache, held: Collection[TaskKey], now: datetime
    ) -> bool:
        """End the restarts of tries whose process has ended (``held``: the tries the executor
        still holds); never while the old try's process still lives. True if any ended."""
        done = [key for key in self._waiting if key not in held]
        for key in done:
            started = self._waiting.pop(key)
            if try_store.end_restart(session, _row(key), now=now, started=started) is None:
                continue
            log.info("%s ended for a restart; the task runs again", key)
            run = run_store.lock_run(session, key.dag_id, key.run_id)
            if run is not None:
                dagruns.advance_run(session, cache, run, {key.task_id}, now)
        return bool(done)


def _row(key: TaskKey) -> tuple[str, str, str, int, int]:
    return (key.dag_id, key.run_id, key.task_id, key.map_index, key.try_number)
