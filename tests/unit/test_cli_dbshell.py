"""How ``tradewind db shell`` connects each dialect's client: the password never in argv."""

from __future__ import annotations

import shutil

import pytest

from tradewind.cli.dbshell import client_command
from tradewind.metastore.engine import parse_url


@pytest.mark.skipif(shutil.which("psql") is None, reason="the psql client is not installed")
def test_psql_gets_the_password_in_its_environment() -> None:
    argv, env = client_command(parse_url("postgresql://me:hunter2@db.example:6543/tw"))
    assert argv[1:] == ["-h", "db.example", "-d", "tw", "-U", "me", "-p", "6543"]
    assert env == {"PGPASSWORD": "hunter2"}


@pytest.mark.skipif(
    shutil.which("mysql") is None and shutil.which("mariadb") is None,
    reason="neither the mysql nor the mariadb client is installed",
)
def test_mysql_gets_the_password_in_its_environment() -> None:
    argv, env = client_command(parse_url("mysql://me:hunter2@db.example/tw"))
    assert argv[1:] == ["-h", "db.example", "-u", "me", "tw"]
    assert env == {"MYSQL_PWD": "hunter2"}
    assert not any("hunter2" in part for part in argv)
