"""``tradewind users``: the accounts of the web UI and the REST API."""

from __future__ import annotations

import click

from tradewind import passwords
from tradewind.cli._common import emit, open_metastore, output_option, user_errors
from tradewind.metastore.store import users as user_store
from tradewind.metastore.types import utcnow

COLUMNS = ["username", "role", "email", "active", "created_at", "last_login"]


@click.group()
def users() -> None:
    """Create, list, delete users and reset their passwords."""


def _password(given: str | None) -> tuple[str, bool]:
    """The password to set, and whether it was generated (and must be shown once)."""
    if given:
        return given, False
    return passwords.generate_password(), True


@users.command()
@click.option("-u", "--username", required=True)
@click.option(
    "-r", "--role", required=True, type=click.Choice(user_store.ROLES), help="What they may do."
)
@click.option("-p", "--password", default=None, help="Generated and printed when left out.")
@click.option("-e", "--email", default=None)
def create(username: str, role: str, password: str | None, email: str | None) -> None:
    """Create a user."""
    secret, generated = _password(password)
    with (
        open_metastore() as sessions,
        sessions.begin() as session,
        user_errors(user_store.UserError),
    ):
        user_store.create_user(
            session,
            username=username,
            password_hash=passwords.hash_password(secret),
            role=role,
            email=email,
            now=utcnow(),
        )
    click.echo(f"User {username} created with role {role}.")
    if generated:
        click.echo(f"Password: {secret}")


@users.command("list")
@output_option
def list_(output: str) -> None:
    """List the users."""
    with open_metastore() as sessions, sessions() as session:
        rows = [
            {
                "username": user.username,
                "role": user.role,
                "email": user.email or "",
                "active": user.active,
                "created_at": user.created_at.isoformat(),
                "last_login": user.last_login.isoformat() if user.last_login else None,
            }
            for user in user_store.list_users(session)
        ]
    emit(rows, COLUMNS, output)


@users.command()
@click.option("-u", "--username", required=True)
def delete(username: str) -> None:
    """Delete a user."""
    with open_metastore() as sessions, sessions.begin() as session:
        if not user_store.delete_user(session, username):
            raise click.ClickException(f"no user {username!r}")
    click.echo(f"User {username} deleted.")


@users.command("reset-password")
@click.option("-u", "--username", required=True)
@click.option("-p", "--password", default=None, help="Generated and printed when left out.")
def reset_password(username: str, password: str | None) -> None:
    """Give a user a new password."""
    secret, generated = _password(password)
    with open_metastore() as sessions, sessions.begin() as session:
        if not user_store.set_password(session, username, passwords.hash_password(secret)):
            raise click.ClickException(f"no user {username!r}")
    click.echo(f"Password of {username} changed.")
    if generated:
        click.echo(f"Password: {secret}")
