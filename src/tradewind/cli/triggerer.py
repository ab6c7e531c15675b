"""``tradewind triggerer``: run the triggers of deferred tasks."""

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
from tradewind.metastore import outage
from tradewind.triggerer.service import run_triggerer


@click.command()
@click.option(
    "--capacity",
    type=click.IntRange(min=1),
    default=None,
    help="The most triggers this triggerer runs at once [default: triggerer.capacity].",
)
def triggerer(capacity: int | None) -> None:
    """Run the triggers of deferred tasks (several triggerers share them on PostgreSQL/MySQL)."""
    settings = get_settings()
    setup_logging(settings)
    stop = stop_on_signals()
    with open_engine() as engine:
        if not outage.wait_for_database(engine, stop, "the triggerer"):
            return
    with open_metastore() as sessions, user_errors(telemetry.MissingExtra):
        run_triggerer(settings, sessions, stop, capacity=capacity)
