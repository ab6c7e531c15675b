"""Large and secret values in the UI, in headless Chromium over a real web server: a viewer sees
an XCom that holds a connection's password masked, a large XCom cut with a download of all of
it; an op sees a large variable cut in the list, downloads it, and edits its description
without its value being cut short."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from scheduling import make_system_fixture, sqlite_only  # noqa: F401
from test_ui_browser import CHROMIUM, need_chromium, shots
from webtest import Web, make_web_fixture, web_fixture  # noqa: F401

from tradewind.ui.app import create_app

pytestmark = [sqlite_only, pytest.mark.timeout(240)]

PASSWORD = "pw-browser-7731"
BIG_ROWS = [{"row": i, "text": "t" * 60} for i in range(300)]
BIG_VARIABLE = "v" * 20_000

DAG = f"""
def big():
    return {BIG_ROWS!r}


with DAG("values", schedule=None):
    BashOperator(task_id="leak", bash_command="echo {{{{ conn.warehouse.password }}}}")
    PythonOperator(task_id="big", python_callable=big)
"""


@pytest.fixture
def served(make_web: Callable[..., Web], request: pytest.FixtureRequest) -> Iterator[Any]:
    """A finished run of ``values``, a large variable, the web server, a browser."""
    need_chromium(request.config)
    from playwright import sync_api

    web = make_web(webserver={"display_value_kb": 4})
    connection = {"connection_id": "warehouse", "conn_type": "postgres", "password": PASSWORD}
    assert web.post("/api/v1/connections", user="op", json=connection).status_code == 200
    variable = {"key": "big", "value": BIG_VARIABLE, "description": "rows"}
    assert web.post("/api/v1/variables", user="op", json=variable).status_code == 200
    web.system.add_dag("values", DAG)
    run_id = web.system.trigger("values")
    assert web.system.wait("values", run_id) == "success"
    with (
        shots.serving(create_app(web.system.settings)) as base,
        sync_api.sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield web, base, browser, run_id
        finally:
            browser.close()


def logged_in(browser: Any, base: str, username: str) -> Any:
    page = browser.new_page(viewport=shots.VIEWPORT, accept_downloads=True)
    page.set_default_timeout(30_000)
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", f"pw-{username}")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/dags$"))
    return page


def test_secret_and_large_values_in_the_browser(served: Any, tmp_path: Path) -> None:
    web, base, browser, run_id = served
    viewer = logged_in(browser, base, "viewer")
    # The echoed password, masked.
    viewer.goto(f"{base}/dags/values/runs/{run_id}/tasks/leak")
    viewer.click("[data-tab=xcom]")
    cell = viewer.locator("tr[data-xcom=return_value] pre")
    assert cell.inner_text() == '"***"'
    assert viewer.locator(".xcom-masked").is_visible()
    assert PASSWORD not in viewer.content()
    # A large XCom: cut, and a download of all of it.
    viewer.goto(f"{base}/dags/values/runs/{run_id}/tasks/big")
    viewer.click("[data-tab=xcom]")
    note = viewer.locator(".xcom-truncated")
    assert note.is_visible()
    assert len(viewer.locator("tr[data-xcom=return_value] pre").inner_text()) <= 4 * 1024 + 1
    with viewer.expect_download() as download:
        note.locator("a").click()
    saved = tmp_path / "xcom.json"
    download.value.save_as(saved)
    assert json.loads(saved.read_text()) == BIG_ROWS
    # A large variable: cut in the list, downloadable, its description editable.
    op = logged_in(browser, base, "op")
    op.goto(f"{base}/admin/variables")
    row = op.locator("tr[data-id=big]")
    row.wait_for()
    link = row.locator("a", has_text="download all")
    assert link.is_visible()
    with op.expect_download() as download:
        link.click()
    saved = tmp_path / "variable.txt"
    download.value.save_as(saved)
    assert saved.read_text() == BIG_VARIABLE
    row.locator("button", has_text="Edit").click()
    assert op.locator("#resource-form textarea[name=value]").is_disabled()
    op.fill("#resource-form input[name=description]", "many rows")
    with op.expect_response(lambda r: r.request.method == "PATCH") as answer:
        op.click("#resource-form button[value=save]")
    assert answer.value.status == 200
    whole = web.get("/api/v1/variables/big/value", user="op")
    assert whole.text == BIG_VARIABLE
    assert web.get("/api/v1/variables/big", user="op").json()["description"] == "many rows"
