"""The task page's log viewer in headless Chromium over a real web server and scheduler: lines
coloured by level (a traceback as an error), wrap toggled and remembered, the view following the
end of a running try (and not when the user scrolls up), and the try's log downloaded whole."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from scheduling import make_system_fixture, sqlite_only  # noqa: F401
from test_ui_browser import CHROMIUM, need_chromium, shots
from webtest import Web, make_web_fixture, web_fixture  # noqa: F401

from tradewind.states import TaskState
from tradewind.ui.app import create_app

pytestmark = [sqlite_only, pytest.mark.timeout(240)]

DAG = """
import logging

def chatty(gate):
    log = logging.getLogger("chatty")
    log.info("starting the chatty task")
    log.warning("this is a warning")
    log.error("something went wrong here")
    try:
        raise ValueError("a handled failure")
    except ValueError:
        log.exception("caught it")
    log.info("after the traceback")
    print("L" * 4000, flush=True)
    tick = 0
    # Print until the test opens the gate (two minutes at most).
    while not Path(gate).exists() and tick < 2400:
        print("tick", tick, flush=True)
        tick += 1
        time.sleep(0.05)
    log.info("the gate is open")

with DAG("ui_log", schedule=None, start_date=datetime(2024, 1, 1)) as dag:
    PythonOperator(task_id="chatty", python_callable=chatty, op_args=[GATE])
"""

AT_BOTTOM = "(pre) => pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4"


@pytest.fixture
def live(web: Web, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Any]:
    need_chromium(request.config)
    from playwright import sync_api

    gate = tmp_path / "gate"
    web.system.add_dag("ui_log", DAG.replace("GATE", repr(str(gate))))
    with (
        shots.scheduling(web.system.scheduler.run_until),
        shots.serving(create_app(web.system.settings)) as base,
        sync_api.sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield web, base, browser, gate
        finally:
            gate.touch()
            browser.close()


def log_in(browser: Any, base: str, username: str) -> Any:
    page = browser.new_page(viewport={"width": 1200, "height": 800}, accept_downloads=True)
    page.set_default_timeout(30_000)
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", f"pw-{username}")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/dags$"))
    return page


def test_the_log_viewer_colours_wraps_follows_and_downloads(live: Any) -> None:
    web, base, browser, gate = live
    run_id = web.system.trigger("ui_log")
    shots.wait_for(lambda: web.system.state("ui_log", run_id, "chatty") == TaskState.RUNNING)
    page = log_in(browser, base, "viewer")
    page.goto(f"{base}/dags/ui_log/runs/{run_id}/tasks/chatty")
    log = page.locator("#log")
    follow = page.locator("#log-follow")

    # Following: the view keeps to the end while the try prints.
    page.wait_for_function(
        f"""() => {{
            const pre = document.getElementById("log");
            return pre.dataset.state === "following" && /tick 40\\n/.test(pre.textContent)
                && pre.scrollHeight > pre.clientHeight + 100 && ({AT_BOTTOM})(pre);
        }}"""
    )
    assert follow.is_checked()

    # Levels: each line takes its level's class; the traceback takes the error colour.
    error = log.locator("span.ll-error", has_text="something went wrong here")
    assert error.count() == 1
    colour = error.evaluate("(node) => getComputedStyle(node).color")
    plain = log.locator("span", has_text="tick 3").first.evaluate(
        "(node) => getComputedStyle(node).color"
    )
    assert colour != plain
    assert log.locator("span.ll-warning", has_text="this is a warning").count() == 1
    assert log.locator("span.ll-info", has_text="after the traceback").count() == 1
    trace = log.locator("span.ll-trace")
    assert trace.first.text_content().startswith("Traceback (most recent call last)")
    assert trace.filter(has_text="ValueError: a handled failure").count() == 1
    assert log.locator("span.ll-error", has_text='raise ValueError("a handled failure")').count()
    printed = log.evaluate(
        "(pre) => [...pre.children].find((s) => s.textContent === 'tick 5\\n').className"
    )
    assert printed == "ll"

    # Scrolled up by the user, the view stays where it is while the log grows.
    log.evaluate("(pre) => { pre.scrollTop = 0; }")
    page.wait_for_function("() => !document.getElementById('log-follow').checked")
    grown = log.evaluate("(pre) => pre.scrollHeight")
    page.wait_for_function(
        f"() => document.getElementById('log').scrollHeight > {grown} + 200",
    )
    assert log.evaluate("(pre) => pre.scrollTop") == 0
    # Back at the bottom, it follows again.
    log.evaluate("(pre) => { pre.scrollTop = pre.scrollHeight; }")
    page.wait_for_function("() => document.getElementById('log-follow').checked")
    grown = log.evaluate("(pre) => pre.scrollHeight")
    page.wait_for_function(
        f"""() => {{
            const pre = document.getElementById("log");
            return pre.scrollHeight > {grown} + 200 && ({AT_BOTTOM})(pre);
        }}"""
    )

    # Wrap: long lines wrap by default; unticked, they scroll, and the page remembers it.
    def white_space() -> str:
        return str(log.evaluate("(pre) => getComputedStyle(pre).whiteSpace"))

    assert page.locator("#log-wrap").is_checked()
    assert white_space() == "pre-wrap"
    page.uncheck("#log-wrap")
    assert white_space() == "pre"
    assert log.evaluate("(pre) => pre.scrollWidth > pre.clientWidth")
    page.reload()
    log.locator("span.ll").first.wait_for()
    assert not page.locator("#log-wrap").is_checked()
    assert white_space() == "pre"
    page.check("#log-wrap")
    assert white_space() == "pre-wrap"

    # The try ends: the log says so, and the page shows the new state.
    gate.touch()
    page.wait_for_function(
        "() => document.getElementById('ti-state').textContent.trim() === 'success'"
        " && document.getElementById('log').dataset.state === 'ended'",
        timeout=60_000,
    )
    # Download: the whole log of the try as a file.
    with page.expect_download() as info:
        page.click("#log-download")
    download = info.value
    assert download.suggested_filename.startswith("ui_log__chatty__")
    assert download.suggested_filename.endswith("__try1.log")
    text = Path(download.path()).read_text()
    api = f"/api/v1/dags/ui_log/dagRuns/{run_id}/taskInstances/chatty/logs/1"
    assert text == web.get(api).json()["content"]
    assert "the gate is open" in text
    assert "something went wrong here" in text
