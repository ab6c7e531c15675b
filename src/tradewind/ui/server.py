"""Run the web server (the app of :mod:`tradewind.ui.app`) with uvicorn: in this process, or
in several worker processes."""

from __future__ import annotations

import logging
import os

import uvicorn

from tradewind.settings import Settings, child_environ
from tradewind.ui.app import create_app

log = logging.getLogger(__name__)


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
        uvicorn.run(create_app(settings), **common)  # type: ignore[arg-type]
        return
    # Worker processes import the app by name; they get these exact settings through the
    # environment, as every child process of tradewind does.
    os.environ.update(child_environ(settings))
    uvicorn.run(
        "tradewind.ui.app:app_from_env",
        factory=True,
        workers=web.workers,
        **common,  # type: ignore[arg-type]
    )
