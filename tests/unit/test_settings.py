"""Settings: defaults < tradewind.toml < TRADEWIND__SECTION__KEY, one error per bad key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from tradewind.cli import cli
from tradewind.settings import SettingsError, load_settings


def test_defaults_live_under_the_home(tmp_path: Path) -> None:
    settings = load_settings(environ={"TRADEWIND_HOME": str(tmp_path)})
    assert settings.home == tmp_path.resolve()
    assert settings.core.dags_folder == tmp_path.resolve() / "dags"
    assert settings.database.url == f"sqlite:///{tmp_path.resolve() / 'tradewind.db'}"
    assert settings.core.executor == "local"
    assert settings.core.parallelism == 32


def test_the_file_overrides_defaults_and_the_environment_overrides_the_file(
    tmp_path: Path,
) -> None:
    (tmp_path / "tradewind.toml").write_text(
        '[core]\nparallelism = 8\nexecutor = "sequential"\n[dag_processor]\nrefresh_interval = 2\n'
    )
    env = {"TRADEWIND_HOME": str(tmp_path), "TRADEWIND__CORE__PARALLELISM": "4"}
    settings = load_settings(environ=env)
    assert settings.core.parallelism == 4
    assert settings.core.executor == "sequential"
    assert settings.dag_processor.refresh_interval == 2


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({"TRADEWIND__CORE__PARALLELISM": "many"}, "TRADEWIND__CORE__PARALLELISM"),
        ({"TRADEWIND__CORE__EXECUTOR": "threads"}, "core.executor"),
        ({"TRADEWIND__CORE__NOPE": "1"}, "core.nope"),
        ({"TRADEWIND__NOPE__KEY": "1"}, "[nope]"),
        ({"TRADEWIND__CORE__DEFAULT_TIMEZONE": "Mars/Base"}, "core.default_timezone"),
        ({"TRADEWIND__CORE": "1"}, "TRADEWIND__CORE"),
    ],
)
def test_bad_settings_name_the_key(tmp_path: Path, env: dict[str, str], names: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(environ={"TRADEWIND_HOME": str(tmp_path), **env})
    assert names in str(caught.value)


def test_an_unknown_key_in_the_file_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "tradewind.toml").write_text("[core]\nparalelism = 8\n")
    with pytest.raises(SettingsError) as caught:
        load_settings(environ={"TRADEWIND_HOME": str(tmp_path)})
    assert "tradewind.toml" in str(caught.value)
    assert "core.paralelism" in str(caught.value)


def test_settings_are_frozen(tmp_path: Path) -> None:
    settings = load_settings(environ={"TRADEWIND_HOME": str(tmp_path)})
    with pytest.raises(ValueError, match="frozen"):
        settings.core.parallelism = 1  # type: ignore[misc]


def test_a_child_gets_exactly_its_parents_settings(tmp_path: Path) -> None:
    settings = load_settings(environ={}, home=tmp_path, overrides={"core": {"parallelism": 3}})
    assert load_settings(environ=settings.to_env()) == settings


def test_config_get_and_list(tmp_path: Path) -> None:
    settings = load_settings(
        environ={},
        home=tmp_path,
        overrides={
            "database": {"url": "postgresql://me:hunter2@db/tw"},
            "core": {"fernet_key": "k"},
            "webserver": {"secret_key": "s3cr3t-signing"},
        },
    )
    runner = CliRunner()
    got = runner.invoke(cli, ["config", "get", "core", "parallelism"], obj=settings)
    assert got.exit_code == 0
    assert got.output.strip() == "32"
    listed = runner.invoke(cli, ["config", "list", "--json"], obj=settings)
    sections = json.loads(listed.output)
    assert sections["core"]["fernet_key"] == "***"
    assert sections["webserver"]["secret_key"] == "***"
    assert "hunter2" not in listed.output
    assert "s3cr3t-signing" not in listed.output
    shown = runner.invoke(cli, ["config", "list", "--json", "--show-secrets"], obj=settings)
    assert "hunter2" in shown.output
    assert "s3cr3t-signing" in shown.output
    unknown = runner.invoke(cli, ["config", "get", "core", "nope"], obj=settings)
    assert unknown.exit_code == 1
    assert "core.nope" in unknown.output


def test_celery_options_come_as_a_table_or_as_json_from_the_environment(tmp_path: Path) -> None:
    from_env = load_settings(
        environ={"TRADEWIND__CELERY__OPTIONS": '{"broker_pool_limit": 20}'}, home=tmp_path
    )
    assert from_env.celery.options == {"broker_pool_limit": 20}
    (tmp_path / "tradewind.toml").write_text("[celery]\noptions = { task_time_limit = 60 }\n")
    assert load_settings(environ={}, home=tmp_path).celery.options == {"task_time_limit": 60}
    with pytest.raises(SettingsError, match=r"celery\.options"):
        load_settings(environ={"TRADEWIND__CELERY__OPTIONS": "[oops"}, home=tmp_path)


def test_inherited_settings_take_only_their_empty_text_settings_from_the_environment(
    tmp_path: Path,
) -> None:
    settings = load_settings(environ={}, home=tmp_path)
    blank = settings.core.model_copy(update={"fernet_key": ""})
    inherited = settings.model_copy(update={"core": blank}).to_env()
    environ = {
        **inherited,
        "TRADEWIND__CORE__FERNET_KEY": "from-a-secret",
        "TRADEWIND__DATABASE__URL": "sqlite:///elsewhere.db",  # set in the inherited: kept
        "TRADEWIND__NOSUCH__KEY": "x",  # no such section: no matter
    }

    loaded = load_settings(environ=environ)
    assert loaded.core.fernet_key == "from-a-secret"
    assert loaded.database.url == settings.database.url
    # A variable that names no setting at all: the inherited settings stand as they are.
    malformed = load_settings(environ={**environ, "TRADEWIND__MALFORMED": "x"})
    assert malformed.core.fernet_key == ""


def test_the_ui_time_zone_must_be_a_known_zone(tmp_path: Path) -> None:
    settings = load_settings(
        environ={}, home=tmp_path, overrides={"webserver": {"default_ui_timezone": "Asia/Tokyo"}}
    )
    assert settings.webserver.default_ui_timezone == "Asia/Tokyo"
    with pytest.raises(SettingsError, match="unknown time zone"):
        load_settings(
            environ={},
            home=tmp_path,
            overrides={"webserver": {"default_ui_timezone": "Mars/Olympus"}},
        )
