"""The asset watchers among a triggerer's triggers (event-driven scheduling).

A watcher runs until its ``run()`` ends, and then again; each event it yields is an update of
the assets it watches (:func:`tradewind.metastore.store.triggers.fire_watcher`), and its trigger
row stays. :class:`Watchers` keeps, for the triggerer's main loop (:mod:`.job`), which running
triggers are watchers, their events not yet written, and when a watcher that failed (it raised,
could not be built, or its ``run()`` ended without an event) may start again: after
:data:`RETRY_DELAY` seconds, doubling while it keeps failing, so that a broken one never spins.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Set
from datetime import datetime

from sqlalchemy.orm import Session

from tradewind.metastore import outage
from tradewind.metastore.store import triggers as trigger_store
from tradewind.triggerer.runner import Outcome
from tradewind.triggers import serde

log = logging.getLogger(__name__)

# Before a failed watcher starts again: 5 s, doubling up to 5 minutes.
RETRY_DELAY = (5.0, 300.0)


class Watchers:
    """The watchers a triggerer runs, their unwritten events and their restart delays."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.running: set[int] = set()
        self._events: list[Outcome] = []
        self._backoff: dict[int, outage.Backoff] = {}
        self._not_before: dict[int, float] = {}

    @property
    def pending(self) -> bool:
        """Whether events wait to be written."""
        return bool(self._events)

    def started(self, trigger_id: int) -> None:
        self.running.add(trigger_id)

    def dropped(self, trigger_id: int) -> None:
        """No longer run here (its DAGs paused, its watcher removed, another triggerer)."""
        self.running.discard(trigger_id)

    def take(self, outcome: Outcome) -> bool:
        """Keep a watcher's outcome and say so; False for a deferred task's trigger."""
        trigger_id = outcome.trigger_id
        if trigger_id not in self.running:
            return False
        if outcome.event is not None:
            self._events.append(outcome)
            self._backoff.pop(trigger_id, None)
        if outcome.final:
            self.running.discard(trigger_id)
            if outcome.error is not None:
                self.failed(trigger_id, outcome.error)
        return True

    def failed(self, trigger_id: int, error: str) -> None:
        """The watcher failed: it starts again after a delay."""
        delay = self._backoff.setdefault(trigger_id, outage.Backoff(*RETRY_DELAY)).next()
        self._not_before[trigger_id] = self.clock() + delay
        log.error(
            "asset watcher (trigger %d) failed: %s; it starts again in %g s",
            trigger_id,
            error,
            delay,
        )

    def startable(self, trigger_ids: Set[int]) -> set[int]:
        """Those of ``trigger_ids`` that may start now (no failed watcher's delay running)."""
        now = self.clock()
        for trigger_id, moment in list(self._not_before.items()):
            if moment <= now:
                del self._not_before[trigger_id]
        return {trigger_id for trigger_id in trigger_ids if trigger_id not in self._not_before}

    def write(self, session: Session, now: datetime) -> None:
        """Write the events taken (an event whose payload cannot be stored is logged, not
        written); call :meth:`written` once the transaction committed."""
        for outcome in self._events:
            if outcome.event is None:
                continue
            try:
                payload = serde.encode(outcome.event.payload)
            except serde.SerdeError as error:
                log.error(
                    "asset watcher (trigger %d): its event cannot be stored: %s",
                    outcome.trigger_id,
                    error,
                )
                continue
            trigger_store.fire_watcher(session, outcome.trigger_id, payload, now=now)

    def written(self) -> None:
        self._events.clear()
