"""``tradewind version``, ``tradewind info`` and ``config get-value`` (Airflow's spelling of
``config get``)."""

from __future__ import annotations

import importlib.util
import json
import platform
from pathlib import Path

from click.testing import CliRunner

from tradewind.cli import cli
from tradewind.settings import load_settings
from tradewind.version import __version__


def test_version_prints_the_version() -> None:
    result = CliRunner().invoke(cli, ["version"])
    assert result.exit_code == 0
    assert result.output == f"{__version__}\n"


def test_info_shows_where_things_are_with_the_password_masked(tmp_path: Path) -> None:
    (tmp_path / "tradewind.toml").write_text('[core]\nexecutor = "sequential"\n')
    settings = load_settings(
        environ={},
        home=tmp_path,
        overrides={"database": {"url": "postgresql://me:hunter2@db.example/tw"}},
    )
    text = CliRunner().invoke(cli, ["info"], obj=settings)
    assert text.exit_code == 0, text.output
    assert "hunter2" not in text.output
    lines = dict(line.split(None, 1) for line in text.output.splitlines())
    assert lines["version"] == __version__
    assert lines["python"].startswith(platform.python_version())
    assert lines["settings_file"] == str(tmp_path / "tradewind.toml")
    assert lines["executor"] == "sequential"
    assert lines["metastore"].startswith("postgresql")
    assert "me:***@db.example/tw" in lines["metastore"]
    assert lines["dags_folder"] == str(settings.core.dags_folder)
    as_json = CliRunner().invoke(cli, ["info", "--json"], obj=settings)
    facts = json.loads(as_json.output)
    assert facts["metastore"] == lines["metastore"]
    listed = facts["extras"].split(", ")
    for extra, module in [("celery", "celery"), ("postgres", "psycopg"), ("mysql", "pymysql")]:
        assert (extra in listed) == (importlib.util.find_spec(module) is not None)


def test_info_says_when_there_is_no_settings_file(tmp_path: Path) -> None:
    settings = load_settings(environ={}, home=tmp_path)
    result = CliRunner().invoke(cli, ["info", "--json"], obj=settings)
    assert json.loads(result.output)["settings_file"] == f"{tmp_path / 'tradewind.toml'} (none)"


def test_config_get_value_is_config_get(tmp_path: Path) -> None:
    settings = load_settings(environ={}, home=tmp_path, overrides={"core": {"parallelism": 7}})
    runner = CliRunner()
    for name in ("get", "get-value"):
        got = runner.invoke(cli, ["config", name, "core", "parallelism"], obj=settings)
        assert got.exit_code == 0, got.output
        assert got.output == "7\n"
        unknown = runner.invoke(cli, ["config", name, "core", "nope"], obj=settings)
        assert unknown.exit_code == 1
        assert unknown.output == "Error: unknown key core.nope\n"
