"""``tradewind pools``: named limits on how many tries run at once."""

from __future__ import annotations

import click

from tradewind.cli._common import emit, open_metastore, output_option, user_errors
from tradewind.metastore.models import Pool
from tradewind.metastore.store import pools as pool_store

COLUMNS = ["pool", "slots", "running", "queued", "description"]


def _row(pool: Pool, usage: dict[str, dict[str, int]]) -> dict[str, object]:
    used = usage.get(pool.pool, {})
    return {
        "pool": pool.pool,
        "slots": pool.slots,
        "running": used.get("running", 0),
        "queued": used.get("queued", 0),
        "description": pool.description or "",
    }


@click.group()
def pools() -> None:
    """Create, show and delete pools."""


@pools.command("set")
@click.argument("name")
@click.argument("slots", type=int)
@click.argument("description", required=False)
@click.option(
    "--include-deferred/--no-include-deferred",
    default=None,
    help="Whether deferred tries take the pool's slots (default: as it was; no for a new pool).",
)
def set_(name: str, slots: int, description: str | None, include_deferred: bool | None) -> None:
    """Create a pool or change its slots."""
    with open_metastore() as sessions, sessions.begin() as session:
        with user_errors(pool_store.PoolError):
            pool = pool_store.set_pool(
                session, name, slots, description, include_deferred=include_deferred
            )
        click.echo(f"Pool {pool.pool}: {pool.slots} slots")


@pools.command()
@click.argument("name")
@output_option
def get(name: str, output: str) -> None:
    """Show one pool."""
    with open_metastore() as sessions, sessions() as session:
        pool = pool_store.get_pool(session, name)
        if pool is None:
            raise click.ClickException(f"no pool {name!r}")
        emit([_row(pool, pool_store.usage(session))], COLUMNS, output)


@pools.command("list")
@output_option
def list_(output: str) -> None:
    """List the pools with their use."""
    with open_metastore() as sessions, sessions() as session:
        usage = pool_store.usage(session)
        rows = [_row(p, usage) for p in pool_store.list_pools(session)]
    emit(rows, COLUMNS, output)


@pools.command()
@click.argument("name")
def delete(name: str) -> None:
    """Delete a pool (default_pool cannot be deleted)."""
    with (
        open_metastore() as sessions,
        sessions.begin() as session,
        user_errors(pool_store.PoolError),
    ):
        found = pool_store.delete_pool(session, name)
    if not found:
        raise click.ClickException(f"no pool {name!r}")
    click.echo(f"Deleted pool {name}")
