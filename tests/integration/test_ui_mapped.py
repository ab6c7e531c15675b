"""Mapped tasks in the UI, in headless Chromium: the grid's one row per mapped task with a cell
that sums up each run's instances, the list of a run's instances, one instance's page (its log,
its XComs, clear and mark for it alone), and the graph's marks of mapped tasks and groups."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from mapdata import mapped_run
from scheduling import make_system_fixture, sqlite_only  # noqa: F401
from test_ui_browser import CHROMIUM, need_chromium, reopen, shots
from webtest import Web, make_web_fixture, web_fixture  # noqa: F401

from tradewind import tasklogs
from tradewind.metastore.store import runs as run_store
from tradewind.metastore.store import xcom as xcom_store
from tradewind.ui.app import create_app
from tradewind.workloads import TaskKey

pytestmark = [sqlite_only, pytest.mark.timeout(240)]


@dataclass
class Live:
    web: Web
    base: str
    browser: Any
    run_id: str

    def page(self, username: str = "user") -> Any:
        page = self.browser.new_page(viewport=shots.VIEWPORT)
        page.set_default_timeout(30_000)
        page.on("dialog", lambda dialog: dialog.accept())
        page.goto(f"{self.base}/login")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", f"pw-{username}")
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(r".*/dags$"))
        return page


@pytest.fixture
def live(web: Web, request: pytest.FixtureRequest) -> Iterator[Live]:
    """A run of the mapped DAG (paused: the scheduler leaves it be), its instance 2 of ``work``
    with a log and an XCom, served to Chromium."""
    need_chromium(request.config)
    from playwright import sync_api

    run_id = mapped_run(web.system)
    key = TaskKey("mapped", run_id, "work", 2, 1)
    path = tasklogs.log_path(web.system.settings.logging.base_log_folder, key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("the log of instance two\n")
    with web.system.sessions.begin() as session:
        run = run_store.get_run(session, "mapped", run_id)
        assert run is not None
        xcom_store.set_xcoms(session, run.id, "work", 2, [("return_value", "value of two")])
        xcom_store.set_xcoms(session, run.id, "work", 0, [("return_value", "value of zero")])
    with (
        shots.serving(create_app(web.system.settings)) as base,
        sync_api.sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield Live(web, base, browser, run_id)
        finally:
            browser.close()


def test_the_grid_shows_a_mapped_task_as_one_row_that_opens_its_instances(live: Live) -> None:
    page = live.page("viewer")
    page.goto(f"{live.base}/dags/mapped")
    row = page.locator("#grid tr[data-t=work]")
    assert row.count() == 1
    assert "[ ]" in row.locator("th").text_content()
    assert "[ ]" in page.locator("#grid tr[data-t='group:grp'] th").text_content()
    cell = row.locator("td").first
    # The most telling state of the instances colours the cell; its title counts them.
    assert "s-failed" in (cell.get_attribute("class") or "")
    summary = cell.get_attribute("data-m") or ""
    assert summary.startswith("4 mapped instances: 1 failed, 1 running, 2 success")
    cell.hover()
    assert summary in (cell.get_attribute("title") or "")
    cell.click()
    page.locator("#ti-panel[data-task=work]").wait_for()
    page.click("#ti-panel-open")
    page.wait_for_url(re.compile(r".*/tasks/work$"))
    listed = page.locator("#mapped-instances tbody tr")
    assert listed.count() == 4
    texts = [listed.nth(i).inner_text() for i in range(4)]
    assert [t.split("\t")[:4] for t in texts] == [
        ["0", "alpha", "success", "1"],
        ["1", "beta", "failed", "1"],
        ["2", "gamma", "success", "1"],
        ["3", "delta", "running", "1"],
    ]
    assert "4 mapped instances" in page.locator("#mapped-summary").text_content()
    # A viewer may look, not change.
    assert page.locator("#mapped-clear").count() == 0
    listed.nth(2).get_by_role("link", name="2").click()
    page.wait_for_url(re.compile(r".*/tasks/work\?map_index=2$"))
    assert page.locator("#ti-map-index").text_content() == "[2]"
    assert page.locator("#ti-rendered-map-index").text_content() == "gamma"
    page.wait_for_function(
        "() => document.getElementById('log').textContent.includes('the log of instance two')"
    )
    page.click("nav.tabs [data-tab=xcom]")
    xcoms = page.locator("section[data-pane=xcom] tbody tr")
    assert xcoms.count() == 1
    assert "value of two" in xcoms.first.text_content()


def test_clear_and_mark_one_instance_and_all_of_them(live: Live) -> None:
    web, run_id = live.web, live.run_id

    def state(index: int) -> str | None:
        found = [
            ti.state
            for ti in web.system.instances("mapped", run_id)
            if (ti.task_id, ti.map_index) == ("work", index)
        ]
        return found[0]

    page = live.page("user")
    page.goto(f"{live.base}/dags/mapped/runs/{run_id}/tasks/work?map_index=1")
    page.uncheck("form:has(#ti-clear) input[name=include_downstream]")
    page.click("#ti-clear")
    preview = page.locator("form:has(#ti-clear) .preview")
    preview.wait_for()
    assert "1 task instance will change" in preview.text_content()
    assert "work [1]" in preview.text_content()
    page.click("form:has(#ti-clear) [data-confirm-action]")
    shots.wait_for(lambda: state(1) is None)
    assert state(0) == "success"
    # Mark instance 0 failed, from its page: only it changes.
    reopen(page, f"{live.base}/dags/mapped/runs/{run_id}/tasks/work?map_index=0")
    page.check("form:has(#ti-mark) input[value=failed]")
    page.click("#ti-mark")
    page.locator("form:has(#ti-mark) .preview").wait_for()
    page.click("form:has(#ti-mark) [data-confirm-action]")
    shots.wait_for(lambda: state(0) == "failed")
    assert state(2) == "success"
    # Mark them all success from the list of instances.
    page.goto(f"{live.base}/dags/mapped/runs/{run_id}/tasks/work")
    page.click("#mapped-mark")
    preview = page.locator("form:has(#mapped-mark) .preview")
    preview.wait_for()
    assert "3 task instances will change" in preview.text_content()
    page.click("form:has(#mapped-mark) [data-confirm-action]")
    shots.wait_for(lambda: all(state(i) == "success" for i in range(4)))


def test_the_graph_marks_mapped_tasks_and_groups_with_their_count(live: Live) -> None:
    page = live.page("viewer")
    page.goto(f"{live.base}/dags/mapped/graph?run={live.run_id}")
    work = page.locator("svg.graph g.node[data-t=work]")
    assert work.locator("text.mapped-badge").text_content() == "[4]"
    assert "s-failed" in (work.locator("rect.stripe").get_attribute("class") or "")
    group = page.locator("svg.graph g.node[data-t='group:grp']")
    assert group.locator("text.mapped-badge").text_content() == "[3]"
    assert page.locator("svg.graph g.node[data-t=start] text.mapped-badge").count() == 0


def test_gantt_bars_and_missing_instances(live: Live) -> None:
    page = live.page("viewer")
    page.goto(f"{live.base}/dags/mapped/gantt?run={live.run_id}")
    labels = page.locator(".gantt a.label").all_text_contents()
    assert [label for label in labels if label.startswith("work")] == [
        f"work [{i}]" for i in range(4)
    ]
    page.locator(".gantt a.label", has_text="work [1]").click()
    page.wait_for_url(re.compile(r".*/tasks/work\?map_index=1$"))
    missing = page.goto(f"{live.base}/dags/mapped/runs/{live.run_id}/tasks/work?map_index=9")
    assert missing is not None
    assert missing.status == 404
    bad = page.goto(f"{live.base}/dags/mapped/runs/{live.run_id}/tasks/work?map_index=x")
    assert bad is not None
    assert bad.status == 400
