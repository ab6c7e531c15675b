"""``tradewind config``: show the effective settings."""

from __future__ import annotations

import json
from typing import Any

import click
from sqlalchemy.engine import make_url

from tradewind.cli._common import get_settings, user_errors
from tradewind.settings import SettingsError


@click.group()
def config() -> None:
    """Show the effective settings (defaults < tradewind.toml < environment)."""


@config.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of TOML-like text.")
@click.option("--show-secrets", is_flag=True, help="Print secret values in clear.")
def list_(as_json: bool, show_secrets: bool) -> None:
    """Print every setting with its effective value (secrets as *** unless asked)."""
    sections = get_settings().sections()
    if not show_secrets:
        sections = hide_secrets(sections)
    if as_json:
        click.echo(json.dumps(sections, indent=2))
        return
    for name, values in sections.items():
        click.echo(f"[{name}]")
        for key, value in values.items():
            click.echo(f"{key} = {json.dumps(value)}")
        click.echo()


def hide_secrets(sections: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The Fernet key, the web server's secret key, the SMTP password and the database
    password replaced by ***."""
    out = {name: dict(values) for name, values in sections.items()}
    for section, key in (
        ("core", "fernet_key"),
        ("webserver", "secret_key"),
        ("smtp", "smtp_password"),
    ):
        if out.get(section, {}).get(key):
            out[section][key] = "***"
    url = make_url(out["database"]["url"])
    if url.password:
        out["database"]["url"] = url.render_as_string(hide_password=True)
    return out


@config.command("get")
@click.argument("section")
@click.argument("key")
def get(section: str, key: str) -> None:
    """Print the value of one setting."""
    with user_errors(SettingsError):
        value = get_settings().get(section, key)
    click.echo(value if isinstance(value, str) else json.dumps(value))


# Airflow's name for the same command.
config.add_command(get, "get-value")
