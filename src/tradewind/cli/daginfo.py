"""``tradewind dags details`` and ``dags delete``: what the API's ``/dags/{dag_id}/details``
answers, and its ``DELETE /dags/{dag_id}``, on the command line."""

from __future__ import annotations

import getpass
import json
from datetime import UTC, datetime
from typing import Any

import click
from sqlalchemy.orm import Session

from tradewind.api.errors import ApiError
from tradewind.api.routes import meta
from tradewind.api.security import Principal, Role
from tradewind.cli._common import confirm, open_metastore, user_errors
from tradewind.metastore.store import audit as audit_store
from tradewind.metastore.store import dags as dag_store

_CLI = Principal(username=None, role=Role.VIEWER, via="cli")


@click.command()
@click.argument("dag_id")
@click.option(
    "-o",
    "--output",
    type=click.Choice(("table", "json")),
    default="table",
    show_default=True,
    help="Output format.",
)
def details(dag_id: str, output: str) -> None:
    """Show a DAG's details: schedule, dates, params, docs and task defaults."""
    with open_metastore() as sessions, sessions() as session, user_errors(ApiError):
        found = meta.get_dag_details(dag_id, session=session, who=_CLI)
    fields = found.model_dump(mode="json")
    if output == "json":
        click.echo(json.dumps(fields, indent=2))
        return
    width = max(len(key) for key in fields)
    for key, value in fields.items():
        click.echo(f"{key:<{width}}  {_shown(value)}")


def _shown(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return ", ".join(value)
    if isinstance(value, dict | list):
        return json.dumps(value) if value else ""
    if isinstance(value, str) and "\n" in value:
        return value.replace("\n", "\n" + " " * 4)
    return str(value)


@click.command()
@click.argument("dag_id")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
def delete(dag_id: str, yes: bool) -> None:
    """Delete a DAG's records: runs, task instances, XComs, versions, tags.

    A DAG file still in the DAGs folder registers the DAG again when it is next parsed.
    """
    with open_metastore() as sessions:
        with sessions() as session:
            found = dag_store.get_dag(session, dag_id) is not None
        if not found:
            raise click.ClickException(
                f"no DAG {dag_id!r} is registered (see `tradewind dags list`)"
            )
        confirm(f"Delete DAG {dag_id!r} with all its runs, task instances and XComs?", yes)
        with sessions.begin() as session:
            _delete(session, dag_id)
    click.echo(f"Deleted DAG {dag_id}.")


def _delete(session: Session, dag_id: str) -> None:
    if not dag_store.delete_dag(session, dag_id):
        raise click.ClickException(f"DAG {dag_id!r} was deleted meanwhile")
    audit_store.record(
        session,
        event="delete_dag",
        owner=getpass.getuser(),
        now=datetime.now(UTC),
        dag_id=dag_id,
        extra={"via": "cli"},
    )
