"""Run the web server with uvicorn: in this process, or in several worker processes."""

from __future__ import annotations

import logging
import os

import uvicorn

from tradewind.metastore import crypto
from tradewind.settings import Settings, child_environ

log = logging.getLogger(__name__)


def ensure_secret_key(settings: Settings) -> Settings:
    """Settings with a ``webserver.secret_key``, generated into tradewind.toml if there is none."""
    if settings.webserver.secret_key:
        return settings
    key = crypto.ensure_generated(
        settings.home, "webserver", "secret_key", lambda: os.urandom(32).hex()
    )
    web = settings.webserver.model_copy(update={"secret_key": key})
    return settings.model_copy(update={"webserver": web})


def serve(settings: Settings) -> None:
    """Serve until interrupted (SIGINT or SIGTERM end it gracefully)."""
    web = settings.webserver
    common = {
        "host": web.host,
        "port": web.port,
        "access_log": web.access_log,
        "log_level": settings.logging.level.lower(),
        "timeout_graceful_shutdown": 5,
    }
    if web.workers == 1:
        from tradewind.api.app import create_app

        uvicorn.run(create_app(settings), **common)  # type: ignore[arg-type]
        return
    # Worker processes import the app by name; they get these exact settings through the
    # environment, as every child process of tradewind does.
    os.environ.update(child_environ(settings))
    uvicorn.run(
        "tradewind.api.app:app_from_env",
        factory=True,
        workers=web.workers,
        **common,  # type: ignore[arg-type]
    )
