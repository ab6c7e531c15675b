"""``tradewind db``: create, upgrade, check, reset and downgrade the metastore schema."""

from __future__ import annotations

import click
from sqlalchemy.engine import Engine

from tradewind.cli import dbshell
from tradewind.cli._common import confirm, get_settings, open_engine, user_errors
from tradewind.metastore import crypto, schema
from tradewind.metastore import engine as engine_module
from tradewind.settings import CONFIG_FILE


def _where(engine: Engine) -> str:
    return engine_module.mask_url(engine.url)


@click.group()
def db() -> None:
    """Create, upgrade, check and reset the metastore."""


@db.command()
def init() -> None:
    """Create the schema on an empty database (does nothing if it exists)."""
    with open_engine() as engine:
        result = schema.init_db(engine)
    if result.created:
        click.echo(f"Initialised the metastore at {_where(engine)} (revision {result.revision}).")
    elif result.revision == result.head:
        click.echo(f"Already initialised at {result.revision}; nothing to do.")
    else:
        click.echo(
            f"Already initialised at {result.revision} (head is {result.head}); "
            "run `tradewind db upgrade` to migrate."
        )
    settings = get_settings()
    if not settings.core.fernet_key:
        with user_errors(crypto.CryptoError, OSError):
            crypto.ensure_fernet_key(settings.home)
        click.echo(f"Generated core.fernet_key in {settings.home / CONFIG_FILE} (keep it safe).")


@db.command()
def upgrade() -> None:
    """Apply pending migrations; safe to run again."""
    _upgrade()


@db.command()
def migrate() -> None:
    """Same as upgrade (Airflow's name)."""
    _upgrade()


def _upgrade() -> None:
    with open_engine() as engine:
        result = schema.upgrade_db(engine)
    if not result.changed:
        click.echo(f"Already at head revision {result.to_revision}; nothing to do.")
        return
    start = result.from_revision or "an empty database"
    click.echo(f"Upgraded the metastore at {_where(engine)} from {start} to {result.to_revision}.")


@db.command()
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
def reset(yes: bool) -> None:
    """Drop every tradewind table and create the schema again (all data is lost)."""
    with open_engine() as engine:
        confirm(f"Drop every tradewind table at {_where(engine)} and all their data?", yes)
        result = schema.reset_db(engine)
    click.echo(
        f"Reset the metastore at {_where(engine)}: dropped {len(result.dropped)} tables, "
        f"created the schema at {result.revision}."
    )


@db.command()
def check() -> None:
    """Exit 0 if the database is reachable and at head, 1 otherwise."""
    with open_engine() as engine:
        status = schema.check_db(engine)
    if status.problem is not None:
        raise click.ClickException(status.problem)
    where = _where(engine)
    if status.current is None:
        raise click.ClickException(f"{where} has no tradewind schema; run `tradewind db init`")
    if status.current != status.head:
        raise click.ClickException(
            f"{where} is at revision {status.current} but head is {status.head}; "
            "run `tradewind db upgrade`"
        )
    click.echo(f"OK: {where} is at head revision {status.head}.")


@db.command()
@click.option("--to", "to_revision", required=True, help="Target revision, or 'base' for none.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
def downgrade(to_revision: str, yes: bool) -> None:
    """Undo migrations down to a revision (data in dropped tables is lost)."""
    with open_engine() as engine:
        confirm(f"Downgrade the metastore at {_where(engine)} to {to_revision}?", yes)
        result = schema.downgrade_db(engine, to_revision)
    target = result.to_revision or "base (no tradewind tables left)"
    if result.from_revision == result.to_revision:
        click.echo(f"Already at {target}; nothing to do.")
    else:
        click.echo(
            f"Downgraded the metastore at {_where(engine)} from {result.from_revision} to {target}."
        )


db.add_command(dbshell.shell)
