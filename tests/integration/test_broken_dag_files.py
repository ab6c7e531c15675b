"""A DAG whose file breaks stays, with its last good version, marked with the file's import
error (the store, the REST API, ``tradewind dags list``), and refuses manual triggers until the
file is fixed; it goes only when the file is deleted or a clean parse no longer finds it.

Each test runs the real DAG processor over a DAGs folder, on each dialect.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import Result
from scheduling import HEADER, System, make_system_fixture, sqlite_only, system_fixture  # noqa: F401
from test_ui_browser import CHROMIUM, Live, need_chromium, shots
from webtest import Web, make_web_fixture, web_fixture  # noqa: F401

from tradewind.metastore.models import DagRun
from tradewind.metastore.store import dags as dag_store
from tradewind.metastore.store import runs as run_store
from tradewind.parsing.processor import DagProcessor
from tradewind.scheduler.trigger import TriggerError, trigger_dag
from tradewind.settings import Settings
from tradewind.states import DagRunType
from tradewind.ui.app import create_app

Cli = Callable[..., Result]

GOOD = """
with DAG("{dag_id}", schedule={schedule!r}, start_date=datetime(2024, 1, 1), catchup=False):
    EmptyOperator(task_id="first") >> EmptyOperator(task_id="second")
"""
BROKEN = """
with DAG("{dag_id}", schedule=None, start_date=datetime(2024, 1, 1)):
    EmptyOperator(task_id="first") >>
"""


def _write(path: Path, body: str) -> None:
    """Write a DAG file (the test header, then ``body``) and move its mtime on, as an editor
    saving it a moment later would."""
    before = path.stat().st_mtime if path.exists() else None
    path.write_text(HEADER + body)
    if before is not None:
        os.utime(path, (before + 10, before + 10))


def _scan(system: System) -> None:
    DagProcessor(system.settings, system.sessions).scan()


def _register(system: System, dag_id: str, schedule: str | None = None) -> Path:
    system.add_dag(dag_id, GOOD.format(dag_id=dag_id, schedule=schedule))
    return system.dags / f"{dag_id}.py"


def _break(system: System, path: Path, dag_id: str) -> None:
    _write(path, BROKEN.format(dag_id=dag_id))
    _scan(system)


def _runs(system: System, dag_id: str) -> list[DagRun]:
    with system.sessions() as session:
        return list(run_store.list_runs(session, dag_id))


def test_a_broken_file_keeps_its_dag_marked_until_the_file_is_fixed(system: System) -> None:
    path = _register(system, "kept")
    _break(system, path, "kept")

    with system.sessions() as session:
        listed = {dag.dag_id: dag for dag in dag_store.list_dags(session)}
        assert listed["kept"].is_active
        assert listed["kept"].has_import_errors
        # Still the last good version: both tasks, no new version for the broken file.
        assert dag_store.count_versions(session, "kept") == 1
        latest = dag_store.latest_serialized(session, "kept")
        assert latest is not None
        assert [t["task_id"] for t in latest.data["tasks"]] == ["first", "second"]
        error = dag_store.import_error_of_file(session, str(path))
        assert error is not None
        assert "SyntaxError" in error.stacktrace

    _write(path, GOOD.format(dag_id="kept", schedule=None))
    _scan(system)
    with system.sessions() as session:
        dag = dag_store.get_dag(session, "kept")
        assert dag is not None
        assert dag.is_active
        assert not dag.has_import_errors
        assert dag_store.import_error_of_file(session, str(path)) is None


def test_a_broken_file_that_is_deleted_takes_its_dag_along(system: System) -> None:
    path = _register(system, "deleted")
    _break(system, path, "deleted")
    path.unlink()
    _scan(system)
    with system.sessions() as session:
        assert [dag.dag_id for dag in dag_store.list_dags(session)] == []
        dag = dag_store.get_dag(session, "deleted")
        assert dag is not None
        assert not dag.is_active
        assert not dag.has_import_errors


def test_a_dag_is_deactivated_by_a_clean_parse_without_it_not_by_a_broken_one(
    system: System,
) -> None:
    path = _register(system, "renamed")
    _break(system, path, "renamed")
    # Fixed, but now it defines another DAG: the old one goes, the new one comes.
    _write(path, GOOD.format(dag_id="renamed_too", schedule=None))
    _scan(system)
    with system.sessions() as session:
        assert [dag.dag_id for dag in dag_store.list_dags(session)] == ["renamed_too"]


def test_trigger_is_refused_while_the_file_is_broken(system: System) -> None:
    path = _register(system, "refused")
    _break(system, path, "refused")
    with system.sessions.begin() as session, pytest.raises(TriggerError) as caught:
        trigger_dag(session, "refused", now=datetime.now(UTC))
    assert "fails to import" in str(caught.value)
    assert str(path) in str(caught.value)
    assert _runs(system, "refused") == []

    _write(path, GOOD.format(dag_id="refused", schedule=None))
    _scan(system)
    system.trigger("refused", unpause=False)
    assert len(_runs(system, "refused")) == 1


def test_the_scheduler_keeps_scheduling_the_last_good_version(system: System) -> None:
    # As Airflow does: a broken file does not stop the schedule of its DAG.
    path = _register(system, "scheduled", schedule="@daily")
    _break(system, path, "scheduled")
    system.set_paused("scheduled", False)
    system.run_until(lambda: bool(_runs(system, "scheduled")))
    runs = _runs(system, "scheduled")
    assert [run.run_type for run in runs] == [DagRunType.SCHEDULED.value]
    assert runs[0].data_interval_end is not None
    assert runs[0].data_interval_end > datetime.now(UTC) - timedelta(days=2)


def test_api_lists_the_dag_marked_and_refuses_to_trigger_it(web: Web) -> None:
    system = web.system
    path = _register(system, "api_broken")
    _register(system, "api_fine")
    _break(system, path, "api_broken")

    listed = web.get("/api/v1/dags")
    assert listed.status_code == 200, listed.text
    marks = {d["dag_id"]: d["has_import_errors"] for d in listed.json()["dags"]}
    assert marks == {"api_broken": True, "api_fine": False}
    one = web.get("/api/v1/dags/api_broken")
    assert one.status_code == 200, one.text
    assert one.json()["has_import_errors"] is True

    refused = web.post("/api/v1/dags/api_broken/dagRuns", user="user", json={})
    assert refused.status_code == 400, refused.text
    assert "fails to import" in refused.json()["detail"]
    assert _runs(system, "api_broken") == []
    assert web.post("/api/v1/dags/api_fine/dagRuns", user="user", json={}).status_code == 200

    _write(path, GOOD.format(dag_id="api_broken", schedule=None))
    _scan(system)
    assert web.get("/api/v1/dags/api_broken").json()["has_import_errors"] is False
    assert web.post("/api/v1/dags/api_broken/dagRuns", user="user", json={}).status_code == 200


def test_cli_lists_the_dag_marked_and_trigger_exits_with_the_reason(
    system: System, tradewind_cli: Cli
) -> None:
    settings: Settings = system.settings
    path = _register(system, "cli_broken")
    _break(system, path, "cli_broken")

    listed = tradewind_cli(settings, "dags", "list", "-o", "json")
    assert listed.exit_code == 0, listed.output
    (row,) = json.loads(listed.stdout)
    assert (row["dag_id"], row["has_import_errors"]) == ("cli_broken", True)
    plain = tradewind_cli(settings, "dags", "list", "-o", "plain")
    assert plain.stdout.split("\t")[-1].strip() == "True"

    triggered = tradewind_cli(settings, "dags", "trigger", "cli_broken")
    assert triggered.exit_code == 1, triggered.output
    assert triggered.output.startswith("Error: "), triggered.output
    assert "fails to import" in triggered.output
    assert "Traceback" not in triggered.output
    assert _runs(system, "cli_broken") == []


@sqlite_only
@pytest.mark.timeout(240)
def test_browser_shows_the_dag_marked_and_the_trigger_form_refuses(
    web: Web, request: pytest.FixtureRequest
) -> None:
    need_chromium(request.config)
    from playwright import sync_api

    system = web.system
    path = _register(system, "ui_broken")
    _break(system, path, "ui_broken")
    with (
        shots.serving(create_app(system.settings)) as base,
        sync_api.sync_playwright() as playwright,
    ):
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            page = Live(web, base, browser).page("user")
            # The list shows the DAG, marked.
            row = page.locator("tr[data-dag=ui_broken]")
            row.wait_for()
            badge = row.get_by_role("link", name="import error")
            assert badge.get_attribute("href") == "/browse/import-errors"
            # Its page says why, with the error and a link to it.
            row.locator("a.dag-id").click()
            warning = page.locator("#dag-import-error")
            warning.wait_for()
            assert "fails to import" in warning.inner_text()
            assert "SyntaxError" in warning.inner_text()
            warning.get_by_role("link", name="See the import error").click()
            page.wait_for_url(re.compile(r".*/browse/import-errors#import-error-\d+$"))
            anchor = page.url.rsplit("#", 1)[1]
            assert str(path) in page.locator(f"#{anchor}").inner_text()
            # The trigger form refuses, with the reason, and no run is made.
            page.goto(f"{base}/dags/ui_broken/trigger")
            assert page.locator("#dag-import-error").is_visible()
            page.click("#trigger-submit")
            refusal = page.locator("#trigger-error")
            refusal.wait_for()
            assert "fails to import" in refusal.inner_text()
            assert _runs(system, "ui_broken") == []
            # Nor is the DAG unpaused by the refused trigger.
            with system.sessions() as session:
                dag = dag_store.get_dag(session, "ui_broken")
                assert dag is not None
                assert dag.is_paused
            # Fixed: the mark goes at the next parse.
            _write(path, GOOD.format(dag_id="ui_broken", schedule=None))
            _scan(system)
            page.goto(f"{base}/dags/ui_broken")
            page.locator("#trigger").wait_for()
            assert page.locator("#dag-import-error").count() == 0
        finally:
            browser.close()
