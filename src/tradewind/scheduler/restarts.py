"""The restarting life cycle: a task instance cleared while its try runs.

Clearing a queued or running task instance (``metastore.store.tasks.clear_instances``) makes it
restarting, as in Airflow: its try may still have a process, and two tries of one task never
run at once. The loop stops that try (see :mod:`tradewind.scheduler.abandoned`); its finished
report then finds the instance restarting (:func:`reported`) and the loop keeps it waiting
until the executor no longer holds the try (its process may still run callbacks, or the end
of a SIGTERM). Then (:func:`end`) the instance goes to none with a history row for
the old try (``metastore.store.tries.end_restart``), and its run decides it again, so it runs
with the next try number. A restarting try of a scheduler that died is ended by the orphan
sweep (:mod:`tradewind.scheduler.orphans`).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from tradewind.metastore.store import runs as run_store
from tradewind.metastore.store import tries as try_store
from tradewind.scheduler import dagruns, observe
from tradewind.scheduler.callbacks import Callback
from tradewind.workloads import TaskKey

log = logging.getLogger(__name__)


def reported(session: Session, key: TaskKey) -> bool:
    """Whether the finished report of a try that could not be recorded is that of a
    restarting task instance (else it came too late, or twice, and is dropped)."""
    if try_store.is_restarting(session, key):
        return True
    log.info("dropped a late or duplicate report for %s", key)
    return False


# Tries of restarting task instances that reported their end, with their start if known.
Waiting = Mapping[TaskKey, datetime | None]


@dataclass
class Ended:
    """What :func:`end` did: the tries still waiting for their process to end, and the DAG
    callbacks due for runs that finished when their tasks were decided again."""

    waiting: dict[TaskKey, datetime | None]
    callbacks: list[Callback] = field(default_factory=list)


def end(
    session: Session,
    cache: dagruns.DagCache,
    waiting: Waiting,
    held: Collection[TaskKey],
    now: datetime,
) -> Ended:
    """End the restarts of tries whose process has ended (``held``: the tries the executor
    still holds; never while the old try's process still lives): their task instances go to
    none and their runs decide them again."""
    ended = Ended({key: started for key, started in waiting.items() if key in held})
    for key, started in waiting.items():
        if key in ended.waiting:
            continue
        if try_store.end_restart(session, key, now=now, started=started) is None:
            continue
        observe.try_failed(session, key, now, start=started, error=try_store.RESTARTED_REASON)
        log.info("%s ended for a restart; the task runs again", key)
        run = run_store.lock_run(session, key.dag_id, key.run_id)
        if run is None:
            continue
        callback = dagruns.advance_run(session, cache, run, {key.task_id}, now).callback
        if callback is not None:
            ended.callbacks.append(callback)
    return ended
