"""Run a triggerer until it is stopped: wait for the metastore, register (on SQLite: wait
while another triggerer runs), pass after pass, and a clean stop."""

from __future__ import annotations

import functools
import logging
import sys
import threading

from sqlalchemy.orm import Session, sessionmaker

from tradewind.metastore import engine as engine_module
from tradewind.metastore import outage
from tradewind.runtime.crossdag import CrossDag
from tradewind.settings import Settings
from tradewind.triggerer.job import LeaseHeld, Triggerer
from tradewind.triggers import runstates

log = logging.getLogger(__name__)


def run_triggerer(
    settings: Settings,
    sessions: sessionmaker[Session],
    stop: threading.Event,
    *,
    capacity: int | None = None,
) -> None:
    """Run a triggerer until ``stop`` is set; its triggers are released on the way out (and
    the run-state lookup it installed for them is taken back)."""
    lookup = _serve_triggers(settings)
    try:
        with runstates.installed(lookup):
            _run(settings, sessions, stop, capacity)
    finally:
        lookup.close()


def _run(
    settings: Settings, sessions: sessionmaker[Session], stop: threading.Event, capacity: int | None
) -> None:
    triggerer = Triggerer(settings, sessions, capacity=capacity)
    retry = settings.triggerer.job_heartbeat_sec
    started = outage.start_when_possible(
        triggerer.register, stop, triggerer.outage, busy=LeaseHeld, retry=retry, logger=log
    )
    if not started:
        return
    log.info(
        "triggerer started (job %s), running up to %d triggers",
        triggerer.job_id,
        triggerer.capacity,
    )
    waker = threading.Thread(target=_wake_on_stop, args=(stop, triggerer), daemon=True)
    waker.start()
    try:
        triggerer.run(stop)
    finally:
        triggerer.stop()


def _serve_triggers(settings: Settings) -> CrossDag:
    """What triggers need of this process: the DAGs folder importable (users keep their
    trigger classes beside their DAG files, as a try finds them) and, returned, the lookup of
    other DAGs' run states for the external-task triggers."""
    folder = str(settings.core.dags_folder)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    return CrossDag(functools.partial(engine_module.create_engine, settings.database))


def _wake_on_stop(stop: threading.Event, triggerer: Triggerer) -> None:
    stop.wait()
    triggerer.wake.set()
