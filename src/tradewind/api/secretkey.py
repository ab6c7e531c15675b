"""The web server's secret key (it signs sessions and API tokens): configured, or generated
once into tradewind.toml. Light on purpose: ``tradewind standalone`` needs it before it starts
the web server in a process of its own."""

from __future__ import annotations

import os

from tradewind.metastore import crypto
from tradewind.settings import Settings


def ensure_secret_key(settings: Settings) -> Settings:
    """Settings with a ``webserver.secret_key``, generated into tradewind.toml if there is none."""
    if settings.webserver.secret_key:
        return settings
    key = crypto.ensure_generated(
        settings.home, "webserver", "secret_key", lambda: os.urandom(32).hex()
    )
    web = settings.webserver.model_copy(update={"secret_key": key})
    return settings.model_copy(update={"webserver": web})
