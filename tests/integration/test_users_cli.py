"""``tradewind users``: create, list, reset a password, delete."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from tradewind import passwords
from tradewind.metastore import engine as engine_module
from tradewind.metastore.store import users as user_store
from tradewind.settings import Settings

Cli = Callable[..., Result]


@pytest.fixture
def settings(
    tmp_path: Path, migrated_db_url: str, make_settings: Callable[..., Settings]
) -> Settings:
    return make_settings(tmp_path, db_url=migrated_db_url)


def _ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.stdout


def _hash(settings: Settings, username: str) -> str:
    engine = engine_module.create_engine(settings.database)
    try:
        with engine_module.session_factory(engine)() as session:
            user = user_store.get_user(session, username)
            assert user is not None
            return user.password_hash
    finally:
        engine.dispose()


def test_users_round_trip(settings: Settings, tradewind_cli: Cli) -> None:
    out = _ok(tradewind_cli(settings, "users", "create", "-u", "ann", "-r", "op", "-p", "pw-1"))
    assert out == "User ann created with role op.\n"
    assert passwords.verify_password("pw-1", _hash(settings, "ann"))
    generated = _ok(tradewind_cli(settings, "users", "create", "-u", "bob", "-r", "viewer"))
    secret = generated.splitlines()[-1].removeprefix("Password: ")
    assert secret
    assert passwords.verify_password(secret, _hash(settings, "bob"))

    listed = json.loads(_ok(tradewind_cli(settings, "users", "list", "-o", "json")))
    assert [(u["username"], u["role"], u["active"]) for u in listed] == [
        ("ann", "op", True),
        ("bob", "viewer", True),
    ]
    assert listed[0]["last_login"] is None

    _ok(tradewind_cli(settings, "users", "reset-password", "-u", "ann", "-p", "pw-2"))
    assert passwords.verify_password("pw-2", _hash(settings, "ann"))
    assert not passwords.verify_password("pw-1", _hash(settings, "ann"))

    _ok(tradewind_cli(settings, "users", "delete", "-u", "bob"))
    listed = json.loads(_ok(tradewind_cli(settings, "users", "list", "-o", "json")))
    assert [u["username"] for u in listed] == ["ann"]


@pytest.mark.parametrize("db_dialect", ["sqlite"])
def test_users_errors_are_one_line(settings: Settings, tradewind_cli: Cli) -> None:
    _ok(tradewind_cli(settings, "users", "create", "-u", "ann", "-r", "op", "-p", "x"))
    for args, expected in (
        (("create", "-u", "ann", "-r", "op", "-p", "y"), "exists already"),
        (("delete", "-u", "ghost"), "no user 'ghost'"),
        (("reset-password", "-u", "ghost", "-p", "z"), "no user 'ghost'"),
    ):
        result = tradewind_cli(settings, "users", *args)
        assert result.exit_code == 1, result.output
        assert result.output.startswith("Error: ")
        assert result.output.strip().count("\n") == 0
        assert expected in result.output
    bad_role = tradewind_cli(settings, "users", "create", "-u", "x", "-r", "root", "-p", "p")
    assert bad_role.exit_code == 2
    assert "root" in bad_role.output
