"""Variables, connections and XComs in the metastore (SQLite; the dialects run in integration)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from tradewind.metastore import crypto, models
from tradewind.metastore import engine as engine_module
from tradewind.metastore.store import connections as connection_store
from tradewind.metastore.store import variables as variable_store
from tradewind.metastore.store import xcom as xcom_store

Connection = connection_store.Connection


@pytest.fixture
def db(sqlite_engine: Engine) -> Iterator[Session]:
    with engine_module.session_factory(sqlite_engine).begin() as session:
        yield session


@pytest.fixture
def cipher() -> crypto.Cipher:
    return crypto.Cipher(crypto.generate_key())


def test_variables_set_get_replace_delete(db: Session, cipher: crypto.Cipher) -> None:
    variable_store.set_variable(db, "region", "eu-west-1", cipher, description="where")
    variable_store.set_variable(db, "limits", {"rows": 10}, cipher)
    assert variable_store.get_variable(db, "region", cipher) == "eu-west-1"
    assert json.loads(variable_store.get_variable(db, "limits", cipher) or "") == {"rows": 10}
    variable_store.set_variable(db, "region", "us-east-1", cipher)
    assert variable_store.get_variable(db, "region", cipher) == "us-east-1"
    assert variable_store.list_variables(db) == [
        variable_store.VariableInfo("limits", None, True),
        variable_store.VariableInfo("region", "where", True),
    ]
    assert variable_store.delete_variable(db, "region")
    assert not variable_store.delete_variable(db, "region")
    assert variable_store.get_variable(db, "region", cipher) is None


def test_variable_values_are_encrypted_at_rest(db: Session, cipher: crypto.Cipher) -> None:
    variable_store.set_variable(db, "api_key", "sk-live-123", cipher)
    stored = db.scalar(sa.select(models.Variable.val))
    assert stored is not None
    assert "sk-live-123" not in stored
    with pytest.raises(crypto.CryptoError, match="variable 'api_key'"):
        variable_store.get_variable(db, "api_key", crypto.Cipher(crypto.generate_key()))


def test_variables_import_and_export(db: Session, cipher: crypto.Cipher) -> None:
    variable_store.set_variable(db, "kept", "old", cipher)
    report = variable_store.import_variables(
        db, {"kept": "new", "n": 3, "cfg": {"a": [1]}}, cipher, on_existing="skip"
    )
    assert report == variable_store.ImportReport(created=2, updated=0, skipped=1)
    assert variable_store.export_variables(db, cipher) == {
        "cfg": {"a": [1]},
        "kept": "old",
        "n": 3,
    }
    with pytest.raises(variable_store.VariableError, match="already exist: kept"):
        variable_store.import_variables(db, {"kept": "x"}, cipher, on_existing="fail")
    report = variable_store.import_variables(db, {"kept": "x"}, cipher)
    assert report.updated == 1
    assert variable_store.get_variable(db, "kept", cipher) == "x"


def test_connection_from_uri_and_back() -> None:
    uri = "postgresql://bob:p%40ss%2Fw@db.example.com:5433/sales?sslmode=require"
    conn = Connection.from_uri("warehouse", uri)
    assert (conn.conn_type, conn.host, conn.port, conn.schema) == (
        "postgres",
        "db.example.com",
        5433,
        "sales",
    )
    assert (conn.login, conn.password) == ("bob", "p@ss/w")
    assert conn.extra_dejson == {"sslmode": "require"}
    assert Connection.from_uri("warehouse", conn.get_uri()) == conn


def test_connection_uri_with_json_extra() -> None:
    conn = Connection("api", "http", host="example.com", extra=json.dumps({"retries": 3}))
    again = Connection.from_uri("api", conn.get_uri())
    assert again.extra_dejson == {"retries": 3}
    with pytest.raises(connection_store.ConnectionsError, match="no type"):
        Connection.from_uri("x", "just-a-host")


def test_connections_add_get_list_delete(db: Session, cipher: crypto.Cipher) -> None:
    conn = Connection(
        "warehouse",
        "postgres",
        host="db",
        login="bob",
        password="hunter2",
        extra=json.dumps({"api_token": "tok-123", "sslmode": "require"}),
    )
    connection_store.add_connection(db, conn, cipher)
    with pytest.raises(connection_store.ConnectionsError, match="already exists"):
        connection_store.add_connection(db, conn, cipher)
    assert connection_store.get_connection(db, "warehouse", cipher) == conn
    row = db.scalar(sa.select(models.Connection))
    assert row is not None
    assert row.is_encrypted
    assert row.is_extra_encrypted
    assert "hunter2" not in (row.password or "")
    assert "tok-123" not in (row.extra or "")
    [listed] = connection_store.list_connections(db, cipher)
    assert listed.password == "***"
    assert listed.extra_dejson == {"api_token": "***", "sslmode": "require"}
    assert connection_store.delete_connection(db, "warehouse")
    assert connection_store.get_connection(db, "warehouse", cipher) is None
    assert not connection_store.delete_connection(db, "warehouse")


def test_a_connection_with_a_bad_extra_is_refused(db: Session, cipher: crypto.Cipher) -> None:
    with pytest.raises(connection_store.ConnectionsError, match="not a JSON object"):
        connection_store.add_connection(db, Connection("c", "http", extra="[1]"), cipher)


def _run(db: Session, run_id: str = "r1") -> models.DagRun:
    if db.get(models.DagModel, "d") is None:
        db.add(models.DagModel(dag_id="d", fileloc="/d.py", fileloc_hash="h"))
    when = datetime(2024, 1, 1, tzinfo=UTC)
    run = models.DagRun(dag_id="d", run_id=run_id, logical_date=when, run_type="manual")
    db.add(run)
    db.flush()
    return run


def test_xcoms_upsert_read_list_and_clear(db: Session) -> None:
    run = _run(db)
    xcom_store.set_xcoms(db, run.id, "t", -1, [("return_value", {"a": 1}), ("k", None)])
    xcom_store.set_xcoms(db, run.id, "t", -1, [("return_value", [2])])
    assert xcom_store.get_xcom(db, "d", "r1", "t") == [2]
    assert xcom_store.get_xcom(db, "d", "r1", "t", "k") is None
    assert xcom_store.get_xcom(db, "d", "r1", "other") is None
    assert xcom_store.get_xcom(db, "d", "r1", None) == [2]  # any task
    entries = xcom_store.list_xcoms(db, "d", "r1", task_id="t")
    assert [(e.key, e.value) for e in entries] == [("k", None), ("return_value", [2])]
    assert xcom_store.delete_xcoms(db, run.id, "t") == 2
    assert xcom_store.list_xcoms(db, "d", "r1") == []


def test_xcoms_are_per_run_and_map_index(db: Session) -> None:
    first, second = _run(db, "r1"), _run(db, "r2")
    xcom_store.set_xcoms(db, first.id, "t", -1, [("return_value", 1)])
    xcom_store.set_xcoms(db, second.id, "t", -1, [("return_value", 2)])
    xcom_store.set_xcoms(db, second.id, "t", 0, [("return_value", 3)])
    assert xcom_store.get_xcom(db, "d", "r1", "t") == 1
    assert xcom_store.get_xcom(db, "d", "r2", "t") == 2
    assert xcom_store.get_xcom(db, "d", "r2", "t", map_index=0) == 3
