"""``tradewind celery worker|flower|stop``: the Celery side of the celery executor (a worker
node is :func:`tradewind.executors.celery.node.run_worker`).

Celery is an optional extra; without it each command is a one-line error with the pip command.
"""

from __future__ import annotations

from typing import Any

import click

from tradewind.cli._common import get_settings, open_engine, setup_logging, stop_on_signals
from tradewind.metastore import outage

INSTALL_HINT = "tradewind celery needs the celery extra: pip install 'tradewind[celery]'"


def _app() -> Any:
    settings = get_settings()
    try:
        from tradewind.executors.celery.app import make_app

        return make_app(settings)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.partition(".")[0] in {"celery", "kombu", "redis", "flower"}:
            raise click.ClickException(INSTALL_HINT) from None
        raise


@click.group()
def celery() -> None:
    """Run Celery workers and Flower for the celery executor."""


@celery.command()
@click.option(
    "-q",
    "--queues",
    default=None,
    help="Comma-separated queues to take tries from (default: celery.default_queue).",
)
@click.option(
    "-c",
    "--concurrency",
    type=click.IntRange(min=1),
    default=None,
    help="Tries run at once (default: celery.worker_concurrency).",
)
@click.option(
    "-n",
    "--name",
    "hostname",
    default=None,
    help="Worker node name (e.g. w1@%h; default: tradewind-<pid>@<host>, unique on the host).",
)
@click.option(
    "-l",
    "--loglevel",
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
    default="INFO",
    show_default=True,
)
def worker(
    queues: str | None, concurrency: int | None, hostname: str | None, loglevel: str
) -> None:
    """Run a Celery worker: each try runs in a child process of its own."""
    settings = get_settings()
    app = _app()
    from tradewind.executors.celery import node
    from tradewind.metastore.store import claims

    setup_logging(settings)
    with open_engine() as engine:
        # Claims need the metastore: take no try before it answers (saying once that it waits).
        if not outage.wait_for_database(engine, stop_on_signals(), "the celery worker"):
            return
    node.run_worker(
        app,
        settings,
        claim_try=claims.claim,
        queues=queues,
        concurrency=concurrency,
        hostname=hostname,
        loglevel=loglevel,
    )


@celery.command()
@click.option("--port", type=click.IntRange(0, 65535), default=5555, show_default=True)
@click.option("--address", default="127.0.0.1", show_default=True, help="Address to listen on.")
def flower(port: int, address: str) -> None:
    """Run Flower, Celery's monitoring UI, for the configured broker."""
    app = _app()
    app.start(["flower", f"--port={port}", f"--address={address}"])


@celery.command()
def stop() -> None:
    """Ask every worker to shut down warmly (tries already running finish first)."""
    app = _app()
    app.control.shutdown()
    click.echo("asked the workers to stop")
