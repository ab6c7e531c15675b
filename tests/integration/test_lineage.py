"""OpenLineage events through the real scheduler and local executor: START and COMPLETE or
FAIL per task try and per DAG run, to an HTTP endpoint started here and to a file."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from scheduling import (  # noqa: F401
    System,
    make_system_fixture,
    sqlite_only,
)
from telemetry_receivers import Receiver, lineage_receiver

pytestmark = [pytest.mark.integration, sqlite_only]

LINEAGE_DAG = """
from tradewind import Asset, Dataset


def boom():
    raise ValueError("boom")


with DAG("lineaged", schedule=None):
    load = PythonOperator(
        task_id="load",
        python_callable=lambda: None,
        inlets=[Asset("s3://raw-bucket/orders/2024.csv")],
        outlets=[Dataset("postgres://db:5432/shop/public/orders"), Asset("file:///data/out.csv")],
    )
    broken = PythonOperator(task_id="broken", python_callable=boom, retries=0)
    load >> broken
"""


@pytest.fixture(name="receiver")
def receiver_fixture() -> Iterator[Receiver]:
    with lineage_receiver() as receiver:
        yield receiver


def _kinds(events: list[dict[str, Any]], job: str) -> list[str]:
    return [e["eventType"] for e in events if e["job"]["name"] == job]


def _one(events: list[dict[str, Any]], job: str, kind: str) -> dict[str, Any]:
    found = [e for e in events if e["job"]["name"] == job and e["eventType"] == kind]
    assert len(found) == 1, (job, kind, [(e["job"]["name"], e["eventType"]) for e in events])
    return found[0]


def test_start_and_end_events_of_tries_and_runs_over_http(
    make_system: Callable[..., System], receiver: Receiver
) -> None:
    transport = {"type": "http", "url": f"http://127.0.0.1:{receiver.port}", "endpoint": "lineage"}
    system = make_system(openlineage={"transport": json.dumps(transport), "namespace": "shop"})
    system.add_dag("lineaged", LINEAGE_DAG)
    run_id = system.trigger("lineaged")
    assert system.wait("lineaged", run_id) == "failed"
    assert system.scheduler.observer.flush()
    events = receiver.wait_for(lambda got: len(got) >= 6)
    assert set(receiver.paths) == {"/lineage"}
    assert _kinds(events, "lineaged") == ["START", "FAIL"]
    assert _kinds(events, "lineaged.load") == ["START", "COMPLETE"]
    assert _kinds(events, "lineaged.broken") == ["START", "FAIL"]
    assert {e["job"]["namespace"] for e in events} == {"shop"}

    run_start = _one(events, "lineaged", "START")
    dag_run_id = run_start["run"]["runId"]
    assert _one(events, "lineaged", "FAIL")["run"]["runId"] == dag_run_id
    start, complete = (
        _one(events, "lineaged.load", "START"),
        _one(events, "lineaged.load", "COMPLETE"),
    )
    assert start["run"]["runId"] == complete["run"]["runId"] != dag_run_id
    parent = complete["run"]["facets"]["parent"]
    assert parent["run"]["runId"] == dag_run_id
    assert (parent["job"]["namespace"], parent["job"]["name"]) == ("shop", "lineaged")
    for event in (start, complete):
        assert [(d["namespace"], d["name"]) for d in event["inputs"]] == [
            ("s3://raw-bucket", "orders/2024.csv")
        ]
        assert [(d["namespace"], d["name"]) for d in event["outputs"]] == [
            ("postgres://db:5432", "shop/public/orders"),
            ("file", "/data/out.csv"),
        ]
    ti = system.instance("lineaged", run_id, "load")
    assert complete["eventTime"] == ti.end_date.isoformat()
    assert start["eventTime"] == ti.start_date.isoformat()
    failed = _one(events, "lineaged.broken", "FAIL")
    assert failed["inputs"] == failed["outputs"] == []
    assert failed["run"]["facets"]["parent"]["run"]["runId"] == dag_run_id


def test_the_file_transport_writes_the_events(
    make_system: Callable[..., System], tmp_path: Path
) -> None:
    out = tmp_path / "lineage.jsonl"
    transport = {"type": "file", "log_file_path": str(out), "append": True}
    system = make_system(openlineage={"transport": transport})
    system.add_dag(
        "filed",
        """
        with DAG("filed", schedule=None):
            EmptyOperator(task_id="only")
            PythonOperator(task_id="ran", python_callable=lambda: None)
        """,
    )
    run_id = system.trigger("filed")
    assert system.wait("filed", run_id) == "success"
    assert system.scheduler.observer.flush()
    events = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(e["job"]["name"], e["eventType"]) for e in events if "ran" in e["job"]["name"]] == [
        ("filed.ran", "START"),
        ("filed.ran", "COMPLETE"),
    ]
    assert [e["eventType"] for e in events if e["job"]["name"] == "filed"] == ["START", "COMPLETE"]
    assert {e["job"]["namespace"] for e in events} == {"default"}


@pytest.mark.parametrize("disabled", [False, True])
def test_nothing_is_sent_when_off_or_disabled(
    make_system: Callable[..., System], receiver: Receiver, disabled: bool
) -> None:
    transport = {"type": "http", "url": f"http://127.0.0.1:{receiver.port}"}
    sections = {"openlineage": {"transport": transport, "disabled": True}} if disabled else {}
    system = make_system(**sections)
    assert not system.scheduler.observer.enabled
    system.add_dag(
        "silent",
        """
        with DAG("silent", schedule=None):
            PythonOperator(task_id="ran", python_callable=lambda: None)
        """,
    )
    run_id = system.trigger("silent")
    assert system.wait("silent", run_id) == "success"
    assert system.scheduler.observer.flush()
    assert receiver.items == []


def test_a_receiver_that_is_away_is_logged_not_fatal(
    make_system: Callable[..., System], caplog: pytest.LogCaptureFixture
) -> None:
    with lineage_receiver() as gone:
        port = gone.port
    transport = {"type": "http", "url": f"http://127.0.0.1:{port}", "retry": {"total": 0}}
    system = make_system(openlineage={"transport": transport})
    system.add_dag(
        "unheard",
        """
        with DAG("unheard", schedule=None):
            PythonOperator(task_id="ran", python_callable=lambda: None)
        """,
    )
    run_id = system.trigger("unheard")
    assert system.wait("unheard", run_id) == "success"
    assert not system.scheduler.observer.flush()
    assert "records not sent" in caplog.text


def test_the_console_transport_logs_the_events_on_stderr(
    make_system: Callable[..., System], capfd: pytest.CaptureFixture[str]
) -> None:
    system = make_system(openlineage={"transport": '{"type": "console"}', "namespace": "con"})
    system.add_dag(
        "consoled",
        """
        with DAG("consoled", schedule=None):
            PythonOperator(task_id="ran", python_callable=lambda: None)
        """,
    )
    run_id = system.trigger("consoled")
    assert system.wait("consoled", run_id) == "success"
    assert system.scheduler.observer.flush()
    logged = capfd.readouterr().err
    assert '"eventType": "COMPLETE"' in logged
    assert '"name": "consoled.ran"' in logged


def test_a_retry_is_a_new_lineage_run(
    make_system: Callable[..., System], receiver: Receiver, tmp_path: Path
) -> None:
    transport = {"type": "http", "url": f"http://127.0.0.1:{receiver.port}"}
    system = make_system(openlineage={"transport": transport})
    marker = tmp_path / "failed-once"
    system.add_dag(
        "again",
        f"""
        def flaky():
            if not os.path.exists({str(marker)!r}):
                Path({str(marker)!r}).touch()
                raise ValueError("first try fails")


        with DAG("again", schedule=None):
            PythonOperator(task_id="flaky", python_callable=flaky, retries=1,
                           retry_delay=timedelta(seconds=0))
        """,
    )
    run_id = system.trigger("again")
    assert system.wait("again", run_id) == "success"
    assert system.scheduler.observer.flush()
    events = receiver.wait_for(lambda got: len(got) >= 6)
    tries = [e for e in events if e["job"]["name"] == "again.flaky"]
    assert [e["eventType"] for e in tries] == ["START", "FAIL", "START", "COMPLETE"]
    first, second = {tries[0]["run"]["runId"]}, {tries[2]["run"]["runId"]}
    assert first == {tries[1]["run"]["runId"]}
    assert second == {tries[3]["run"]["runId"]}
    assert first != second


def test_a_run_past_its_dagrun_timeout_sends_its_fail(
    make_system: Callable[..., System], receiver: Receiver, tmp_path: Path
) -> None:
    transport = {"type": "http", "url": f"http://127.0.0.1:{receiver.port}"}
    # The scheduler looks for timed-out runs every job_timeout / 2 seconds.
    system = make_system(
        openlineage={"transport": transport},
        scheduler={"job_timeout": 1.0, "heartbeat_interval": 0.2},
    )
    gate = tmp_path / "never"
    system.add_dag(
        "late",
        f"""
        with DAG("late", schedule=None, dagrun_timeout=timedelta(seconds=1)):
            PythonOperator(task_id="waits", python_callable=wait_for, op_args=[{str(gate)!r}])
        """,
    )
    run_id = system.trigger("late")
    assert system.wait("late", run_id) == "failed"
    assert system.scheduler.observer.flush()
    events = receiver.wait_for(lambda got: ("late", "FAIL") in _pairs(got))
    assert [e["eventType"] for e in events if e["job"]["name"] == "late"] == ["START", "FAIL"]


def _pairs(events: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(e["job"]["name"], e["eventType"]) for e in events}
