"""Admin pages in headless Chromium over a real web server: the connection form's type list and
its "Test connection" button (disabled by default, then a working and a failing connection),
and variables exported to a JSON file and imported from one (a bad file says why)."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from scheduling import make_system_fixture, sqlite_only  # noqa: F401
from test_ui_browser import CHROMIUM, need_chromium, shots
from webtest import Web, make_web_fixture  # noqa: F401

from tradewind.ui.app import create_app

pytestmark = [sqlite_only, pytest.mark.timeout(240)]
API = "/api/v1"


@pytest.fixture
def browser(request: pytest.FixtureRequest) -> Iterator[Any]:
    need_chromium(request.config)
    from playwright import sync_api

    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield launched
        finally:
            launched.close()


def log_in(browser: Any, base: str, username: str) -> Any:
    page = browser.new_page(viewport={"width": 1200, "height": 800}, accept_downloads=True)
    page.set_default_timeout(30_000)
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", f"pw-{username}")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/dags$"))
    return page


def open_new_connection(page: Any, base: str) -> None:
    page.goto(f"{base}/admin/connections")
    page.wait_for_selector("#resource-table tbody td")
    page.click("#resource-add")
    page.wait_for_selector("#resource-dialog[open]")


def test_connection_types_and_the_test_button_disabled_by_default(
    make_web: Callable[..., Web], browser: Any, tmp_path: Path
) -> None:
    web = make_web()
    with shots.serving(create_app(web.system.settings)) as base:
        page = log_in(browser, base, "op")
        open_new_connection(page, base)
        select = page.locator("select[name=conn_type]")
        values = select.locator("option").evaluate_all("(os) => os.map((o) => o.value)")
        for known in ("http", "postgres", "mysql", "sqlite", "aws", "ssh", "sftp", "fs"):
            assert known in values
        assert "PostgreSQL" in select.inner_text() or "Postgres" in select.inner_text()
        page.fill("input[name=connection_id]", "db")
        select.select_option("sqlite")
        page.fill("input[name=host]", str(tmp_path / "x.db"))
        page.click("#conn-test")
        result = page.locator("#conn-test-result")
        result.wait_for()
        assert "core.test_connection" in result.inner_text()
        assert "conn-test-failed" in (result.get_attribute("class") or "")


def test_testing_connections_and_editing_a_type_the_list_lacks(
    make_web: Callable[..., Web], browser: Any, tmp_path: Path
) -> None:
    web = make_web(core={"test_connection": "Enabled"})
    database = tmp_path / "works.db"
    sqlite3.connect(database).close()
    with shots.serving(create_app(web.system.settings)) as base:
        page = log_in(browser, base, "op")
        open_new_connection(page, base)
        page.fill("input[name=connection_id]", "db")
        page.select_option("select[name=conn_type]", "sqlite")
        page.fill("input[name=host]", str(database))
        result = page.locator("#conn-test-result")
        page.click("#conn-test")
        page.wait_for_selector("#conn-test-result.conn-test-ok")
        assert "SELECT 1" in result.inner_text()

        page.fill("input[name=host]", str(tmp_path / "missing.db"))
        page.click("#conn-test")
        page.wait_for_selector("#conn-test-result.conn-test-failed")
        assert "no database file" in result.inner_text()
        assert "missing.db" in result.inner_text()

        # Saved with its type; a type the list lacks is kept when edited.
        page.fill("input[name=host]", str(database))
        page.click("#resource-form button[type=submit]")
        page.wait_for_selector("#resource-table tr[data-id=db]")
        assert web.get(f"{API}/connections/db").json()["conn_type"] == "sqlite"
        made = {"connection_id": "odd", "conn_type": "my_own_type", "host": "h"}
        assert web.post(f"{API}/connections", json=made).status_code == 200
        page.reload()
        page.locator("#resource-table tr[data-id=odd] button", has_text="Edit").click()
        assert page.locator("select[name=conn_type]").input_value() == "my_own_type"
        page.fill("input[name=host]", "other")
        page.click("#resource-form button[type=submit]")
        page.wait_for_selector("#resource-table tr[data-id=odd] td:has-text('other')")
        assert web.get(f"{API}/connections/odd").json()["conn_type"] == "my_own_type"


def test_variables_export_and_import(
    make_web: Callable[..., Web], browser: Any, tmp_path: Path
) -> None:
    web = make_web()
    for key, value in (("alpha", "one"), ("beta_password", "hush"), ("gamma", '{"g": [1]}')):
        assert web.post(f"{API}/variables", json={"key": key, "value": value}).status_code == 200
    with shots.serving(create_app(web.system.settings)) as base:
        page = log_in(browser, base, "op")
        page.goto(f"{base}/admin/variables")
        page.wait_for_selector("#resource-table tr[data-id=gamma]")
        # Export all: the values in clear, JSON values as JSON.
        with page.expect_download() as info:
            page.click("#variables-export")
        assert info.value.suggested_filename == "variables.json"
        exported = json.loads(Path(info.value.path()).read_text())
        assert exported == {"alpha": "one", "beta_password": "hush", "gamma": {"g": [1]}}
        # Export the ticked ones.
        page.check("#resource-table tr[data-id=alpha] input.row-select")
        assert page.inner_text("#variables-export") == "Export 1 selected"
        with page.expect_download() as info:
            page.click("#variables-export")
        assert json.loads(Path(info.value.path()).read_text()) == {"alpha": "one"}

        # Import a file: created, updated and failed keys are reported; the table shows them.
        upload = tmp_path / "vars.json"
        upload.write_text(json.dumps({"alpha": "changed", "delta": [1, 2], "": "bad"}))
        page.set_input_files("#variables-import", str(upload))
        report = page.locator("#variables-import-report")
        report.locator("strong").wait_for()
        assert "1 created, 1 updated, 1 failed" in report.inner_text()
        page.wait_for_selector("#resource-table tr[data-id=delta]")
        assert web.get(f"{API}/variables/alpha").json()["value"] == "changed"
        assert web.get(f"{API}/variables/delta").json()["value"] == "[1, 2]"

        # A bad file: nothing imported, and the page says why.
        bad = tmp_path / "bad.json"
        bad.write_text("{not json")
        page.set_input_files("#variables-import", str(bad))
        page.wait_for_selector("#variables-import-report.import-failed")
        assert "not valid JSON" in report.inner_text()
        assert "bad.json" in report.inner_text()
        listed = web.get(f"{API}/variables").json()
        assert listed["total_entries"] == 4
