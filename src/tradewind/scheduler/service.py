"""Run the scheduler as a service: its executor, the DAG processor beside it, clean stops."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session, sessionmaker

from tradewind.executors import create_executor
from tradewind.executors.base import BaseExecutor
from tradewind.scheduler.loop import LeaseHeld, Scheduler
from tradewind.settings import Settings

log = logging.getLogger(__name__)


@contextmanager
def dag_processor_process(settings: Settings) -> Iterator[subprocess.Popen[bytes] | None]:
    """The DAG processor in its own process: it imports user code, the scheduler never does."""
    if not settings.scheduler.run_dag_processor:
        yield None
        return
    env = {**os.environ, **settings.to_env()}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tradewind", "dag-processor"],
        env=env,
        stdin=subprocess.DEVNULL,
    )
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run_scheduler(
    settings: Settings, sessions: sessionmaker[Session], stop: threading.Event
) -> None:
    """Run until ``stop`` is set; on SQLite, wait while another scheduler holds the lease."""
    executor = create_executor(settings)
    scheduler = Scheduler(settings, sessions, executor)
    announced = False
    while not stop.is_set():
        try:
            scheduler.start()
            break
        except LeaseHeld as exc:
            if not announced:
                log.warning("%s; waiting for it to stop", exc)
                announced = True
            stop.wait(settings.scheduler.heartbeat_interval)
    if stop.is_set():
        return
    log.info("scheduler started with the %s executor", settings.core.executor)
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
