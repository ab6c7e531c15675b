"""``tradewind standalone``: the whole system in one command, on the embedded default (the
work is :mod:`tradewind.standalone.service`)."""

from __future__ import annotations

import click

from tradewind.api.secretkey import ensure_secret_key
from tradewind.cli._common import (
    get_settings,
    open_engine,
    open_metastore,
    setup_logging,
    stop_on_signals,
    user_errors,
)
from tradewind.exceptions import TradewindError
from tradewind.metastore import crypto
from tradewind.settings import Settings, load_settings
from tradewind.standalone import service


def _banner(settings: Settings, ready: service.Ready) -> None:
    web = settings.webserver
    prepared = ready.prepared
    click.echo(f"tradewind standalone: http://{web.host}:{web.port}/")
    click.echo(f"  metastore {ready.metastore}")
    click.echo(f"  DAGs folder: {settings.core.dags_folder}")
    click.echo(f"  executor: {settings.core.executor} (parallelism {settings.core.parallelism})")
    if prepared.admin_password:
        click.echo(f"  login: admin  password: {prepared.admin_password}")
        click.echo(f"  (also saved in {prepared.password_file})")
    else:
        click.echo(f"  login: admin (password in {prepared.password_file})")
    click.echo(f"  triggerer: up to {settings.triggerer.capacity} triggers")
    click.echo("  Ctrl-C stops everything.")


@click.command()
def standalone() -> None:
    """Initialise if needed, create the admin user, run the scheduler, the triggerer and the
    web server; Ctrl-C stops all."""
    settings = get_settings()
    setup_logging(settings)
    stop = stop_on_signals()
    with open_engine() as engine:
        ready = service.get_ready(settings, engine, stop)
    if ready is None:
        return
    with user_errors(TradewindError, crypto.CryptoError):
        settings = ensure_secret_key(settings)
    _banner(settings, ready)
    # Settings again: the first start may have written a fresh fernet_key to tradewind.toml.
    service.run_standalone(load_settings(), open_metastore, stop)
