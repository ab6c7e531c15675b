"""``tradewind scheduler``: create runs, decide what is ready, hand it to the executor."""

from __future__ import annotations

import click

from tradewind import telemetry
from tradewind.cli._common import (
    get_settings,
    open_engine,
    open_metastore,
    setup_logging,
    stop_on_signals,
    user_errors,
)
from tradewind.executors.base import ExecutorError
from tradewind.metastore import outage
from tradewind.scheduler.service import run_scheduler


@click.command()
def scheduler() -> None:
    """Run the scheduler (with the DAG processor beside it unless turned off)."""
    settings = get_settings()
    setup_logging(settings)
    stop = stop_on_signals()
    with open_engine() as engine:
        if not outage.wait_for_database(engine, stop, "the scheduler"):
            return
    with open_metastore() as sessions, user_errors(ExecutorError, telemetry.MissingExtra):
        run_scheduler(settings, sessions, stop)
