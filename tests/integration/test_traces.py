"""Traces through the real scheduler and local executor, to an OTLP/HTTP receiver started
here: a span per DAG run, a child span per task try, and spans a task opens under its try's."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from scheduling import (  # noqa: F401
    System,
    make_system_fixture,
    sqlite_only,
)
from telemetry_receivers import Receiver, Span, otlp_receiver

from tradewind.telemetry import records

pytestmark = [pytest.mark.integration]

TRACED_DAG = """
from opentelemetry import trace as otel_trace
from tradewind.telemetry import tracing


def step():
    with tracing.span("my-step", rows=3):
        with otel_trace.get_tracer("dag").start_as_current_span("api-step"):
            pass


def boom():
    raise ValueError("boom")


with DAG("traced", schedule=None):
    first = PythonOperator(task_id="first", python_callable=step, pool="default_pool")
    second = BashOperator(task_id="second", bash_command="test -n \\"$TRACEPARENT\\"")
    third = PythonOperator(task_id="third", python_callable=boom)
    first >> second >> third
"""


@pytest.fixture(name="receiver")
def receiver_fixture() -> Iterator[Receiver]:
    with otlp_receiver() as receiver:
        yield receiver


def _traced(make_system: Callable[..., System], receiver: Receiver) -> System:
    return make_system(
        traces={
            "otel_on": True,
            "otel_host": "127.0.0.1",
            "otel_port": receiver.port,
            "otel_service": "tw-test",
            "otel_task_log_event": True,
        }
    )


def _ns(moment: object) -> int:
    return int(moment.timestamp() * 1_000_000_000)  # type: ignore[attr-defined]


def test_a_run_span_with_a_child_span_per_try(
    make_system: Callable[..., System], receiver: Receiver
) -> None:
    system = _traced(make_system, receiver)
    system.add_dag("traced", TRACED_DAG)
    run_id = system.trigger("traced")
    assert system.wait("traced", run_id) == "failed"
    assert system.scheduler.observer.flush()
    names = {"traced", "first", "second", "third", "my-step", "api-step"}
    spans: list[Span] = receiver.wait_for(lambda got: names <= {s.name for s in got})
    by_name = {s.name: s for s in spans}
    assert names <= set(by_name), sorted(by_name)
    assert all(path == "/v1/traces" for path in receiver.paths)

    run = by_name["traced"]
    expected_trace = f"{records.trace_id('traced', run_id):032x}"
    assert run.trace_id == expected_trace
    assert run.parent_id == ""
    assert run.service == "tw-test"
    assert run.attributes["airflow.dag_run.dag_id"] == "traced"
    assert run.attributes["airflow.dag_run.run_id"] == run_id
    assert run.attributes["airflow.dag_run.run_type"] == "manual"
    assert run.attributes["airflow.dag_run.state"] == "failed"
    recorded = system.run("traced", run_id)
    assert run.attributes["airflow.dag_run.logical_date"] == recorded.logical_date.isoformat()
    assert (run.start, run.end) == (_ns(recorded.start_date), _ns(recorded.end_date))
    assert run.status == 2  # ERROR

    for task_id, state in (("first", "success"), ("second", "success"), ("third", "failed")):
        span = by_name[task_id]
        ti = system.instance("traced", run_id, task_id)
        assert span.trace_id == expected_trace
        assert span.parent_id == run.span_id, task_id
        assert span.attributes["airflow.task_instance.task_id"] == task_id
        assert span.attributes["airflow.task_instance.state"] == state
        assert span.attributes["airflow.task_instance.try_number"] == 1
        assert span.attributes["airflow.task_instance.map_index"] == -1
        assert span.attributes["airflow.task_instance.hostname"] == ti.hostname
        assert span.attributes["airflow.task_instance.pool"] == "default_pool"
        assert span.attributes["airflow.task_instance.queue"] == ti.queue
        assert span.attributes["airflow.task_instance.executor"] == "local"
        assert span.attributes["airflow.task_instance.operator"].endswith(
            "PythonOperator" if task_id != "second" else "BashOperator"
        )
        # Its real times: from queued to the end the scheduler recorded.
        assert span.start == _ns(ti.queued_dttm)
        assert span.end == _ns(ti.end_date)
        assert span.attributes["airflow.task_instance.start_date"] == ti.start_date.isoformat()
        assert span.events == ["queued", "started", "ended", "log"]
        assert span.status == (2 if state == "failed" else 1)
    assert "boom" in by_name["third"].attributes["airflow.task_instance.error"]

    # What the task opened: under its try's span, then under its own.
    step, api = by_name["my-step"], by_name["api-step"]
    assert step.trace_id == expected_trace
    assert step.parent_id == by_name["first"].span_id
    assert step.attributes == {"rows": 3}
    assert api.parent_id == step.span_id
    assert by_name["first"].start <= step.start <= step.end <= by_name["first"].end


@sqlite_only
def test_nothing_is_sent_and_nothing_imported_when_off(
    make_system: Callable[..., System], receiver: Receiver, tmp_path: Path
) -> None:
    journal = tmp_path / "journal"
    system = make_system()
    assert not system.scheduler.observer.enabled
    system.add_dag(
        "quiet",
        f"""
        import sys
        from tradewind.telemetry import tracing


        def look():
            with tracing.span("nothing") as span:
                assert span is None
            libraries = ("opentelemetry", "openlineage")
            loaded = sorted(m for m in sys.modules if m.startswith(libraries))
            note({str(journal)!r}, "loaded", *loaded)


        with DAG("quiet", schedule=None):
            PythonOperator(task_id="look", python_callable=look)
        """,
    )
    run_id = system.trigger("quiet")
    assert system.wait("quiet", run_id) == "success"
    assert system.scheduler.observer.flush()
    assert journal.read_text().split() == ["loaded"]
    assert receiver.items == []
    # The scheduler's side, in a fresh interpreter: built from settings that are off, it
    # imports neither library.
    code = (
        "import sys\n"
        "from tradewind.scheduler import loop\n"
        "from tradewind.runtime import runner\n"
        "from pathlib import Path\n"
        "from tradewind.settings import load_settings\n"
        "from tradewind.telemetry import dispatch\n"
        f"settings = load_settings(environ={{}}, home=Path({str(tmp_path)!r}))\n"
        "telemetry = dispatch.Telemetry.from_settings(settings)\n"
        "telemetry.send([])\n"
        "assert not telemetry.enabled\n"
        "print(sorted(m for m in sys.modules if m.startswith(('opentelemetry', 'openlineage'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@sqlite_only
def test_retries_and_mapped_instances_each_have_a_span(
    make_system: Callable[..., System], receiver: Receiver, tmp_path: Path
) -> None:
    system = _traced(make_system, receiver)
    marker = tmp_path / "failed-once"
    system.add_dag(
        "retried",
        f"""
        def flaky():
            if not os.path.exists({str(marker)!r}):
                Path({str(marker)!r}).touch()
                raise ValueError("first try fails")


        @task
        def double(x):
            return 2 * x


        with DAG("retried", schedule=None):
            PythonOperator(task_id="flaky", python_callable=flaky, retries=1,
                           retry_delay=timedelta(seconds=0))
            double.expand(x=[1, 2])
        """,
    )
    run_id = system.trigger("retried")
    assert system.wait("retried", run_id) == "success"
    assert system.scheduler.observer.flush()
    names = {"retried", "flaky", "double[0]", "double[1]"}
    spans: list[Span] = receiver.wait_for(lambda got: len(got) >= 5)
    assert names <= {s.name for s in spans}
    run = next(s for s in spans if s.name == "retried")
    tries = sorted(
        (s for s in spans if s.name == "flaky"),
        key=lambda s: s.attributes["airflow.task_instance.try_number"],
    )
    assert [t.attributes["airflow.task_instance.try_number"] for t in tries] == [1, 2]
    assert [t.attributes["airflow.task_instance.state"] for t in tries] == [
        "up_for_retry",
        "success",
    ]
    assert [t.status for t in tries] == [2, 1]
    assert len({t.span_id for t in tries}) == 2
    assert {t.parent_id for t in tries} == {run.span_id}
    mapped = [s for s in spans if s.name.startswith("double[")]
    assert sorted(s.attributes["airflow.task_instance.map_index"] for s in mapped) == [0, 1]
    assert {s.parent_id for s in mapped} == {run.span_id}
