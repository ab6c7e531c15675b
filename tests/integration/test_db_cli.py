from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import Result

from tradewind.metastore import engine as engine_module
from tradewind.metastore.models import VERSION_TABLE, Pool
from tradewind.metastore.revision import HEAD
from tradewind.settings import DatabaseSettings, Settings

Cli = Callable[..., Result]
SettingsMaker = Callable[..., Settings]


def _ok(result: Result, expected: str) -> None:
    assert result.exit_code == 0, result.output
    assert expected in result.output


def _one_line_error(result: Result, expected: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.output.startswith("Error: "), result.output
    assert result.output.strip().count("\n") == 0, result.output
    assert "Traceback" not in result.output
    assert expected in result.output


def _execute(url: str, *statements: str) -> None:
    engine = engine_module.create_engine(DatabaseSettings(url=url))
    try:
        with engine.begin() as connection:
            for statement in statements:
                connection.execute(sa.text(statement))
    finally:
        engine.dispose()


def _tables(url: str) -> set[str]:
    engine = engine_module.create_engine(DatabaseSettings(url=url))
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _pool_slots(url: str) -> int:
    engine = engine_module.create_engine(DatabaseSettings(url=url))
    try:
        with engine.connect() as connection:
            return int(connection.execute(sa.select(Pool.slots)).scalar_one())
    finally:
        engine.dispose()


@pytest.fixture
def settings_for(make_settings: SettingsMaker, tmp_path: Path) -> Callable[[str], Settings]:
    return lambda url: make_settings(tmp_path, url)


def test_init_twice_then_check(
    db_url: str, settings_for: Callable[[str], Settings], tradewind_cli: Cli
) -> None:
    settings = settings_for(db_url)
    _ok(tradewind_cli(settings, "db", "init"), "Initialised the metastore at")
    _ok(tradewind_cli(settings, "db", "init"), f"Already initialised at {HEAD}; nothing to do.")
    _ok(tradewind_cli(settings, "db", "check"), f"is at head revision {HEAD}")


def test_upgrade_creates_the_schema_and_is_idempotent(
    db_url: str, settings_for: Callable[[str], Settings], tradewind_cli: Cli
) -> None:
    settings = settings_for(db_url)
    _one_line_error(tradewind_cli(settings, "db", "check"), "run `tradewind db init`")
    _ok(tradewind_cli(settings, "db", "upgrade"), f"from an empty database to {HEAD}")
    _ok(
        tradewind_cli(settings, "db", "upgrade"), f"Already at head revision {HEAD}; nothing to do."
    )
    _ok(tradewind_cli(settings, "db", "migrate"), "nothing to do")
    assert _pool_slots(db_url) == 128


def test_reset_asks_first_and_recreates_with_yes(
    db_url: str, settings_for: Callable[[str], Settings], tradewind_cli: Cli
) -> None:
    settings = settings_for(db_url)
    tradewind_cli(settings, "db", "init")
    _execute(db_url, "UPDATE slot_pool SET slots = 7")
    _one_line_error(tradewind_cli(settings, "db", "reset"), "pass --yes")
    assert _pool_slots(db_url) == 7
    recreated = f"tables, created the schema at {HEAD}"
    _ok(tradewind_cli(settings, "db", "reset", "--yes"), recreated)
    assert _pool_slots(db_url) == 128


def test_downgrade_to_base_then_upgrade(
    db_url: str, settings_for: Callable[[str], Settings], tradewind_cli: Cli
) -> None:
    settings = settings_for(db_url)
    tradewind_cli(settings, "db", "init")
    _ok(tradewind_cli(settings, "db", "downgrade", "--to", "base", "--yes"), f"from {HEAD} to base")
    assert _tables(db_url) == {VERSION_TABLE}
    _one_line_error(tradewind_cli(settings, "db", "check"), "no tradewind schema")
    _ok(tradewind_cli(settings, "db", "upgrade"), f"to {HEAD}")
    _ok(tradewind_cli(settings, "db", "check"), "OK")


COMMANDS = [
    ("db", "init"),
    ("db", "upgrade"),
    ("db", "reset", "--yes"),
    ("db", "downgrade", "--to", "base", "--yes"),
    ("db", "check"),
]


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://postgres:hunter2@127.0.0.1:1/tradewind",
        "mysql://root:hunter2@127.0.0.1:1/tradewind",
    ],
)
def test_an_unreachable_server_is_a_one_line_error(
    url: str, settings_for: Callable[[str], Settings], tradewind_cli: Cli
) -> None:
    settings = settings_for(url)
    for command in COMMANDS:
        result = tradewind_cli(settings, *command)
        _one_line_error(result, "cannot reach the database at")
        assert "hunter2" not in result.output


@pytest.mark.parametrize(
    "db_dialect",
    [
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("mysql", marks=pytest.mark.mysql),
    ],
)
def test_refused_credentials_are_a_one_line_error_and_drop_nothing(
    db_url: str, settings_for: Callable[[str], Settings], tradewind_cli: Cli
) -> None:
    # The local PostgreSQL trusts every user it knows, so an unknown user stands in for a
    # wrong password there; MariaDB refuses the unknown user itself.
    tradewind_cli(settings_for(db_url), "db", "init")
    wrong = sa.make_url(db_url).set(username="tw_nobody", password="hunter2")
    settings = settings_for(wrong.render_as_string(hide_password=False))
    for command in COMMANDS:
        result = tradewind_cli(settings, *command)
        _one_line_error(result, "refused the connection")
        assert "hunter2" not in result.output
    _ok(tradewind_cli(settings_for(db_url), "db", "check"), "OK")


def test_a_database_of_a_newer_tradewind_is_refused_and_kept(
    db_url: str, settings_for: Callable[[str], Settings], tradewind_cli: Cli
) -> None:
    settings = settings_for(db_url)
    tradewind_cli(settings, "db", "init")
    _execute(db_url, f"UPDATE {VERSION_TABLE} SET version_num = '0099'")
    before = _tables(db_url)
    for command in COMMANDS:
        _one_line_error(
            tradewind_cli(settings, *command),
            "is at revision 0099 which this tradewind does not know; upgrade tradewind",
        )
    assert _tables(db_url) == before


def test_a_database_of_another_application_is_refused_and_kept(
    db_url: str, settings_for: Callable[[str], Settings], tradewind_cli: Cli
) -> None:
    settings = settings_for(db_url)
    _execute(
        db_url,
        "CREATE TABLE invoices (id INTEGER PRIMARY KEY, total INTEGER)",
        "INSERT INTO invoices (id, total) VALUES (1, 42)",
    )
    for command in COMMANDS[:3]:
        _one_line_error(
            tradewind_cli(settings, *command),
            "is not a tradewind database: it holds other tables (invoices)",
        )
    assert _tables(db_url) == {"invoices"}


def test_the_installed_command_initialises_the_default_database(tmp_path: Path) -> None:
    environment = {"TRADEWIND_HOME": str(tmp_path), "HOME": str(tmp_path)}
    command = [sys.executable, "-m", "tradewind", "db", "init"]
    done = subprocess.run(
        command, env=environment, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert f"Initialised the metastore at sqlite:///{tmp_path / 'tradewind.db'}" in done.stdout
    assert (tmp_path / "tradewind.db").is_file()
