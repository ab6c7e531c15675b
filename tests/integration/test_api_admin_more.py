"""The REST API's log download, connection test and variables import/export: answers,
refusals of bad input, and the roles allowed."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from scheduling import make_system_fixture, sqlite_only  # noqa: F401
from sqlalchemy import make_url
from webtest import Web, make_web_fixture, serving, web_fixture  # noqa: F401

from tradewind.settings import SettingsError, load_settings
from tradewind.ui.app import create_app

API = "/api/v1"

CHATTY = """
def chatty(ti=None):
    print("line one of try", ti.try_number)
    print("x" * 3000)
    if ti.try_number == 1:
        raise RuntimeError("first try fails")

with DAG("dl", schedule=None):
    PythonOperator(
        task_id="chatty", python_callable=chatty, retries=1, retry_delay=timedelta(seconds=0)
    )
"""


@sqlite_only
def test_a_tries_log_downloads_whole_as_a_named_file(web: Web) -> None:
    web.system.add_dag("dl", CHATTY)
    run_id = web.system.trigger("dl")
    assert web.system.wait("dl", run_id) == "success"
    base = f"{API}/dags/dl/dagRuns/{run_id}/taskInstances/chatty/logs"
    for try_number in (1, 2):
        whole = web.get(f"{base}/{try_number}", user="viewer").json()["content"]
        got = web.get(f"{base}/{try_number}/download", user="viewer")
        assert got.status_code == 200, got.text
        assert got.headers["content-type"].startswith("text/plain")
        assert got.text == whole
        assert f"line one of try {try_number}" in got.text
        disposition = got.headers["content-disposition"]
        assert disposition.startswith("attachment;")
        safe_run = run_id.replace(":", "_").replace("+", "_")
        assert f"dl__chatty__{safe_run}__try{try_number}.log" in disposition
    assert "first try fails" in web.get(f"{base}/1/download").text
    assert web.get(f"{base}/3/download").status_code == 404
    assert web.get(f"{base}/0/download").status_code == 400
    assert web.get(f"{base.replace('/chatty/', '/nope/')}/1/download").status_code == 404
    assert web.client.get(f"{base}/1/download").status_code == 401


def _sqlite_file(tmp_path: Path) -> Path:
    path = tmp_path / "works.db"
    sqlite3.connect(path).close()
    return path


def test_testing_a_connection_is_disabled_by_default(web: Web, tmp_path: Path) -> None:
    body = {"connection_id": "c", "conn_type": "sqlite", "host": str(_sqlite_file(tmp_path))}
    refused = web.post(f"{API}/connections/test", json=body)
    assert refused.status_code == 403
    assert "core.test_connection" in refused.json()["detail"]
    assert "Enabled" in refused.json()["detail"]


def test_a_connection_is_tested_as_given(make_web: Any, tmp_path: Path) -> None:
    web = make_web(core={"test_connection": "enabled"})
    test = f"{API}/connections/test"
    works = {"connection_id": "c", "conn_type": "sqlite", "host": str(_sqlite_file(tmp_path))}
    answer = web.post(test, json=works)
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] is True
    assert "SELECT 1" in answer.json()["message"]

    missing = web.post(test, json={**works, "host": str(tmp_path / "none.db")}).json()
    assert missing["status"] is False
    assert "none.db" in missing["message"]

    fs_ok = web.post(test, json={**works, "conn_type": "fs", "extra": json.dumps({"path": "/"})})
    assert fs_ok.json()["status"] is True
    unknown = web.post(test, json={**works, "conn_type": "nosuchtype"}).json()
    assert unknown == {
        "status": False,
        "message": "tradewind has no test for connections of type 'nosuchtype'",
    }
    # The password never comes back, even in a driver's error.
    secret = "s3cr3t-pw-value"
    pg = {
        "connection_id": "pg",
        "conn_type": "postgres",
        "host": "127.0.0.1",
        "port": 1,
        "login": secret,
        "password": secret,
    }
    failed = web.post(test, json=pg)
    assert failed.json()["status"] is False
    assert secret not in failed.text

    # http: a request to the URL the connection makes (here, this web server's health).
    with serving(create_app(web.system.settings)) as base:
        host, port = base.removeprefix("http://").split(":")
        site = {"connection_id": "h", "conn_type": "http", "host": host, "port": int(port)}
        healthy = web.post(test, json={**site, "schema": "health"}).json()
        assert healthy == {"status": True, "message": f"{base}/health answered HTTP 200"}
        missing_page = web.post(test, json={**site, "schema": "nothing/here"}).json()
        assert missing_page["status"] is False
        assert "HTTP 404" in missing_page["message"]
    assert web.post(test, json=site).json()["status"] is False  # the server is gone

    # On a postgres or mysql metastore, a connection to it works.
    url = make_url(str(web.system.settings.database.url))
    kind = {"postgresql": "postgres", "mysql": "mysql"}.get(url.get_backend_name())
    if kind is not None:
        to_metastore = {
            "connection_id": "meta",
            "conn_type": kind,
            "host": url.host or "localhost",
            "login": url.username or "",
            "password": url.password or "",
            "schema": url.database or "",
            **({"port": url.port} if url.port else {}),
        }
        reached = web.post(test, json=to_metastore).json()
        assert reached["status"] is True, reached
        assert "SELECT 1" in reached["message"]
        missing_db = {**to_metastore, "schema": "no_such_db_xyz", "password": "pw-xyz-123"}
        wrong = web.post(test, json=missing_db).json()
        assert wrong["status"] is False
        assert "pw-xyz-123" not in wrong["message"]

    # Bad input and roles.
    assert web.post(test, json={"conn_type": "sqlite"}).status_code == 400
    assert web.post(test, json={**works, "port": 0}).status_code == 400
    assert web.post(test, json=works, user="user").status_code == 403
    assert web.post(test, json=works, user="op").json()["status"] is True
    # Nothing was stored.
    assert web.get(f"{API}/connections").json()["total_entries"] == 0


def test_variables_export_in_clear_and_import_back(web: Web) -> None:
    for key, value in (("plain", "v1"), ("api_secret", "hidden"), ("doc", '{"a": [1, 2]}')):
        assert web.post(f"{API}/variables", json={"key": key, "value": value}).status_code == 200
    export = f"{API}/variables/export"
    everything = web.post(export)
    assert everything.status_code == 200, everything.text
    assert "variables.json" in everything.headers["content-disposition"]
    assert everything.json() == {"api_secret": "hidden", "doc": {"a": [1, 2]}, "plain": "v1"}
    some = web.post(export, json={"keys": ["plain"]})
    assert some.json() == {"plain": "v1"}
    assert web.post(export, json={"keys": ["nope"]}).status_code == 404
    assert web.post(export, user="user").status_code == 403

    # Import: the file is the body.
    imported = f"{API}/variables/import"
    data = {"plain": "changed", "new_one": {"x": 1}, "": "no key", "n": 5}
    report = web.post(imported, json=data)
    assert report.status_code == 200, report.text
    answer = report.json()
    assert (answer["created"], answer["updated"], answer["failed"]) == (2, 1, 1)
    assert answer["errors"][0]["key"] == ""
    assert web.get(f"{API}/variables/plain").json()["value"] == "changed"
    assert web.get(f"{API}/variables/new_one").json()["value"] == '{"x": 1}'
    assert web.get(f"{API}/variables/n").json()["value"] == "5"

    skipped = web.post(imported, params={"action_if_exists": "skip"}, json={"plain": "again"})
    assert skipped.json()["skipped"] == 1
    assert web.get(f"{API}/variables/plain").json()["value"] == "changed"

    as_json = {**web.as_("admin"), "Content-Type": "application/json"}
    for bad, says in (
        (b"not json", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b"", "empty"),
        (b"\xff\xfe", "UTF-8"),
    ):
        refused = web.client.post(imported, content=bad, headers=as_json)
        assert refused.status_code == 400, bad
        assert says in refused.json()["detail"]
    upload = {"file": ("vars.json", b'{"k": "v"}', "application/json")}
    assert web.post(imported, files=upload).status_code == 415
    assert web.post(imported, data={"other": "x"}).status_code == 415
    assert web.post(imported, params={"action_if_exists": "explode"}, json={}).status_code == 400
    assert web.post(imported, json={"k": "v"}, user="user").status_code == 403
    # The path is its own resource: a 405 names only its own method.
    not_here = web.client.put(imported, headers=web.as_("admin"))
    assert not_here.status_code == 405
    assert not_here.headers["allow"] == "POST"
    assert web.client.options(f"{API}/connections/test").headers["allow"] == "POST"
    # Text no database can store: refused in the body.
    nul = b'{"k": "a\\u0000b"}'
    assert web.client.post(imported, content=nul, headers=as_json).status_code == 400


def test_the_connection_test_setting(tmp_path: Path) -> None:
    home = {"TRADEWIND_HOME": str(tmp_path)}
    assert load_settings(environ=home).core.test_connection == "Disabled"
    on = load_settings(environ={**home, "TRADEWIND__CORE__TEST_CONNECTION": "enabled"})
    assert on.core.test_connection == "Enabled"
    with pytest.raises(SettingsError, match="TRADEWIND__CORE__TEST_CONNECTION"):
        load_settings(environ={**home, "TRADEWIND__CORE__TEST_CONNECTION": "sometimes"})


def test_a_hidden_connection_test_shows_no_button(make_web: Any) -> None:
    hidden = make_web(core={"test_connection": "Hidden"})
    page = hidden.get("/admin/connections", user="op")
    assert page.status_code == 200
    assert 'id="conn-test"' not in page.text
    assert "conn_type" in page.text
    body = {"connection_id": "c", "conn_type": "fs", "extra": '{"path": "/"}'}
    assert hidden.post(f"{API}/connections/test", json=body).status_code == 403
