"""Mapped task instances through the real scheduler and the REST API together, on SQLite and
PostgreSQL: the API lists the instances a run expanded to (with their names), one instance
cleared through the API runs again alone, and a pool bounds the instances like any tries."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from scheduling import (  # noqa: F401
    System,
    make_system_fixture,
    most_at_once,
    read_journal,
    system_fixture,
)
from webtest import Web, make_web_fixture  # noqa: F401

from tradewind.metastore.store import pools as pool_store
from tradewind.states import TaskState

pytestmark = pytest.mark.parametrize(
    "db_dialect", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)

CITIES = """
from tradewind.runtime.context import get_current_context

with DAG("cities", schedule=None):
    @task
    def cities():
        return ["oslo", "lima", "kyiv"]

    @task(map_index_template="{{ city_name }}")
    def visit(city):
        get_current_context()["city_name"] = city
        return city.upper()

    visit.expand(city=cities())
"""


def test_the_api_lists_and_clears_the_instances_a_run_expanded_to(
    make_web: Callable[..., Web],
) -> None:
    web = make_web()
    system = web.system
    system.add_dag("cities", CITIES)
    run_id = system.trigger("cities")
    assert system.wait("cities", run_id) == "success"
    base = f"/api/v1/dags/cities/dagRuns/{run_id}/taskInstances/visit"
    listed = web.get(f"{base}/listMapped")
    assert listed.status_code == 200, listed.text
    found = listed.json()
    assert found["total_entries"] == 3
    assert [
        (t["map_index"], t["rendered_map_index"], t["state"]) for t in found["task_instances"]
    ] == [
        (0, "oslo", "success"),
        (1, "lima", "success"),
        (2, "kyiv", "success"),
    ]
    one = web.get(f"{base}/1")
    assert one.status_code == 200, one.text
    assert one.json()["try_number"] == 1
    cleared = web.post(
        "/api/v1/dags/cities/clearTaskInstances",
        json={
            "dag_run_id": run_id,
            # 1.0 is the integer 1, as JSON Schema reads a number without a fraction.
            "task_ids": [["visit", 1.0]],
            "dry_run": False,
            "only_failed": False,
        },
    )
    assert cleared.status_code == 200, cleared.text
    assert system.wait("cities", run_id) == "success"
    tries = {
        ti.map_index: ti.try_number
        for ti in system.instances("cities", run_id)
        if ti.task_id == "visit"
    }
    assert tries == {0: 1, 1: 2, 2: 1}
    assert system.xcom("cities", run_id, "visit", 1) == "LIMA"


def test_a_pool_bounds_the_instances_of_a_mapped_task(system: System, tmp_path: Path) -> None:
    journal = tmp_path / "journal"
    with system.sessions.begin() as session:
        pool_store.set_pool(session, "pair", 2, "two at a time")
    system.add_dag(
        "pooled",
        f"""
        with DAG("pooled", schedule=None, max_active_tasks=16):
            @task(pool="pair", retries=0)
            def work_on(item, ti=None):
                work({str(journal)!r}, 0.2, ti=ti)
                return item

            work_on.expand(item=list(range(6)))
        """,
    )
    run_id = system.trigger("pooled")
    assert system.wait("pooled", run_id) == "success"
    assert system.mapped("pooled", run_id, "work_on") == dict.fromkeys(range(6), TaskState.SUCCESS)
    entries = read_journal(journal)
    assert len(entries) == 6
    assert most_at_once([(e.start, e.end) for e in entries]) <= 2
