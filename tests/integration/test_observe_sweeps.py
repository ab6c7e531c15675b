"""Traces and lineage of tries the scheduler ends without their report: a running try of a
scheduler that is gone, reset by the next scheduler's sweep, and a try cleared while it ran
(both run again as a new try). The old try's span ends as an error and its OpenLineage run gets
its FAIL event, to receivers started here."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from scheduling import (  # noqa: F401
    System,
    die_silently,
    make_system_fixture,
    sqlite_only,
    start_scheduler,
)
from telemetry_receivers import Receiver, Span, lineage_receiver, otlp_receiver
from test_scheduler_adoption import Holding
from test_scheduler_restart import clear_work, gated

from tradewind import reports
from tradewind.executors.base import TaskEvent, now
from tradewind.states import TaskState
from tradewind.workloads import TaskKey, Workload

pytestmark = [pytest.mark.integration, sqlite_only]

ONE = """
with DAG("swept", schedule=None):
    EmptyOperator(task_id="only")
"""


class Starts(Holding):
    """Holds each try it is given and says it started running."""

    def submit(self, workload: Workload) -> None:
        super().submit(workload)
        self.events.append(TaskEvent(workload.key, reports.Running(now(), 4242, "gone-host")))
        self.wakeup()


class AdoptsNothing(Holding):
    """An executor taking over that holds none of a dead scheduler's tries."""

    def adopt(self, keys: Sequence[TaskKey]) -> set[TaskKey]:
        return set()


@pytest.fixture(name="receivers")
def receivers_fixture() -> Iterator[tuple[Receiver, Receiver]]:
    with otlp_receiver() as traces, lineage_receiver() as lineage:
        yield traces, lineage


@pytest.fixture(name="system")
def observed_system_fixture(
    make_system: Callable[..., System], receivers: tuple[Receiver, Receiver]
) -> System:
    """A started System whose traces and OpenLineage events go to the receivers."""
    traces, lineage = receivers
    transport = {"type": "http", "url": f"http://127.0.0.1:{lineage.port}"}
    return make_system(
        traces={"otel_on": True, "otel_host": "127.0.0.1", "otel_port": traces.port},
        openlineage={"transport": json.dumps(transport), "namespace": "ns"},
    )


def test_a_running_try_reset_by_the_orphan_sweep_ends_its_span_and_lineage_run_as_failed(
    system: System, receivers: tuple[Receiver, Receiver]
) -> None:
    traces, lineage = receivers
    system.add_dag("swept", ONE)
    system.scheduler.stop()  # the fixture's own scheduler steps aside
    first = start_scheduler(system, Starts())
    run_id = system.trigger("swept")
    running = TaskState.RUNNING
    first.run_until(lambda: system.state("swept", run_id, "only") == running, timeout=30)
    assert system.state("swept", run_id, "only") == running
    assert first.observer.flush()  # its START went out before it died
    die_silently(system, first)
    second = start_scheduler(system, AdoptsNothing())
    try:
        assert second.observer.flush()
    finally:
        second.stop()
        first.stop()
    assert system.state("swept", run_id, "only") == TaskState.SCHEDULED

    spans: list[Span] = traces.wait_for(lambda got: any(s.name == "only" for s in got))
    span = next(s for s in spans if s.name == "only")
    assert span.status == 2  # ERROR
    assert span.attributes["airflow.task_instance.try_number"] == 1
    assert span.attributes["airflow.task_instance.state"] == "failed"

    def ended(got: list[dict[str, Any]]) -> bool:
        return any(e["job"]["name"] == "swept.only" and e["eventType"] == "FAIL" for e in got)

    events = lineage.wait_for(ended)
    kinds = [e["eventType"] for e in events if e["job"]["name"] == "swept.only"]
    assert kinds == ["START", "FAIL"]
    start, fail = (e for e in events if e["job"]["name"] == "swept.only")
    assert start["run"]["runId"] == fail["run"]["runId"]


def test_a_try_cleared_while_it_ran_ends_its_span_and_lineage_run_as_failed(
    system: System, receivers: tuple[Receiver, Receiver], tmp_path: Path
) -> None:
    traces, lineage = receivers
    run_id, _ = gated(system, tmp_path)
    assert clear_work(system, run_id) == [(TaskState.RESTARTING.value, 1)]
    assert system.wait("gated", run_id) == "success"
    assert system.scheduler.observer.flush()

    spans: list[Span] = traces.wait_for(lambda got: sum(s.name == "work" for s in got) == 2)
    work = sorted(
        (s for s in spans if s.name == "work"),
        key=lambda s: s.attributes["airflow.task_instance.try_number"],
    )
    assert [(s.attributes["airflow.task_instance.state"], s.status) for s in work] == [
        ("failed", 2),  # ERROR
        ("success", 1),  # OK
    ]
    assert "cleared while it ran" in work[0].attributes["airflow.task_instance.error"]

    def ended(got: list[dict[str, Any]]) -> bool:
        return any(e["job"]["name"] == "gated.work" and e["eventType"] == "COMPLETE" for e in got)

    events = [e for e in lineage.wait_for(ended) if e["job"]["name"] == "gated.work"]
    assert [e["eventType"] for e in events] == ["START", "FAIL", "START", "COMPLETE"]
    assert events[0]["run"]["runId"] == events[1]["run"]["runId"] != events[2]["run"]["runId"]
