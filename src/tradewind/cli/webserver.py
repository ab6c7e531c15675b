"""``tradewind webserver`` (alias ``api-server``): the UI and the REST API."""

from __future__ import annotations

from typing import Any

import click
from pydantic import ValidationError

from tradewind.api.secretkey import ensure_secret_key
from tradewind.cli._common import (
    get_settings,
    open_engine,
    open_metastore,
    setup_logging,
    user_errors,
)
from tradewind.exceptions import TradewindError
from tradewind.metastore import crypto, outage
from tradewind.settings import Settings
from tradewind.ui import server


def with_overrides(settings: Settings, **values: Any) -> Settings:
    given = {key: value for key, value in values.items() if value is not None}
    web = settings.webserver.model_validate({**settings.webserver.model_dump(), **given})
    return settings.model_copy(update={"webserver": web})


@click.command()
@click.option("-H", "--host", default=None, help="Listen on this address (webserver.host).")
@click.option("-p", "--port", type=int, default=None, help="Listen on this port (webserver.port).")
@click.option("-w", "--workers", type=int, default=None, help="Worker processes.")
def webserver(host: str | None, port: int | None, workers: int | None) -> None:
    """Serve the web UI and the REST API (never imports DAG files)."""
    try:
        settings = with_overrides(get_settings(), host=host, port=port, workers=workers)
    except ValidationError as exc:
        raise click.ClickException(str(exc).splitlines()[-1]) from None
    setup_logging(settings)
    with open_engine() as engine:
        away = outage.unreachable(engine) is not None  # refused credentials: an error now
    if not away:
        with open_metastore():
            pass  # a clear error now if the metastore is not at head
    # else: the server starts all the same, says it waits, and answers 503 until it can
    with user_errors(TradewindError, crypto.CryptoError):
        settings = ensure_secret_key(settings)
    web = settings.webserver
    click.echo(f"tradewind web server on http://{web.host}:{web.port}/ (Ctrl-C stops it)")
    server.serve(settings)
