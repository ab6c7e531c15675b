"""``tradewind connections``: add, get, list and delete connections (passwords never shown)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import click

from tradewind.cli._common import emit, get_settings, open_metastore, output_option, user_errors
from tradewind.metastore import crypto
from tradewind.metastore.store import connections as connection_store

_ERRORS = (connection_store.ConnectionsError, crypto.CryptoError)
_COLUMNS = [
    "conn_id",
    "conn_type",
    "host",
    "port",
    "login",
    "password",
    "schema",
    "extra",
    "description",
]


def _cipher() -> crypto.Cipher:
    with user_errors(crypto.CryptoError):
        return crypto.Cipher(get_settings().core.fernet_key)


def _row(conn: connection_store.Connection) -> dict[str, Any]:
    return dataclasses.asdict(conn.masked())


@click.group()
def connections() -> None:
    """Manage connections: how tasks reach external systems (``conn.NAME``)."""


@connections.command()
@click.argument("conn_id")
@click.option("--conn-uri", help="The whole connection: type://login:password@host:port/schema")
@click.option("--conn-type", help="The connection type (postgres, http, ...).")
@click.option("--conn-host")
@click.option("--conn-login")
@click.option("--conn-password")
@click.option("--conn-schema")
@click.option("--conn-port", type=click.IntRange(1, 65535))
@click.option("--conn-extra", help="Extra fields as a JSON object.")
@click.option("--conn-description")
def add(
    *,
    conn_id: str,
    conn_uri: str | None,
    conn_type: str | None,
    conn_host: str | None,
    conn_login: str | None,
    conn_password: str | None,
    conn_schema: str | None,
    conn_port: int | None,
    conn_extra: str | None,
    conn_description: str | None,
) -> None:
    """Add a connection from a URI (--conn-uri) or from its fields (--conn-type ...)."""
    fields = (conn_host, conn_login, conn_password, conn_schema, conn_port, conn_extra)
    if conn_uri and (conn_type or any(value is not None for value in fields)):
        raise click.ClickException("give either --conn-uri or --conn-type and fields, not both")
    if not conn_uri and not conn_type:
        raise click.ClickException("give --conn-uri, or --conn-type with the other fields")
    if conn_extra is not None:
        try:
            json.loads(conn_extra)
        except ValueError as exc:
            raise click.ClickException(f"--conn-extra is not JSON: {exc}") from None
    with user_errors(*_ERRORS):
        if conn_uri:
            conn = connection_store.Connection.from_uri(
                conn_id, conn_uri, description=conn_description
            )
        else:
            assert conn_type is not None
            conn = connection_store.Connection(
                conn_id=conn_id,
                conn_type=conn_type,
                host=conn_host,
                login=conn_login,
                password=conn_password,
                schema=conn_schema,
                port=conn_port,
                extra=conn_extra,
                description=conn_description,
            )
    cipher = _cipher()
    with open_metastore() as sessions, sessions.begin() as session, user_errors(*_ERRORS):
        connection_store.add_connection(session, conn, cipher)
    click.echo(f"Connection {conn_id} added.")


@connections.command()
@click.argument("conn_id")
@output_option
def get(conn_id: str, output: str) -> None:
    """Show a connection (the password as ***)."""
    cipher = _cipher()
    with open_metastore() as sessions, sessions() as session, user_errors(*_ERRORS):
        conn = connection_store.get_connection(session, conn_id, cipher)
    if conn is None:
        raise click.ClickException(f"connection {conn_id!r} does not exist")
    if output == "json":
        click.echo(json.dumps(_row(conn), indent=2))
        return
    emit([_row(conn)], _COLUMNS, output)


@connections.command("list")
@output_option
def list_(output: str) -> None:
    """List the connections (passwords as ***)."""
    cipher = _cipher()
    with open_metastore() as sessions, sessions() as session, user_errors(*_ERRORS):
        rows = [
            dataclasses.asdict(conn) for conn in connection_store.list_connections(session, cipher)
        ]
    if output == "table" and not rows:
        click.echo("No connections.")
        return
    emit(rows, _COLUMNS, output)


@connections.command()
@click.argument("conn_id")
def delete(conn_id: str) -> None:
    """Delete a connection."""
    with open_metastore() as sessions, sessions.begin() as session:
        found = connection_store.delete_connection(session, conn_id)
    if not found:
        raise click.ClickException(f"connection {conn_id!r} does not exist")
    click.echo(f"Connection {conn_id} deleted.")
