"""``tradewind standalone``: the whole system in one command, on the embedded default."""

from __future__ import annotations

import subprocess
import sys

import click

from tradewind.api.secretkey import ensure_secret_key
from tradewind.cli._common import (
    get_settings,
    open_engine,
    open_metastore,
    setup_logging,
    user_errors,
)
from tradewind.cli.scheduler import stop_on_signals
from tradewind.exceptions import TradewindError
from tradewind.metastore import crypto, outage
from tradewind.metastore import engine as engine_module
from tradewind.metastore.bootstrap import prepare
from tradewind.scheduler.service import run_scheduler
from tradewind.settings import child_environ, load_settings


@click.command()
def standalone() -> None:
    """Initialise if needed, create the admin user, run the scheduler and the web server;
    Ctrl-C stops all."""
    settings = get_settings()
    setup_logging(settings)
    stop = stop_on_signals()
    with open_engine() as engine:
        if not outage.wait_for_database(engine, stop, "tradewind standalone"):
            return
        prepared = prepare(settings, engine)
        where = engine_module.mask_url(engine.url)
    with user_errors(TradewindError, crypto.CryptoError):
        settings = ensure_secret_key(settings)
    web = settings.webserver
    click.echo(f"tradewind standalone: http://{web.host}:{web.port}/")
    click.echo(f"  metastore {where}")
    click.echo(f"  DAGs folder: {settings.core.dags_folder}")
    click.echo(f"  executor: {settings.core.executor} (parallelism {settings.core.parallelism})")
    if prepared.admin_password:
        click.echo(f"  login: admin  password: {prepared.admin_password}")
        click.echo(f"  (also saved in {prepared.password_file})")
    else:
        click.echo(f"  login: admin (password in {prepared.password_file})")
    click.echo("  Ctrl-C stops everything.")
    # Settings again: the first start may have written a fresh fernet_key to tradewind.toml.
    settings = load_settings()
    webserver = subprocess.Popen(
        [sys.executable, "-m", "tradewind", "webserver"], env=child_environ(settings)
    )
    try:
        with open_metastore() as sessions:
            run_scheduler(settings, sessions, stop)
    finally:
        webserver.terminate()
        try:
            webserver.wait(timeout=10)
        except subprocess.TimeoutExpired:
            webserver.kill()
            webserver.wait()
