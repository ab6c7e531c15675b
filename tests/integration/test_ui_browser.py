"""The UI in headless Chromium over a real web server and scheduler: log in, find a DAG,
unpause and trigger it, watch the grid turn green, read a task's log, clear a task, mark the
run failed, log out; a viewer sees no write controls; screenshots of the main pages."""

from __future__ import annotations

import importlib.util
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from scheduling import make_system_fixture, sqlite_only  # noqa: F401
from webtest import Web, make_web_fixture, web_fixture  # noqa: F401

from tradewind.ui.app import create_app

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]


def need_chromium(config: pytest.Config) -> None:
    """Skip without Chromium, or fail when the shared conftest says this is CI."""
    if CHROMIUM.exists():
        return
    in_ci = any(getattr(p, "IN_CI", False) for p in config.pluginmanager.get_plugins())
    if in_ci:
        pytest.fail(f"{CHROMIUM} is missing; the UI tests need Chromium", pytrace=False)
    pytest.skip(f"{CHROMIUM} is missing")


def _screenshots_module() -> Any:
    spec = importlib.util.spec_from_file_location("tw_screenshots", ROOT / "scripts/screenshots.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


shots = _screenshots_module()
pytestmark = [sqlite_only, pytest.mark.timeout(240)]

DAG = """
def hello(**context):
    print("hello from the browser test", context["params"]["who"])


with DAG("ui_browser", schedule=None, start_date=datetime(2024, 1, 1), tags=["ui"],
         params={"who": "nobody", "greeting": "hello"}) as dag:
    first = PythonOperator(task_id="hello", python_callable=hello)
    with TaskGroup("group") as group:
        EmptyOperator(task_id="a") >> EmptyOperator(task_id="b")
    first >> group >> EmptyOperator(task_id="last")
"""


@dataclass
class Live:
    web: Web
    base: str
    browser: Any

    def page(self, username: str) -> Any:
        """A new browser page logged in as ``username``."""
        page = self.browser.new_page(viewport=shots.VIEWPORT)
        page.set_default_timeout(30_000)
        page.on("dialog", lambda dialog: dialog.accept())
        page.goto(f"{self.base}/dags")
        assert "/login" in page.url
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", f"pw-{username}")
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(r".*/dags$"))
        return page


@contextmanager
def live_ui(web: Web, config: pytest.Config) -> Iterator[Live]:
    """The web server on a free port, the scheduler looping in a thread, and Chromium."""
    need_chromium(config)
    from playwright import sync_api

    with (
        shots.scheduling(web.system.scheduler.run_until),
        shots.serving(create_app(web.system.settings)) as base,
        sync_api.sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield Live(web, base, browser)
        finally:
            browser.close()


@pytest.fixture
def live(web: Web, request: pytest.FixtureRequest) -> Iterator[Live]:
    web.system.add_dag("ui_browser", DAG)
    with live_ui(web, request.config) as running:
        yield running


def only_run_id(web: Web) -> str:
    with web.system.sessions() as session:
        from tradewind.metastore.store import runs as run_store

        runs = run_store.list_runs(session, "ui_browser")
    assert len(runs) == 1
    return runs[0].run_id


def test_trigger_watch_clear_mark_and_log_out(live: Live) -> None:
    web = live.web
    page = live.page("user")
    # Find the DAG.
    page.fill("#dag-search", "ui_brow")
    page.press("#dag-search", "Enter")
    row = page.locator("tr[data-dag=ui_browser]")
    row.wait_for()
    assert page.locator("tr[data-dag]").count() == 1
    # Unpause it.
    with page.expect_response(lambda r: r.request.method == "PATCH") as answer:
        row.locator("label.switch").click()
    assert answer.value.ok
    assert row.locator("input[type=checkbox]").is_checked()
    # Trigger it with a param from the form.
    row.get_by_role("link", name="Trigger ui_browser").click()
    # The params come in the order the DAG declares them, not sorted.
    names = page.eval_on_selector_all("[data-param]", "els => els.map((e) => e.dataset.param)")
    assert names == ["who", "greeting"]
    page.fill("input[data-param=who]", "the tester")
    page.click("#trigger-submit")
    page.wait_for_url(re.compile(r".*/dags/ui_browser\?run=.*"))
    run_id = only_run_id(web)
    # The grid turns green as the scheduler runs the tasks.
    page.wait_for_function(
        """() => {
            const cells = document.querySelectorAll("#grid tbody tr:not(.group) td");
            return cells.length === 4 && [...cells].every((c) => c.classList.contains("s-success"));
        }""",
        timeout=60_000,
    )
    page.wait_for_selector("#grid thead th[data-r] .runbar i.s-success")
    # A task's log shows its output.
    page.locator("#grid tr[data-t=hello] td").first.click()
    page.locator("#ti-panel[data-task=hello] .badge.s-success").wait_for()
    page.click("#ti-panel-open")
    page.wait_for_url(re.compile(r".*/tasks/hello$"))
    # Predicates are functions, not expressions: Playwright polls an expression through eval,
    # which the page's Content-Security-Policy refuses.
    page.wait_for_function(
        "() => document.getElementById('log').textContent.includes('hello from the browser test')"
    )
    assert "the tester" in page.locator("#log").text_content()
    # One wording for the try on the whole page.
    assert page.locator(".muted.small", has_text="try 1 of 1").count() == 1
    assert page.locator("#ti-try").text_content() == "1 of 1 (0 retries)"
    # Clear it (dry run first, then confirm): it runs again.
    page.uncheck("input[name=include_downstream]")
    page.click("#ti-clear")
    preview = page.locator("form:has(#ti-clear) .preview")
    preview.wait_for()
    assert "1 task instance will change" in preview.text_content()
    page.click("form:has(#ti-clear) [data-confirm-action]")
    shots.wait_for(lambda: web.system.instance("ui_browser", run_id, "hello").try_number == 2)
    shots.wait_for(lambda: web.system.state("ui_browser", run_id, "hello") == "success")
    # The page reloads itself after the action; open it afresh once that settled.
    reopen(page, page.url)
    page.wait_for_selector("#try-tabs [data-try='2']")
    # Mark the run failed from the grid's run panel.
    page.goto(f"{live.base}/dags/ui_browser")
    page.locator("#grid thead th[data-r] .runbar").first.click()
    page.click("#run-mark-failed")
    shots.wait_for(lambda: web.system.run_state("ui_browser", run_id) == "failed")
    page.wait_for_selector("#grid thead th[data-r] .runbar i.s-failed")
    # Log out.
    page.click("#logout")
    page.wait_for_url(re.compile(r".*/login$"))
    page.goto(f"{live.base}/dags")
    assert "/login" in page.url


def reopen(page: Any, url: str) -> None:
    """Go to ``url``, even while the page is in the middle of a navigation of its own."""
    from playwright.sync_api import Error

    for _ in range(10):
        try:
            page.goto(url)
            return
        except Error:
            page.wait_for_timeout(200)
    page.goto(url)


def test_a_viewer_sees_no_write_controls(live: Live) -> None:
    page = live.page("viewer")
    page.locator("tr[data-dag=ui_browser]").wait_for()
    assert page.locator("text=Trigger").count() == 0
    assert page.locator("tr[data-dag=ui_browser] input[type=checkbox]").is_disabled()
    page.goto(f"{live.base}/dags/ui_browser")
    page.locator("#grid").wait_for()
    assert page.locator("#trigger").count() == 0


def test_screenshots_of_the_main_pages(live: Live, tmp_path: Path) -> None:
    web = live.web
    run_id = web.system.trigger("ui_browser", conf={"who": "screenshots"})
    shots.wait_for(lambda: web.system.run_state("ui_browser", run_id) == "success")
    page = live.page("admin")
    written = shots.capture(page, live.base, "ui_browser", run_id, task_id="hello", out=tmp_path)
    assert [p.name for p in written if p.stat().st_size > 10_000] == [p.name for p in written]


# Records what the Content-Security-Policy blocks on each page (init scripts are not subject
# to the page's policy).
WATCH_CSP = """
window.__blocked = [];
document.addEventListener("securitypolicyviolation",
    (e) => window.__blocked.push(e.violatedDirective + " " + e.blockedURI));
"""


def test_pages_keep_to_the_content_security_policy(live: Live) -> None:
    web = live.web
    run_id = web.system.trigger("ui_browser", conf={"who": "csp"})
    shots.wait_for(lambda: web.system.run_state("ui_browser", run_id) == "success")
    page = live.page("admin")
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.add_init_script(WATCH_CSP)
    run = run_id.replace(":", "%3A").replace("+", "%2B")
    pages = [
        ("/dags", "tr[data-dag=ui_browser]"),
        (f"/dags/ui_browser?run={run}", "#run-panel h2"),
        (f"/dags/ui_browser/graph?run={run}", "svg.graph"),
        (f"/dags/ui_browser/gantt?run={run}", ".gantt"),
        (f"/dags/ui_browser/runs/{run}/tasks/hello", "#log"),
        ("/dags/ui_browser/trigger", "#trigger-form"),
        ("/dags/ui_browser/code", "pre"),
        ("/dags/ui_browser/details", "#dag-delete"),
        ("/admin/pools", "#resource-table tr[data-id]"),
        ("/admin/users", "main"),
        ("/admin/variables", "#resource-table"),
        ("/admin/connections", "#resource-table"),
        ("/browse/audit-log", "main"),
        ("/browse/dag-runs", "main table"),
        ("/browse/task-instances", "main table"),
        ("/browse/xcoms", "main"),
        ("/browse/jobs", "main table"),
    ]
    for path, ready in pages:
        answer = page.goto(live.base + path)
        assert "script-src 'self';" in answer.headers["content-security-policy"], path
        page.wait_for_selector(ready)
        page.wait_for_load_state("networkidle")
        assert page.evaluate("window.__blocked") == [], path
    # The policy is in force: a script injected into a page does not run.
    injected = """() => {
        const script = document.createElement("script");
        script.textContent = "window.__injected = true";
        document.body.append(script);
        return window.__injected === true;
    }"""
    assert page.evaluate(injected) is False
    page.wait_for_function("() => window.__blocked.length > 0")
    assert page.evaluate("window.__blocked")[0].startswith("script-src")
    problems.clear()  # Chromium reports what it refused as a console error
    # Selects that submit their form when changed (once inline handlers) still do.
    page.goto(f"{live.base}/dags")
    page.select_option("select[name=tag]", "ui")
    page.wait_for_url(re.compile(r".*[?&]tag=ui"))
    # The API docs page, linked from the menu: Swagger UI served by this server (nothing from
    # another host), started by the page's inline script.
    outside: list[str] = []
    page.on(
        "request",
        lambda r: outside.append(r.url) if not r.url.startswith(live.base) else None,
    )
    page.goto(f"{live.base}/dags")
    page.click("text=Browse")
    page.click("#nav-api-docs")
    page.wait_for_url(re.compile(r".*/api/v1/docs$"))
    page.wait_for_selector(".swagger-ui .info .title")
    page.wait_for_selector(".swagger-ui .opblock-tag")
    assert "tradewind" in page.locator(".swagger-ui .info .title").text_content()
    assert outside == []
    assert page.evaluate("window.__blocked") == []
    assert problems == []
