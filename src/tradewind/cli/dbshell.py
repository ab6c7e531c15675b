"""``tradewind db shell``: the metastore's own command-line client, connected.

SQLite opens in ``sqlite3``, PostgreSQL in ``psql``, MySQL and MariaDB in ``mysql`` (or
``mariadb``). The password goes through the client's environment variable (``PGPASSWORD``,
``MYSQL_PWD``), never on the command line, where other users could read it.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import click
from sqlalchemy.engine import URL

from tradewind.cli._common import get_settings, user_errors
from tradewind.metastore import engine as engine_module
from tradewind.metastore.errors import DatabaseError


def client_command(url: URL) -> tuple[list[str], dict[str, str]]:
    """The client's argv and the environment additions that connect it to ``url``."""
    backend = url.get_backend_name()
    if backend == "sqlite":
        return [_program("sqlite3"), url.database or ":memory:"], {}
    if backend == "postgresql":
        argv = [_program("psql"), "-h", url.host or "localhost", "-d", url.database or ""]
        argv += ["-U", url.username] if url.username else []
        argv += ["-p", str(url.port)] if url.port else []
        return argv, {"PGPASSWORD": url.password} if url.password else {}
    if backend in ("mysql", "mariadb"):
        argv = [_program("mysql", "mariadb"), "-h", url.host or "localhost"]
        argv += ["-u", url.username] if url.username else []
        argv += ["-P", str(url.port)] if url.port else []
        argv += [url.database] if url.database else []
        return argv, {"MYSQL_PWD": str(url.password)} if url.password else {}
    raise click.ClickException(f"no shell is known for a {backend} metastore")


def _program(*names: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found is not None:
            return found
    raise click.ClickException(
        f"the {' or '.join(names)} client is not installed (or not on the PATH); "
        "install it to open the metastore's shell"
    )


@click.command()
def shell() -> None:
    """Open the metastore's own shell (sqlite3, psql, mysql) connected to it."""
    with user_errors(DatabaseError):
        url = engine_module.parse_url(get_settings().database.url)
    argv, extra = client_command(url)
    click.echo(f"Connecting to {engine_module.mask_url(url)} with {argv[0]}", err=True)
    env = {**os.environ, **extra}
    done = subprocess.run(argv, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(done.returncode)
