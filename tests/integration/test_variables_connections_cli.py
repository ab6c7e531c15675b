"""``tradewind variables`` and ``tradewind connections`` as a user runs them, on each dialect."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from tradewind.metastore import crypto
from tradewind.settings import Settings, child_environ

Cli = Callable[..., Result]
SettingsMaker = Callable[..., Settings]


@pytest.fixture
def settings(tmp_path: Path, migrated_db_url: str, make_settings: SettingsMaker) -> Settings:
    return make_settings(
        tmp_path, db_url=migrated_db_url, core={"fernet_key": crypto.generate_key()}
    )


def _ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    return result.stdout


def _one_line_error(result: Result, expected: str) -> None:
    assert result.exit_code == 1, result.output
    assert result.output.startswith("Error: "), result.output
    assert result.output.strip().count("\n") == 0, result.output
    assert expected in result.output


def test_variables_round_trip(settings: Settings, tradewind_cli: Cli, tmp_path: Path) -> None:
    _ok(tradewind_cli(settings, "variables", "set", "region", "eu-west-1", "--description", "d"))
    _ok(tradewind_cli(settings, "variables", "set", "cfg", '{"rows": [1, 2]}', "--json"))
    assert _ok(tradewind_cli(settings, "variables", "get", "region")) == "eu-west-1\n"
    decoded = json.loads(_ok(tradewind_cli(settings, "variables", "get", "cfg", "--json")))
    assert decoded == {"rows": [1, 2]}
    listed = json.loads(_ok(tradewind_cli(settings, "variables", "list", "-o", "json")))
    assert listed == [
        {"key": "cfg", "description": None, "is_encrypted": True},
        {"key": "region", "description": "d", "is_encrypted": True},
    ]
    exported = tmp_path / "vars.json"
    _ok(tradewind_cli(settings, "variables", "export", str(exported)))
    assert json.loads(exported.read_text()) == {"cfg": {"rows": [1, 2]}, "region": "eu-west-1"}
    _ok(tradewind_cli(settings, "variables", "delete", "region"))
    _one_line_error(tradewind_cli(settings, "variables", "get", "region"), "does not exist")
    assert _ok(tradewind_cli(settings, "variables", "get", "region", "-d", "none")) == "none\n"
    output = _ok(tradewind_cli(settings, "variables", "import", str(exported)))
    assert "1 created, 1 updated, 0 skipped" in output
    assert _ok(tradewind_cli(settings, "variables", "get", "region")) == "eu-west-1\n"


@pytest.mark.parametrize("db_dialect", ["sqlite"], indirect=True)
def test_variables_bad_input_is_one_line(
    settings: Settings, tradewind_cli: Cli, tmp_path: Path
) -> None:
    _one_line_error(
        tradewind_cli(settings, "variables", "set", "k", "{not json", "--json"), "VALUE is not JSON"
    )
    _one_line_error(tradewind_cli(settings, "variables", "delete", "nope"), "does not exist")
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    _one_line_error(
        tradewind_cli(settings, "variables", "import", str(bad)), "must be a JSON object"
    )
    _one_line_error(
        tradewind_cli(settings, "variables", "import", str(tmp_path / "missing.json")),
        "cannot read",
    )
    wrong_key = settings.model_copy(
        update={"core": settings.core.model_copy(update={"fernet_key": "short"})}
    )
    _one_line_error(
        tradewind_cli(wrong_key, "variables", "set", "k", "v"), "not a valid Fernet key"
    )


def test_connections_round_trip(settings: Settings, tradewind_cli: Cli) -> None:
    uri = "postgres://bob:s3cr%40t@db.example.com:5432/sales?sslmode=require"
    _ok(tradewind_cli(settings, "connections", "add", "warehouse", "--conn-uri", uri))
    _ok(
        tradewind_cli(
            settings,
            "connections",
            "add",
            "api",
            "--conn-type",
            "http",
            "--conn-host",
            "api.example.com",
            "--conn-password",
            "tok-12345",
            "--conn-extra",
            '{"api_key": "k-999", "timeout": 5}',
        )
    )
    listed = json.loads(_ok(tradewind_cli(settings, "connections", "list", "-o", "json")))
    assert [c["conn_id"] for c in listed] == ["api", "warehouse"]
    assert {c["password"] for c in listed} == {"***"}
    assert json.loads(listed[0]["extra"]) == {"api_key": "***", "timeout": 5}
    table = _ok(tradewind_cli(settings, "connections", "list"))
    for secret in ("s3cr@t", "tok-12345", "k-999"):
        assert secret not in table
    shown = json.loads(
        _ok(tradewind_cli(settings, "connections", "get", "warehouse", "-o", "json"))
    )
    assert shown["host"] == "db.example.com"
    assert shown["port"] == 5432
    assert shown["password"] == "***"
    _one_line_error(
        tradewind_cli(settings, "connections", "add", "api", "--conn-type", "http"),
        "already exists",
    )
    _ok(tradewind_cli(settings, "connections", "delete", "api"))
    _one_line_error(tradewind_cli(settings, "connections", "get", "api"), "does not exist")


@pytest.mark.parametrize("db_dialect", ["sqlite"], indirect=True)
def test_connections_bad_input_is_one_line(settings: Settings, tradewind_cli: Cli) -> None:
    _one_line_error(tradewind_cli(settings, "connections", "add", "c"), "give --conn-uri")
    _one_line_error(
        tradewind_cli(
            settings, "connections", "add", "c", "--conn-uri", "http://h", "--conn-host", "x"
        ),
        "not both",
    )
    _one_line_error(
        tradewind_cli(settings, "connections", "add", "c", "--conn-uri", "no-scheme"), "no type"
    )
    _one_line_error(
        tradewind_cli(
            settings, "connections", "add", "c", "--conn-type", "http", "--conn-extra", "[1]"
        ),
        "not a JSON object",
    )
    _one_line_error(tradewind_cli(settings, "connections", "delete", "c"), "does not exist")


@pytest.mark.parametrize("db_dialect", ["sqlite"], indirect=True)
def test_the_installed_commands(settings: Settings, tradewind_cli: Cli) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "tradewind", *args],
            env=child_environ(settings),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    _ok(tradewind_cli(settings, "variables", "set", "token", "abc123"))
    _ok(tradewind_cli(settings, "connections", "add", "c", "--conn-uri", "mysql://u:p@h/db"))
    got = run("variables", "get", "token")
    assert (got.returncode, got.stdout) == (0, "abc123\n")
    listed = run("connections", "list", "-o", "plain")
    assert listed.stdout.split("\t")[:6] == ["c", "mysql", "h", "", "u", "***"]
