"""``tradewind version`` and ``tradewind info``: what is installed and how it is configured."""

from __future__ import annotations

import importlib.util
import json
import platform
import sys

import click

from tradewind.cli._common import get_settings
from tradewind.metastore import engine as engine_module
from tradewind.settings import CONFIG_FILE, Settings
from tradewind.version import __version__

# extra -> the module whose presence says it is installed
EXTRAS: dict[str, str] = {
    "celery": "celery",
    "kubernetes": "kubernetes",
    "postgres": "psycopg",
    "mysql": "pymysql",
    "statsd": "statsd",
    "otel": "opentelemetry.sdk",
}


@click.command()
def version() -> None:
    """Print tradewind's version."""
    click.echo(__version__)


def installed_extras() -> list[str]:
    """The optional extras whose package can be imported here."""
    return [name for name, module in EXTRAS.items() if _present(module)]


def _present(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # a dotted name whose parent package is missing
        return False


def describe(settings: Settings) -> dict[str, str]:
    """What ``info`` shows, in order (the database password masked)."""
    config_file = settings.home / CONFIG_FILE
    return {
        "version": __version__,
        "python": f"{platform.python_version()} ({sys.executable})",
        "platform": platform.platform(),
        "home": str(settings.home),
        "settings_file": str(config_file) if config_file.is_file() else f"{config_file} (none)",
        "metastore": engine_module.mask_url(settings.database.url),
        "executor": settings.core.executor,
        "dags_folder": str(settings.core.dags_folder),
        "extras": ", ".join(installed_extras()) or "none",
    }


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object instead of text.")
def info(as_json: bool) -> None:
    """Show the version, Python, platform, settings file, metastore and installed extras."""
    facts = describe(get_settings())
    if as_json:
        click.echo(json.dumps(facts, indent=2))
        return
    width = max(len(key) for key in facts)
    for key, value in facts.items():
        click.echo(f"{key:<{width}}  {value}")
