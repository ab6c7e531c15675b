"""Run the scheduler as a service: its executor, the DAG processor beside it, clean stops."""

from __future__ import annotations

import gc
import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from tradewind.executors import create_executor
from tradewind.executors.base import BaseExecutor
from tradewind.metastore import outage
from tradewind.scheduler import wakeups
from tradewind.scheduler.loop import LeaseHeld, Scheduler
from tradewind.scheduler.supervisor import ProcessorSupervisor
from tradewind.settings import Settings

log = logging.getLogger(__name__)


@contextmanager
def dag_processor_process(settings: Settings) -> Iterator[ProcessorSupervisor | None]:
    """The DAG processor in its own process, started again when it dies: it imports user
    code, the scheduler never does."""
    if not settings.scheduler.run_dag_processor:
        yield None
        return
    supervisor = ProcessorSupervisor(settings)
    supervisor.start()
    try:
        yield supervisor
    finally:
        supervisor.stop()


def run_scheduler(
    settings: Settings, sessions: sessionmaker[Session], stop: threading.Event
) -> None:
    """Run until ``stop`` is set; on SQLite, wait while another scheduler holds the lease;
    wait while the metastore is away."""
    executor = create_executor(settings)
    scheduler = Scheduler(settings, sessions, executor)
    retry = settings.scheduler.heartbeat_interval
    started = outage.start_when_possible(
        scheduler.start, stop, scheduler.outage, busy=LeaseHeld, retry=retry, logger=log
    )
    if not started:
        return
    log.info("scheduler started with the %s executor", settings.core.executor)
    # What is loaded by now lives as long as this process: keep it out of the garbage
    # collector's way, so that its collections stay cheap however much was imported.
    gc.freeze()
    engine = sessions.kw["bind"]
    if isinstance(engine, Engine) and wakeups.start_waker(
        engine, scheduler.outside_change, stop, on_request=scheduler.outside_request
    ):
        # Told of outside changes: the unprompted look is only a safety net now.
        scheduler.poll_interval = settings.scheduler.wake_interval * wakeups.TOLD_FACTOR
    with dag_processor_process(settings):
        waker = threading.Thread(target=_wake_on_stop, args=(stop, executor), daemon=True)
        waker.start()
        try:
            scheduler.run(stop)
        finally:
            scheduler.stop()
    log.info("scheduler stopped")


def _wake_on_stop(stop: threading.Event, executor: BaseExecutor) -> None:
    stop.wait()
    executor.wakeup()
