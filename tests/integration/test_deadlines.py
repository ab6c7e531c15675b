"""Deadline alerts through the real scheduler: a run not finished by its deadline fires the
alert's callback once (a notifier class and a coroutine function, with Airflow's import paths),
the miss is recorded and shown by the REST API and on the grid's run panel (headless
Chromium); a run that finishes in time fires nothing."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from receivers import HttpReceiver, http_receiver
from scheduling import System, count_rows, make_system_fixture, sqlite_only  # noqa: F401
from test_ui_browser import CHROMIUM, need_chromium, shots
from webtest import Web, make_web_fixture  # noqa: F401

from tradewind.metastore.models import Deadline
from tradewind.states import DagRunState
from tradewind.ui.app import create_app

pytestmark = [sqlite_only, pytest.mark.timeout(240)]

# The scheduler looks for missed deadlines often, so that the tests wait little.
FAST = {"scheduler": {"deadline_check_interval": 0.2, "heartbeat_interval": 0.2}}

LATE = """
from airflow.sdk import AsyncCallback, DeadlineAlert, DeadlineReference
from tradewind.alerts import WebhookNotifier


async def missed(context, journal):
    note(journal, "missed", context["dag_run"].run_id, context["log_url"])


with DAG("late", schedule=None, start_date=datetime(2024, 1, 1), deadline=[
    DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT,
        interval=timedelta(seconds=1),
        callback=AsyncCallback(WebhookNotifier, kwargs={{
            "url": {hook!r},
            "json": {{"text": "{{{{ dag.dag_id }}}} run {{{{ run_id }}}} is late"}},
        }}),
    ),
    DeadlineAlert(
        reference=DeadlineReference.DAGRUN_LOGICAL_DATE,
        interval=timedelta(days=365),
        callback=AsyncCallback(missed, kwargs={{"journal": {journal!r}}}),
    ),
    DeadlineAlert(
        reference=DeadlineReference.FIXED_DATETIME(datetime(2024, 1, 1, tzinfo=timezone.utc)),
        interval=timedelta(hours=1),
        callback=AsyncCallback(missed, kwargs={{"journal": {journal!r}}}),
    ),
]) as dag:
    PythonOperator(task_id="slow", python_callable=wait_for, op_args=[{gate!r}])
"""


@pytest.fixture
def hook() -> Iterator[HttpReceiver]:
    with http_receiver() as receiver:
        yield receiver


def _deadlines(web: Web, run_id: str) -> list[dict[str, Any]]:
    answer = web.get(f"/api/v1/dags/late/dagRuns/{quote(run_id, safe='')}/deadlines")
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["deadlines"]
    return found


def test_a_missed_deadline_fires_once_is_recorded_and_shown(
    make_web: Callable[..., Web], hook: HttpReceiver, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    web = make_web(**FAST)
    system = web.system
    journal, gate = tmp_path / "journal", tmp_path / "gate"
    system.add_dag("late", LATE.format(hook=hook.url, journal=str(journal), gate=str(gate)))
    run_id = system.trigger("late")
    # The run waits at the gate; its first and third deadlines pass, the second is far off.
    assert system.run_until(lambda: not hook.received.empty() and journal.exists())
    posted = hook.get()
    assert posted.body == f'{{"text": "late run {run_id} is late"}}'.encode()
    assert journal.read_text().split()[:2] == ["missed", run_id]
    assert f"/dags/late?run={quote(run_id, safe='')}" in journal.read_text()
    # More checks go by: each deadline fired once.
    system.settle(1.5)
    assert hook.pending() == []
    assert len(journal.read_text().splitlines()) == 1
    assert count_rows(system, Deadline) == 2
    states = [(d["alert_index"], d["state"], d["callback_state"]) for d in _deadlines(web, run_id)]
    assert states == [(0, "missed", "started"), (1, "pending", None), (2, "missed", "started")]
    first = _deadlines(web, run_id)[0]
    assert first["reference"] == "dagrun_queued_at"
    assert first["interval_seconds"] == 1.0
    assert first["callback"] == "tradewind.runtime.notifiers.WebhookNotifier"
    # The run ends: the far deadline is met; the misses stay recorded.
    gate.touch()
    assert system.wait("late", run_id) == DagRunState.SUCCESS.value
    states = [(d["alert_index"], d["state"]) for d in _deadlines(web, run_id)]
    assert states == [(0, "missed"), (1, "met"), (2, "missed")]
    listed = web.get("/api/v1/deadlines", params={"dag_id": "late"}, user="viewer").json()
    assert listed["total_entries"] == 2
    assert {(d["dag_run_id"], d["alert_index"]) for d in listed["deadlines"]} == {
        (run_id, 0),
        (run_id, 2),
    }
    _panel_shows_the_deadlines(web, run_id, request)


def _panel_shows_the_deadlines(web: Web, run_id: str, request: pytest.FixtureRequest) -> None:
    need_chromium(request.config)
    from playwright import sync_api

    with (
        shots.serving(create_app(web.system.settings)) as base,
        sync_api.sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            page = browser.new_page()
            page.set_default_timeout(30_000)
            page.goto(f"{base}/login")
            page.fill("input[name=username]", "viewer")
            page.fill("input[name=password]", "pw-viewer")
            page.click("button[type=submit]")
            page.wait_for_url(re.compile(r".*/dags$"))
            page.goto(f"{base}/dags/late?run={quote(run_id, safe='')}")
            table = page.locator("#run-panel #run-deadlines")
            table.wait_for()
            rows = table.locator("tr")
            assert rows.count() == 3
            assert rows.nth(0).get_attribute("data-state") == "missed"
            assert rows.nth(1).get_attribute("data-state") == "met"
            assert "WebhookNotifier" in (rows.nth(0).text_content() or "")
            assert rows.nth(0).locator("time[datetime]").count() >= 1
        finally:
            browser.close()


IN_TIME = """
from tradewind.alerts import DeadlineAlert, DeadlineReference


def missed(context):
    note({journal!r}, "missed")


with DAG("in_time", schedule=None, start_date=datetime(2024, 1, 1), deadline=DeadlineAlert(
    reference=DeadlineReference.DAGRUN_QUEUED_AT, interval=timedelta(hours=1), callback=missed,
)) as dag:
    EmptyOperator(task_id="quick")
"""


def test_a_run_finished_before_its_deadline_fires_nothing(
    make_web: Callable[..., Web], tmp_path: Path
) -> None:
    web = make_web(**FAST)
    system = web.system
    journal = tmp_path / "journal"
    system.add_dag("in_time", IN_TIME.format(journal=str(journal)))
    run_id = system.trigger("in_time")
    assert system.wait("in_time", run_id) == DagRunState.SUCCESS.value
    system.settle(1.0)
    assert count_rows(system, Deadline) == 0
    assert not journal.exists()
    answer = web.get(f"/api/v1/dags/in_time/dagRuns/{quote(run_id, safe='')}/deadlines")
    assert [d["state"] for d in answer.json()["deadlines"]] == ["met"]
