"""``tradewind scheduler``: create runs, decide what is ready, hand it to the executor."""

from __future__ import annotations

import signal
import threading
from types import FrameType

import click

from tradewind.cli._common import (
    get_settings,
    open_engine,
    open_metastore,
    setup_logging,
    user_errors,
)
from tradewind.executors.base import ExecutorError
from tradewind.metastore import outage
from tradewind.scheduler.service import run_scheduler


def stop_on_signals() -> threading.Event:
    """An Event set by SIGINT or SIGTERM (Ctrl-C stops cleanly)."""
    stop = threading.Event()

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    return stop


@click.command()
def scheduler() -> None:
    """Run the scheduler (with the DAG processor beside it unless turned off)."""
    settings = get_settings()
    setup_logging(settings)
    stop = stop_on_signals()
    with open_engine() as engine:
        if not outage.wait_for_database(engine, stop, "the scheduler"):
            return
    with open_metastore() as sessions, user_errors(ExecutorError):
        run_scheduler(settings, sessions, stop)
