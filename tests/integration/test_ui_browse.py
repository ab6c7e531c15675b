"""The Browse pages (DAG runs, task instances, XComs, jobs) in headless Chromium over a real web
server and scheduler: each lists what exists, filters and searches narrow it, the page links
move through it, bulk actions change states (as the REST API then says), a viewer sees no bulk
controls, and the jobs page shows the running scheduler; bad filter values are 400 pages."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest
from scheduling import make_system_fixture, sqlite_only  # noqa: F401
from sqlalchemy import event
from test_ui_browser import CHROMIUM, need_chromium, shots
from webtest import Web, make_web_fixture, web_fixture  # noqa: F401

from tradewind.metastore.models import Job
from tradewind.metastore.store import browsing
from tradewind.metastore.store import jobs as job_store
from tradewind.scheduler.trigger import trigger_dag
from tradewind.ui.app import create_app

pytestmark = [sqlite_only, pytest.mark.timeout(300)]

PUSHER = """
def push(**context):
    return {"rows": 42, "note": "long " * 100}


with DAG("browse_push", schedule=None, start_date=datetime(2024, 1, 1)) as dag:
    PythonOperator(task_id="push", python_callable=push) >> EmptyOperator(task_id="after")
"""

QUIET = """
with DAG("browse_quiet", schedule=None, start_date=datetime(2024, 1, 1)) as dag:
    EmptyOperator(task_id="only")
"""

SEEDED = 30  # runs of browse_quiet, more than the smallest page (25)
START = datetime(2025, 3, 1, tzinfo=UTC)


def seed_quiet_runs(web: Web) -> None:
    """Queued runs of the paused DAG browse_quiet, one a day: the scheduler leaves them be."""
    with web.system.sessions.begin() as session:
        for n in range(SEEDED):
            trigger_dag(
                session,
                "browse_quiet",
                now=datetime.now(UTC),
                run_id=f"seeded_{n:02d}",
                logical_date=START + timedelta(days=n),
            )


@dataclass
class Live:
    web: Web
    base: str
    browser: Any
    pushed: list[str]

    def page(self, username: str, path: str) -> Any:
        """A new browser page logged in as ``username``, at ``path``."""
        page = self.browser.new_page(viewport=shots.VIEWPORT)
        page.set_default_timeout(30_000)
        page.on("dialog", lambda dialog: dialog.accept())
        page.goto(f"{self.base}/login?next={quote(path, safe='')}")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", f"pw-{username}")
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(".*" + re.escape(path.split("?", maxsplit=1)[0]) + ".*"))
        return page

    def api(self, path: str) -> Any:
        answer = self.web.get("/api/v1" + path)
        return answer.json() if answer.status_code == 200 else answer.status_code


@pytest.fixture
def live(web: Web, request: pytest.FixtureRequest) -> Iterator[Live]:
    """Two finished runs of browse_push (run by the scheduler, then paused so nothing reruns
    what a test clears), 30 queued runs of the paused browse_quiet, the web server on a free
    port and the scheduler looping in a thread."""
    need_chromium(request.config)
    from playwright import sync_api

    system = web.system
    system.add_dag("browse_push", PUSHER)
    system.add_dag("browse_quiet", QUIET)
    pushed = []
    for day in (1, 2):
        run_id = system.trigger("browse_push", logical_date=datetime(2025, 1, day, tzinfo=UTC))
        assert system.wait("browse_push", run_id) == "success"
        pushed.append(run_id)
    system.set_paused("browse_push", True)
    seed_quiet_runs(web)
    with (
        shots.scheduling(system.scheduler.run_until),
        shots.serving(create_app(system.settings)) as base,
        sync_api.sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield Live(web, base, browser, pushed)
        finally:
            browser.close()


def column(page: Any, name: str) -> list[str]:
    """The texts of the table's column headed ``name``."""
    return page.eval_on_selector_all(
        "#browse-table tbody tr[data-dag], #browse-table tbody tr[data-job]",
        """(rows, name) => {
            const heads = [...document.querySelectorAll("#browse-table thead th")];
            const at = heads.findIndex((h) => h.textContent.trim() === name);
            return rows.map((r) => r.children[at].textContent.trim());
        }""",
        name,
    )


def test_dag_runs_list_filter_search_pages_and_bulk_actions(live: Live) -> None:
    page = live.page("user", "/browse/dag-runs?size=25")
    # Every run is counted; the first page holds 25, newest logical date first.
    assert page.locator("#browse-total").inner_text() == f"{SEEDED + 2} runs"
    first = column(page, "Run id")
    assert len(first) == 25
    assert first[0] == "seeded_29"
    assert column(page, "Logical date")[0] == "2025-03-30 00:00:00"
    # The next page holds the rest: the oldest seeded runs, then browse_push's.
    page.click("a[rel=next]")
    page.wait_for_url(re.compile(r".*page=2.*"))
    assert column(page, "Run id") == [
        *(f"seeded_{n:02d}" for n in range(4, -1, -1)),
        *reversed(live.pushed),
    ]
    page.click("a.page-no:text-is('1')")
    page.wait_for_url(re.compile(r".*/browse/dag-runs\?size=25$"))
    # A state filter narrows it to the finished runs.
    with page.expect_navigation():
        page.select_option("select[name=state]", "success")
    assert sorted(column(page, "Run id")) == sorted(live.pushed)
    assert set(column(page, "State")) == {"success"}
    # The search box finds a run by part of its id.
    page.goto(f"{live.base}/browse/dag-runs")
    page.fill("input[name=q]", "eded_1")
    page.press("input[name=q]", "Enter")
    page.wait_for_url(re.compile(r".*q=eded_1.*"))
    assert column(page, "Run id") == [f"seeded_{n}" for n in range(19, 9, -1)]
    # The DAG column links to the DAG, the run id to the run in the grid.
    row = page.locator("tr[data-run=seeded_12]")
    assert row.get_by_role("link", name="browse_quiet").get_attribute("href") == (
        "/dags/browse_quiet"
    )
    assert row.get_by_role("link", name="seeded_12").get_attribute("href") == (
        "/dags/browse_quiet?run=seeded_12"
    )
    # Select two runs and mark them success; then delete a third; then clear a finished one.
    bar = page.locator(".bulk-bar")
    assert bar.is_hidden()
    page.check("tr[data-run=seeded_12] input.pick-row")
    page.check("tr[data-run=seeded_13] input.pick-row")
    assert page.locator(".bulk-count").inner_text() == "2 runs selected"
    with page.expect_navigation():
        bar.get_by_role("button", name="Mark success").click()
    for run_id in ("seeded_12", "seeded_13"):
        assert live.api(f"/dags/browse_quiet/dagRuns/{run_id}")["state"] == "success"
        assert page.locator(f"tr[data-run={run_id}] .badge").inner_text() == "success"
    assert live.api("/dags/browse_quiet/dagRuns/seeded_14")["state"] == "queued"
    page.check("tr[data-run=seeded_14] input.pick-row")
    with page.expect_navigation():
        bar.get_by_role("button", name="Delete").click()
    assert live.api("/dags/browse_quiet/dagRuns/seeded_14") == 404
    assert page.locator("tr[data-run=seeded_14]").count() == 0
    # Select all, then mark failed.
    page.check("input.pick-all")
    assert page.locator(".bulk-count").inner_text() == "9 runs selected"
    with page.expect_navigation():
        bar.get_by_role("button", name="Mark failed").click()
    found = live.api("/dags/~/dagRuns?dag_id=browse_quiet&state=failed&limit=100")
    assert sorted(r["dag_run_id"] for r in found["dag_runs"]) == [
        f"seeded_{n}" for n in (10, 11, 12, 13, 15, 16, 17, 18, 19)
    ]
    # Clear a finished run of browse_push (paused, so it stays cleared): queued, its tasks anew.
    page.goto(f"{live.base}/browse/dag-runs?dag_id=browse_push")
    earlier = live.pushed[0]
    page.check(f"tr[data-run='{earlier}'] input.pick-row")
    with page.expect_navigation():
        bar.get_by_role("button", name="Clear").click()
    # (The scheduler may start the run again, but queues no task of the paused DAG.)
    assert live.api(f"/dags/browse_push/dagRuns/{earlier}")["state"] in ("queued", "running")
    tis = live.api(f"/dags/browse_push/dagRuns/{earlier}/taskInstances")["task_instances"]
    assert len(tis) == 2
    assert {ti["state"] for ti in tis} <= {None, "scheduled"}
    assert live.api(f"/dags/browse_push/dagRuns/{live.pushed[1]}")["state"] == "success"


def test_task_instances_list_filter_and_bulk_mark_and_clear(live: Live) -> None:
    page = live.page("op", "/browse/task-instances")
    assert page.locator("#browse-total").inner_text() == "4 task instances"
    assert sorted(column(page, "Task")) == ["after", "after", "push", "push"]
    assert set(column(page, "Operator")) == {"PythonOperator", "EmptyOperator"}
    assert set(column(page, "Pool")) == {"default_pool"}
    # A task id filter, then a run id filter, narrow it.
    page.fill("input[name=task_id]", "push")
    page.press("input[name=task_id]", "Enter")
    page.wait_for_url(re.compile(r".*task_id=push.*"))
    assert column(page, "Task") == ["push", "push"]
    later, earlier = live.pushed[1], live.pushed[0]
    page.goto(f"{live.base}/browse/task-instances?run_id={quote(later)}")
    assert sorted(column(page, "Task")) == ["after", "push"]
    link = page.locator("tr[data-task=push]").get_by_role("link", name="push", exact=True)
    assert (
        link.get_attribute("href") == f"/dags/browse_push/runs/{quote(later, safe='')}/tasks/push"
    )
    # Mark "after" failed in the later run; clear "push" of both runs.
    page.check("tr[data-task=after] input.pick-row")
    with page.expect_navigation():
        page.locator(".bulk-bar").get_by_role("button", name="Mark failed").click()
    path = f"/dags/browse_push/dagRuns/{later}/taskInstances"
    assert live.api(f"{path}/after")["state"] == "failed"
    assert live.api(f"{path}/push")["state"] == "success"
    page.goto(f"{live.base}/browse/task-instances?task_id=push")
    page.check("input.pick-all")
    with page.expect_navigation():
        page.locator(".bulk-bar").get_by_role("button", name="Clear").click()
    for run_id in (earlier, later):
        ti = live.api(f"/dags/browse_push/dagRuns/{run_id}/taskInstances/push")
        # (The scheduler may schedule it again, but queues no task of the paused DAG.)
        assert ti["state"] in (None, "scheduled")
    assert live.api(f"/dags/browse_push/dagRuns/{earlier}/taskInstances/after")["state"] == (
        "success"
    )
    # The state filter finds the cleared ones still in state none (the scheduler may have
    # scheduled some since), and nothing else.
    page.goto(f"{live.base}/browse/task-instances?state=none")
    assert column(page, "Task") in (["push", "push"], ["push"], [])


def test_xcoms_list_filter_and_expand_a_long_value(live: Live) -> None:
    page = live.page("viewer", "/browse/xcoms")
    assert page.locator("#browse-total").inner_text() == "2 XComs"
    assert column(page, "Key") == ["return_value", "return_value"]
    assert column(page, "Run id") == list(reversed(live.pushed))
    # The value is cut in the table and whole (within the display limit) when opened.
    cell = page.locator(f"tr[data-run='{live.pushed[0]}'] .xcom-value")
    assert cell.locator("summary").inner_text().startswith('{"rows": 42, "note": "long long')
    assert cell.locator("pre").is_hidden()
    cell.locator("summary").click()
    assert cell.locator("pre").inner_text().endswith('long "}')
    assert "/xcomEntries/return_value/value" in (
        cell.get_by_role("link", name=re.compile("Whole value")).get_attribute("href") or ""
    )
    # Filters on the key and the run narrow it; the search finds nothing for a key there is not.
    page.goto(f"{live.base}/browse/xcoms?run_id={quote(live.pushed[1])}&key=return_value")
    assert column(page, "Run id") == [live.pushed[1]]
    page.fill("input[name=q]", "no_such_key")
    page.press("input[name=q]", "Enter")
    page.wait_for_url(re.compile(r".*q=no_such_key.*"))
    assert page.locator("td.empty").inner_text() == "No XComs match."


def test_jobs_page_shows_the_running_scheduler(live: Live) -> None:
    with live.web.system.sessions() as session:
        scheduler = session.query(Job).filter(Job.job_type == job_store.SCHEDULER).one()
        job_id, started = scheduler.id, scheduler.start_date
    page = live.page("viewer", "/browse/jobs")
    row = page.locator(f"tr[data-job='{job_id}']")
    assert row.locator("td").nth(1).inner_text() == "scheduler"
    assert row.locator(".badge").inner_text() == "running"
    beat = row.locator("td.heartbeat").inner_text()
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", beat)
    assert beat >= started.strftime("%Y-%m-%d %H:%M:%S")
    # The type filter keeps it; the other state leaves it out.
    page.goto(f"{live.base}/browse/jobs?job_type=scheduler")
    assert page.locator(f"tr[data-job='{job_id}']").count() == 1
    page.goto(f"{live.base}/browse/jobs?state=finished")
    assert page.locator(f"tr[data-job='{job_id}']").count() == 0


def test_viewer_sees_no_bulk_controls(live: Live) -> None:
    for path in ("/browse/dag-runs", "/browse/task-instances"):
        page = live.page("viewer", path)
        assert page.locator("#browse-table tbody tr[data-dag]").count() > 0
        assert page.locator(".bulk-bar").count() == 0
        assert page.locator("input.pick-row, input.pick-all").count() == 0
    page = live.page("user", "/browse/dag-runs")
    assert page.locator(".bulk-bar").count() == 1
    # The Browse menu links the four pages.
    for path in ("dag-runs", "task-instances", "xcoms", "jobs"):
        assert page.locator(f".menu-items a[href='/browse/{path}']").count() == 1


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/browse/dag-runs?state=exploded", "state 'exploded' is not one of"),
        ("/browse/dag-runs?run_type=sideways", "run_type 'sideways' is not one of"),
        ("/browse/dag-runs?since=yesterday", "since must be a date"),
        ("/browse/dag-runs?since=2025-02-01&until=2025-01-01", "ends before it starts"),
        ("/browse/dag-runs?page=abc", "page must be a whole number"),
        ("/browse/dag-runs?page=0", "page must be a number from 1"),
        ("/browse/dag-runs?size=7", "size must be one of 25, 50, 100"),
        ("/browse/task-instances?state=sleepy", "state 'sleepy' is not one of"),
        ("/browse/task-instances?dag_id=" + "d" * 300, "filter is too long"),
        ("/browse/xcoms?until=2025-13-45", "until must be a date"),
        ("/browse/jobs?job_type=robot", "job_type 'robot' is not one of"),
    ],
)
def test_a_bad_filter_value_is_a_400_page(web: Web, path: str, message: str) -> None:
    answer = web.get(path, "viewer")
    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith("text/html")
    assert "Bad filter" in answer.text
    assert message in answer.text.replace("&#39;", "'")


def test_pages_answer_with_filters_that_match_nothing(web: Web) -> None:
    for path in (
        "/browse/dag-runs?dag_id=none_such&since=2025-01-01T10:00&until=2025-01-02&sort=oldest",
        "/browse/task-instances?dag_id=none_such&state=none&q=%25_",
        "/browse/xcoms?key=k&q=x&size=100&page=3",
        "/browse/jobs?q=zz-no-such-host",
    ):
        answer = web.get(path, "viewer")
        assert answer.status_code == 200, path
        assert "match.</td>" in answer.text


def test_listings_count_at_most_the_cap(web: Web, monkeypatch: pytest.MonkeyPatch) -> None:
    web.system.add_dag("browse_quiet", QUIET)
    seed_quiet_runs(web)
    monkeypatch.setattr(browsing, "COUNT_CAP", 5)
    page = web.get("/browse/dag-runs?size=25", "viewer").text
    assert "5+ runs" in page
    assert page.count("<tr data-dag=") == 25
    assert 'rel="next" href="/browse/dag-runs?size=25&amp;page=2"' in page
    page = web.get("/browse/dag-runs?size=25&page=2", "viewer").text
    assert page.count("<tr data-dag=") == SEEDED - 25
    assert 'rel="next"' not in page


def test_listings_read_their_date_index_without_sorting(web: Web) -> None:
    """Each listing (unfiltered, newest first) walks the index of its date column: the database
    reads one page of rows, however many there are, and sorts none."""
    statements: list[tuple[str, Any]] = []
    engine = web.system.sessions.kw["bind"]

    def keep(conn: Any, cursor: Any, statement: str, params: Any, *args: Any) -> None:
        if "ORDER BY" in statement:
            statements.append((statement, params))

    window = browsing.Window(limit=25)
    listings = {
        "ix_dag_run_logical_date": lambda s: browsing.runs(s, browsing.RunFilter(), window),
        "ix_task_instance_start_date": lambda s: browsing.instances(
            s, browsing.InstanceFilter(), window
        ),
        "ix_xcom_timestamp": lambda s: browsing.xcoms(s, browsing.XComFilter(), window),
        "ix_job_start_date": lambda s: browsing.jobs(s, browsing.JobFilter(), window),
    }
    for index, listing in listings.items():
        statements.clear()
        event.listen(engine, "before_cursor_execute", keep)
        try:
            with web.system.sessions() as session:
                listing(session)
        finally:
            event.remove(engine, "before_cursor_execute", keep)
        [(statement, params)] = statements
        with engine.connect() as connection:
            plan = " | ".join(
                str(row[-1])
                for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params)
            )
        assert index in plan, plan
        assert "TEMP B-TREE" not in plan, plan


def test_logged_out_visitors_go_to_the_login(web: Web) -> None:
    for path in ("/browse/dag-runs", "/browse/task-instances", "/browse/xcoms", "/browse/jobs"):
        answer = web.client.get(path + "?state=bogus", follow_redirects=False)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/login?next=" + quote(path, safe=""))
