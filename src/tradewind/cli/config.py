"""``tradewind config``: show the effective settings."""

from __future__ import annotations

import json

import click

from tradewind.cli._common import get_settings, user_errors
from tradewind.settings import SettingsError


@click.group()
def config() -> None:
    """Show the effective settings (defaults < tradewind.toml < environment)."""


@config.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of TOML-like text.")
def list_(as_json: bool) -> None:
    """Print every setting with its effective value."""
    sections = get_settings().sections()
    if as_json:
        click.echo(json.dumps(sections, indent=2))
        return
    for name, values in sections.items():
        click.echo(f"[{name}]")
        for key, value in values.items():
            click.echo(f"{key} = {json.dumps(value)}")
        click.echo()


@config.command("get")
@click.argument("section")
@click.argument("key")
def get(section: str, key: str) -> None:
    """Print the value of one setting."""
    with user_errors(SettingsError):
        value = get_settings().get(section, key)
    click.echo(value if isinstance(value, str) else json.dumps(value))
