"""Airflow's Variable, Connection, BaseHook, conf, days_ago and timezone helpers on tradewind."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tradewind.exceptions import ConfigNotFound, NotFound
from tradewind.metastore import crypto
from tradewind.metastore import engine as engine_module
from tradewind.metastore.store import connections as connection_store
from tradewind.metastore.store import variables as variable_store
from tradewind.runtime import lookups
from tradewind.runtime.config import conf
from tradewind.runtime.connections import BaseHook, Connection
from tradewind.runtime.masking import SecretsMasker
from tradewind.runtime.reader import MetastoreReader
from tradewind.runtime.variables import Variable
from tradewind.settings import SETTINGS_JSON_ENV, Settings
from tradewind.timetables import timezone


class FakeSource:
    def __init__(self, variables: dict[str, str], connections: dict[str, Any]) -> None:
        self.variables = variables
        self.connections = connections

    def xcom(self, dag_id: str, run_id: str, task_id: str | None, key: str, map_index: int) -> Any:
        return None

    def variable(self, key: str) -> str | None:
        return self.variables.get(key)

    def connection(self, conn_id: str) -> connection_store.Connection | None:
        return self.connections.get(conn_id)


SOURCE = FakeSource(
    {"plain": "text", "numbers": "[1, 2]"},
    {"db": connection_store.Connection("db", "postgres", host="h", login="u", password="p")},
)


def test_variable_get_reads_the_try_source() -> None:
    with lookups.reading_from(SOURCE):
        assert Variable.get("plain") == "text"
        assert Variable.get("numbers", deserialize_json=True) == [1, 2]
        assert Variable.get("missing", default_var="d") == "d"  # Airflow 2
        assert Variable.get("missing", default=None) is None  # Airflow 3
        with pytest.raises(KeyError, match="Variable missing does not exist"):
            Variable.get("missing")


def test_connection_and_base_hook_read_the_try_source() -> None:
    with lookups.reading_from(SOURCE):
        for found in (
            Connection.get("db"),
            Connection.get_connection_from_secrets("db"),
            BaseHook.get_connection("db"),
        ):
            assert isinstance(found, Connection)
            assert (found.host, found.login, found.get_password()) == ("h", "u", "p")
            assert found.get_uri() == "postgres://u:p@h"
        with pytest.raises(NotFound, match="The conn_id `nope` isn't defined"):
            BaseHook.get_connection("nope")


def test_a_connection_built_in_code_works_as_in_airflow() -> None:
    built = Connection(conn_id="x", conn_type="http", host="example.org", port=8080)
    assert built.get_uri() == "http://example.org:8080"


@pytest.fixture
def metastore_settings(
    migrated_db_url: str, tmp_path: Path, make_settings: Callable[..., Settings]
) -> Settings:
    return make_settings(tmp_path, migrated_db_url)


def _stored(settings: Settings, key: str) -> str | None:
    engine = engine_module.create_engine(settings.database)
    try:
        with engine_module.session_factory(engine)() as session:
            return variable_store.get_variable(
                session, key, crypto.Cipher(settings.core.fernet_key)
            )
    finally:
        engine.dispose()


@pytest.mark.parametrize("db_dialect", ["sqlite"])
def test_variable_set_writes_the_metastore_and_the_try_reads_it_back(
    metastore_settings: Settings,
) -> None:
    settings = metastore_settings
    reader = MetastoreReader(
        functools.partial(engine_module.create_engine, settings.database),
        crypto.Cipher(settings.core.fernet_key),
        SecretsMasker(),
    )
    try:
        with lookups.reading_from(reader, settings):
            assert Variable.get("count", default_var=None) is None
            Variable.set("count", 3)
            assert Variable.get("count") == "3"  # not the cached miss
            Variable.set("written", {"a": 1}, serialize_json=True)
            assert Variable.get("written", deserialize_json=True) == {"a": 1}
            assert Variable.setdefault("fresh", "first") == "first"
            assert Variable.setdefault("fresh", "second") == "first"
    finally:
        reader.close()
    assert _stored(settings, "count") == "3"
    assert _stored(settings, "fresh") == "first"


@pytest.mark.parametrize("db_dialect", ["sqlite"])
def test_outside_a_try_lookups_use_the_settings_the_process_started_with(
    metastore_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At a DAG file's top level (parse time): the process's settings, as tradewind hands them
    to the processes it starts."""
    monkeypatch.setenv(SETTINGS_JSON_ENV, metastore_settings.model_dump_json())
    monkeypatch.setattr(lookups, "_process", None)
    Variable.set("at_parse_time", "yes")
    assert Variable.get("at_parse_time") == "yes"
    assert conf.get("core", "dags_folder") == str(metastore_settings.core.dags_folder)
    with pytest.raises(NotFound):
        Connection.get("nope")


def test_conf_answers_from_the_settings(settings: Settings) -> None:
    with lookups.reading_from(SOURCE, settings):
        assert conf.get("core", "dags_folder") == str(settings.core.dags_folder)
        assert conf.get("core", "executor") == "LocalExecutor"
        assert conf.getboolean("core", "load_examples") is True
        assert conf.getint("core", "parallelism") == 32
        assert conf.getfloat("core", "dagbag_import_timeout") == 30.0
        assert conf.get("logging", "logging_level") == "INFO"
        assert conf.has_option("webserver", "web_server_port")
        # unknown keys and secrets: the fallback, else an error
        assert conf.get("smtp", "smtp_host", fallback="localhost") == "localhost"
        assert conf.getint("core", "nope", fallback=7) == 7
        assert conf.get("database", "url", fallback=None) is None
        assert not conf.has_option("core", "fernet_key")
        # [smtp] is served (alerts), its password is not.
        assert conf.getint("smtp", "smtp_port") == 25
        assert not conf.has_option("smtp", "smtp_password")
        with pytest.raises(ConfigNotFound, match=r"section/key \[sentry/sentry_on\] not found"):
            conf.get("sentry", "sentry_on")


def test_days_ago_is_midnight_utc_n_days_back() -> None:
    before = dt.datetime.now(dt.UTC)
    value = timezone.days_ago(2)
    assert value.utcoffset() == dt.timedelta(0)
    assert (value.hour, value.minute, value.second, value.microsecond) == (0, 0, 0, 0)
    assert value.date() in {
        (before - dt.timedelta(days=2)).date(),
        before.date() - dt.timedelta(days=1),
    }
    assert timezone.days_ago(0, hour=6).hour == 6


def test_timezone_helpers() -> None:
    aware = timezone.datetime(2024, 3, 1, 12)
    assert aware.tzinfo is timezone.utc
    assert timezone.utcnow().utcoffset() == dt.timedelta(0)
    naive = dt.datetime(2024, 3, 1, 12)
    amsterdam = timezone.make_aware(naive, "Europe/Amsterdam")
    assert amsterdam.utcoffset() == dt.timedelta(hours=1)
    assert timezone.make_naive(amsterdam) == dt.datetime(2024, 3, 1, 11)
    assert timezone.convert_to_utc(naive) == aware
    assert timezone.convert_to_utc(None) is None
    assert timezone.is_naive(naive)
    assert timezone.is_localized(aware)
    assert timezone.coerce_datetime(naive) == aware
    assert timezone.parse("2024-03-01T12:00:00") == aware
    assert timezone.parse("2024-03-01", timezone="Europe/Amsterdam").utcoffset() == dt.timedelta(
        hours=1
    )
    with pytest.raises(ValueError, match="naive"):
        timezone.make_aware(aware)
