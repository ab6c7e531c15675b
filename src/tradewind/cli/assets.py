"""``tradewind assets``: list assets, show one, list their events, and record an event from
another system (the DAGs scheduled on the asset run as they would for a task's update)."""

from __future__ import annotations

import json
from typing import Any

import click

from tradewind import limits
from tradewind.cli._common import emit, get_settings, open_metastore, output_option, user_errors
from tradewind.metastore.store import assetevents, assetlists
from tradewind.metastore.types import utcnow

LIST_COLUMNS = ["id", "uri", "name", "group", "producing_tasks", "scheduled_dags"]
DETAIL_COLUMNS = [
    "id",
    "uri",
    "name",
    "group",
    "extra",
    "created_at",
    "updated_at",
    "producing_tasks",
    "consuming_tasks",
    "scheduled_dags",
    "aliases",
    "last_event",
]
EVENT_COLUMNS = ["id", "uri", "timestamp", "source", "extra", "created_dagruns"]
# Far more than any asset has, and than a terminal shows.
ALL = 100_000


def _asset_row(entry: assetlists.AssetEntry) -> dict[str, Any]:
    last = entry.last_event
    return {
        "id": entry.id,
        "uri": entry.uri,
        "name": entry.name,
        "group": entry.group,
        "extra": json.dumps(entry.extra),
        "created_at": entry.created_at.isoformat(),
        "updated_at": entry.updated_at.isoformat(),
        "producing_tasks": [f"{t.dag_id}.{t.task_id}" for t in entry.producing_tasks],
        "consuming_tasks": [f"{t.dag_id}.{t.task_id}" for t in entry.consuming_tasks],
        "scheduled_dags": [
            d.dag_id + (f" (alias {d.alias})" if d.alias else "") for d in entry.scheduled_dags
        ],
        "aliases": [alias.name for alias in entry.aliases],
        "last_event": last.timestamp.isoformat() if last else None,
    }


def _event_row(listed: assetevents.ListedEvent) -> dict[str, Any]:
    entry = listed.entry
    source = None
    if entry.source_dag_id is not None:
        source = f"{entry.source_dag_id}.{entry.source_task_id} ({entry.source_run_id})"
        if entry.source_map_index not in (None, -1):
            source += f" [{entry.source_map_index}]"
    return {
        "id": entry.id,
        "uri": entry.uri,
        "timestamp": entry.timestamp.isoformat(),
        "source": source,
        "extra": json.dumps(entry.extra),
        "created_dagruns": [f"{run.dag_id}.{run.run_id}" for run in listed.created_dagruns],
    }


@click.group()
def assets() -> None:
    """List and inspect assets and their events; record an event from another system."""


@assets.command("list")
@output_option
def list_(output: str) -> None:
    """List the assets with what produces them and which DAGs are scheduled on them."""
    with open_metastore() as sessions, sessions() as session:
        found, _ = assetlists.page_assets(session, assetlists.AssetFilter(), limit=ALL, offset=0)
    emit([_asset_row(entry) for entry in found], LIST_COLUMNS, output)


@assets.command()
@click.option("--uri", help="The asset's URI.")
@click.option("--name", help="The asset's name.")
@output_option
def details(uri: str | None, name: str | None, output: str) -> None:
    """Show an asset (by --uri or --name) with all that refers to it."""
    if (uri is None) == (name is None):
        raise click.ClickException("give the asset's --uri or its --name (one of them)")
    with open_metastore() as sessions, sessions() as session:
        if uri is not None:
            one = assetlists.get_asset(session, uri=uri)
            found = [one] if one is not None else []
        else:
            where = assetlists.AssetFilter(name=name)
            found, _ = assetlists.page_assets(session, where, limit=ALL, offset=0)
    if not found:
        named = f"URI {uri!r}" if uri is not None else f"name {name!r}"
        raise click.ClickException(f"no asset with {named}")
    emit([_asset_row(entry) for entry in found], DETAIL_COLUMNS, output)


@assets.command()
@click.option("--uri", help="Only the events of the asset with this URI.")
@click.option(
    "--limit", type=click.IntRange(1, ALL), default=20, show_default=True, help="At most this many."
)
@output_option
def events(uri: str | None, limit: int, output: str) -> None:
    """List asset events, newest first, with the runs each one triggered."""
    with open_metastore() as sessions, sessions() as session:
        if uri is not None and assetlists.asset_id_of(session, uri) is None:
            raise click.ClickException(f"no asset with URI {uri!r}")
        found, _ = assetevents.page_events(
            session, assetevents.EventFilter(uri=uri), order_by="-timestamp", limit=limit, offset=0
        )
    emit([_event_row(listed) for listed in found], EVENT_COLUMNS, output)


def _extra(text: str | None) -> dict[str, Any]:
    """An event's extra from ``--extra``: a JSON object within ``core.max_conf_mb``."""
    if text is None:
        return {}
    try:
        extra = json.loads(text)
    except json.JSONDecodeError as exc:
        raise click.ClickException(f"--extra is not valid JSON: {exc}") from None
    if not isinstance(extra, dict):
        raise click.ClickException("--extra must be a JSON object")
    with user_errors(limits.TooLarge):
        limits.check_json("extra", extra, get_settings().core.max_conf_mb, "core.max_conf_mb")
    return extra


@assets.command()
@click.option("--uri", required=True, help="The asset's URI.")
@click.option("--extra", help="What to attach to the event, a JSON object.")
def event(uri: str, extra: str | None) -> None:
    """Record that an asset was updated by another system: the DAGs scheduled on it run."""
    attached = _extra(extra)
    with open_metastore() as sessions, sessions.begin() as session:
        recorded = assetevents.record_outside(session, uri=uri, extra=attached, now=utcnow())
        if recorded is None:
            raise click.ClickException(f"no asset with URI {uri!r} (a DAG must name it first)")
    click.echo(f"Recorded event {recorded.event.entry.id} of asset {uri}")
    if recorded.queued_for:
        click.echo(f"Queued for DAGs: {', '.join(recorded.queued_for)}")
    else:
        click.echo("No active, unpaused DAG is scheduled on it.")
