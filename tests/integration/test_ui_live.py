"""Live parts of the UI in headless Chromium over a real web server and scheduler: the grid's
run panel and bars follow a run to its end, the time-zone picker re-dates every page, and the
DAG list counts runs and task states and offers a menu."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
from scheduling import make_system_fixture, sqlite_only  # noqa: F401
from test_ui_browser import Live, live_ui, shots
from webtest import Web, make_web_fixture, web_fixture  # noqa: F401

pytestmark = [sqlite_only, pytest.mark.timeout(240)]

GATED = """
import time
from pathlib import Path

def wait_for_gate():
    gate = Path({gate!r})
    while not gate.exists():
        time.sleep(0.05)

with DAG("ui_gate", schedule=None, start_date=datetime(2024, 1, 1)) as dag:
    PythonOperator(task_id="wait", python_callable=wait_for_gate) >> EmptyOperator(task_id="after")
"""

DAILY = """
with DAG("ui_daily", schedule="@daily", start_date=datetime(2024, 1, 1), catchup=False) as dag:
    EmptyOperator(task_id="only")
"""


@pytest.fixture
def live(web: Web, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Live]:
    web.system.add_dag("ui_gate", GATED.format(gate=str(tmp_path / "gate")))
    with live_ui(web, request.config) as running:
        yield running


def open_gate(tmp_path: Path) -> None:
    (tmp_path / "gate").write_text("go")


def panel_state(page: object) -> str:
    return page.locator("#run-panel .badge").first.text_content() or ""  # type: ignore[attr-defined]


def test_the_run_panel_and_bar_follow_the_run_to_its_end(live: Live, tmp_path: Path) -> None:
    web = live.web
    run_id = web.system.trigger("ui_gate")
    page = live.page("viewer")
    page.goto(f"{live.base}/dags/ui_gate?run={quote(run_id)}")
    page.locator("#run-panel").wait_for()
    # The panel turns to running on its own while the gated task waits.
    page.wait_for_function(
        "() => document.querySelector('#run-panel .badge').textContent === 'running'",
        timeout=60_000,
    )
    started = page.locator("#run-panel tr:has(th:text('Started')) td").text_content()
    assert (started or "").strip()
    open_gate(tmp_path)
    shots.wait_for(lambda: web.system.run_state("ui_gate", run_id) == "success")
    # Without a reload: the panel says success with its end and duration, and the run's bar
    # grew from a stub to its full height.
    page.wait_for_function(
        "() => document.querySelector('#run-panel .badge').textContent === 'success'"
    )
    ended = page.locator("#run-panel tr:has(th:text('Ended')) td").text_content()
    duration = page.locator("#run-panel tr:has(th:text('Duration')) td").text_content()
    assert (ended or "").strip()
    assert (duration or "").strip()
    page.wait_for_function(
        """() => {
            const bar = document.querySelector('#grid thead th[data-r] .runbar i');
            return bar.classList.contains('s-success') && bar.getBoundingClientRect().height > 20;
        }"""
    )


def test_dates_follow_the_chosen_time_zone(live: Live, tmp_path: Path) -> None:
    web = live.web
    web.system.add_dag("ui_daily", DAILY)
    run_id = web.system.trigger("ui_gate", logical_date=datetime(2024, 3, 1, 12, 0, tzinfo=UTC))
    open_gate(tmp_path)
    shots.wait_for(lambda: web.system.run_state("ui_gate", run_id) == "success")
    page = live.page("viewer")
    # UTC by default.
    last_run = page.locator("tr[data-dag=ui_gate] td.last-run time")
    assert last_run.text_content() == "2024-03-01 12:00:00"
    # Tokyo is UTC+9 all year round.
    page.select_option("#tz-select", "Asia/Tokyo")
    page.wait_for_function(
        "() => document.querySelector('tr[data-dag=ui_gate] td.last-run time').textContent"
        " === '2024-03-01 21:00:00'"
    )
    # Remembered across pages, and applied to what a page fetches later (the run panel).
    page.goto(f"{live.base}/dags/ui_gate?run={quote(run_id)}")
    logical = page.locator("#run-panel tr:has(th:text('Logical date')) time")
    logical.wait_for()
    page.wait_for_function(
        "() => document.querySelector('#run-panel time').textContent.startsWith('2024-03-01 21:00')"
    )
    assert page.locator("#tz-select").input_value() == "Asia/Tokyo"
    assert "UTC" in (logical.get_attribute("title") or "")
    # "Next run" is when the run starts, with its logical date beside: a day earlier.
    page.select_option("#tz-select", "UTC")
    page.goto(f"{live.base}/dags")
    cell = page.locator("tr[data-dag=ui_daily] .next-run")
    starts = datetime.fromisoformat(cell.locator("time").first.get_attribute("datetime") or "")
    logical_date = cell.locator(".next-logical time").get_attribute("datetime") or ""
    assert datetime.fromisoformat(logical_date) == starts - timedelta(days=1)
    assert "logical date" in (cell.text_content() or "")


def test_the_dag_list_counts_runs_and_tasks_and_has_a_menu(live: Live, tmp_path: Path) -> None:
    web = live.web
    page = live.page("user")
    row = page.locator("tr[data-dag=ui_gate]")
    row.wait_for()
    assert row.locator("td.last-run").text_content() == "no runs"
    # A run triggered elsewhere shows up live: queued or running, then success with the tasks.
    run_id = web.system.trigger("ui_gate")
    page.wait_for_function(
        """() => {
            const counts = document.querySelectorAll('tr[data-dag=ui_gate] td.run-counts .count');
            const busy = [...counts].filter((c) => /s-(queued|running)/.test(c.className));
            return busy.some((c) => c.textContent === '1');
        }""",
        timeout=60_000,
    )
    open_gate(tmp_path)
    shots.wait_for(lambda: web.system.run_state("ui_gate", run_id) == "success")
    page.wait_for_function(
        "() => document.querySelector('tr[data-dag=ui_gate] td.task-counts .s-success')"
        "?.textContent === '2'"
    )
    success = row.locator("td.run-counts .count.s-success")
    assert success.text_content() == "1"
    assert row.locator("td.last-run .dot.s-success").count() == 1
    # The row's menu: the code page, then delete.
    row.get_by_label("More for ui_gate").click()
    row.locator(".row-menu-items a", has_text="Code").click()
    page.wait_for_url(re.compile(r".*/dags/ui_gate/code$"))
    page.go_back()
    row = page.locator("tr[data-dag=ui_gate]")
    row.get_by_label("More for ui_gate").click()
    with page.expect_response(lambda r: r.request.method == "DELETE") as answer:
        row.locator(".row-menu-items button", has_text="Delete").click()
    assert answer.value.status == 204
    assert web.client.get("/api/v1/dags/ui_gate", headers=web.as_("admin")).status_code == 404


def test_a_viewer_gets_no_delete_in_the_menu(live: Live) -> None:
    page = live.page("viewer")
    row = page.locator("tr[data-dag=ui_gate]")
    row.get_by_label("More for ui_gate").click()
    assert row.locator(".row-menu-items a", has_text="Details").is_visible()
    assert row.locator(".row-menu-items button", has_text="Delete").count() == 0


FLAKY = """
from datetime import timedelta

from tradewind import Param


def flaky(ti):
    if ti.try_number == 1:
        raise RuntimeError("the first try fails")


with DAG(
    "ui_flaky",
    schedule=None,
    start_date=datetime(2024, 1, 1),
    params={
        "size": Param(3, type="integer", minimum=1, maximum=10, description="How many"),
        "colour": Param("red", enum=["red", "green"]),
    },
) as dag:
    PythonOperator(
        task_id="flaky", python_callable=flaky, retries=1, retry_delay=timedelta(0)
    ) >> EmptyOperator(task_id="steady")
"""


def test_gantt_code_and_details_pages(live: Live) -> None:
    web = live.web
    web.system.add_dag("ui_flaky", FLAKY)
    run_id = web.system.trigger("ui_flaky")
    shots.wait_for(lambda: web.system.run_state("ui_flaky", run_id) == "success")
    page = live.page("viewer")
    # The Gantt chart draws both tries of the task that was retried, in order.
    page.goto(f"{live.base}/dags/ui_flaky/gantt?run={quote(run_id)}")
    flaky = page.locator(".gantt-row[data-t=flaky] .gantt-bar")
    assert flaky.count() == 2
    assert [flaky.nth(i).get_attribute("data-try") for i in range(2)] == ["1", "2"]
    assert re.search(r"s-(failed|up_for_retry)", flaky.nth(0).get_attribute("class") or "")
    assert "s-success" in (flaky.nth(1).get_attribute("class") or "")
    first, second = (flaky.nth(i).bounding_box() for i in range(2))
    assert first is not None
    assert second is not None
    assert first["x"] + first["width"] <= second["x"] + 1
    assert page.locator(".gantt-row[data-t=steady] .gantt-bar").count() == 1
    # The code is highlighted: keywords and strings in their own colours.
    page.goto(f"{live.base}/dags/ui_flaky/code")
    keyword = page.locator("pre.code .k", has_text="def").first
    string = page.locator("pre.code .s2", has_text="ui_flaky").first
    assert keyword.evaluate("e => getComputedStyle(e).color") != string.evaluate(
        "e => getComputedStyle(e).color"
    )
    assert page.locator("pre.code span.ln").count() == len(
        (web.system.dags / "ui_flaky.py").read_text().splitlines()
    )
    # Params read as fields, in declaration order.
    page.goto(f"{live.base}/dags/ui_flaky/details")
    rows = page.locator("#dag-params tbody tr")
    assert [rows.nth(i).get_attribute("data-param") for i in range(2)] == ["size", "colour"]
    size = rows.nth(0).inner_text()
    assert "integer" in size
    assert "How many" in size
    assert "at least 1" in size
    assert "at most 10" in size
    assert "{" not in size
    assert "one of" in rows.nth(1).inner_text()


def test_a_grid_cell_opens_its_task_in_the_side_panel(live: Live, tmp_path: Path) -> None:
    web = live.web
    run_id = web.system.trigger("ui_gate")
    page = live.page("viewer")
    page.goto(f"{live.base}/dags/ui_gate")
    cell = page.locator("#grid tr[data-t=after] td").first
    cell.wait_for()
    # Dates label the run axis.
    assert page.locator("#grid thead th[data-r] .run-date time").count() == 1
    cell.click()
    panel = page.locator("#ti-panel[data-task=after]")
    panel.wait_for()
    assert page.url.endswith("/dags/ui_gate")
    # It follows the task: from waiting on its upstream to success, with no reload.
    open_gate(tmp_path)
    shots.wait_for(lambda: web.system.run_state("ui_gate", run_id) == "success")
    page.locator("#ti-panel[data-task=after] .badge.s-success").wait_for()
    assert "EmptyOperator" in (panel.locator("tr:has(th:text('Operator')) td").text_content() or "")
    # Its page (with the log) is a link away.
    page.click("#ti-panel-open")
    page.wait_for_url(re.compile(r".*/runs/.*/tasks/after$"))


def test_the_task_page_says_why_a_task_is_not_running(live: Live, tmp_path: Path) -> None:
    web = live.web
    run_id = web.system.trigger("ui_gate")
    shots.wait_for(lambda: web.system.state("ui_gate", run_id, "wait") == "running")
    page = live.page("viewer")
    page.goto(f"{live.base}/dags/ui_gate/runs/{quote(run_id)}/tasks/after")
    rule = page.locator("#ti-whynot li[data-dep='Trigger Rule']")
    rule.wait_for()
    assert "1 not done (wait)" in (rule.text_content() or "")
    # Once its upstream task is done the reason goes, without a reload.
    open_gate(tmp_path)
    page.wait_for_function(
        "() => !document.querySelector(\"#ti-whynot li[data-dep='Trigger Rule']\")"
    )
