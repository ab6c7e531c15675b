"""Metrics from a real scheduler, DAG processor and triggerer to real receivers run by the
test: a StatsD UDP listener, an OTLP/HTTP collector decoding the protobuf, a Prometheus
scrape; and nothing at all when metrics are off."""

from __future__ import annotations

import os
import re
import sys
import threading
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from metric_receivers import (  # noqa: F401
    OtlpReceiver,
    StatsdListener,
    free_port,
    otlp_fixture,
    statsd_listener_fixture,
)
from scheduling import System, make_system_fixture, sqlite_only, system_fixture  # noqa: F401

from tradewind import telemetry
from tradewind.cli import cli
from tradewind.parsing.processor import DagProcessor
from tradewind.settings import MetricsSettings, Settings
from tradewind.triggerer.job import Triggerer

DAGS = """
def fail():
    raise ValueError("no")

with DAG("metered", schedule=None, start_date=datetime(2024, 1, 1)):
    ok = PythonOperator(task_id="ok", python_callable=lambda: None)
    bad = PythonOperator(task_id="bad", python_callable=fail, retries=0)
    ok >> bad

with DAG("metered_daily", schedule="@daily", start_date=datetime(2024, 1, 1), catchup=False):
    PythonOperator(task_id="only", python_callable=lambda: None)
"""


def receivers_sections(
    statsd: StatsdListener, otlp: OtlpReceiver, *, on: bool, prometheus: int = 0
) -> dict[str, Any]:
    return {
        "statsd_on": on,
        "statsd_host": "127.0.0.1",
        "statsd_port": statsd.port,
        "otel_on": on,
        "otel_host": "127.0.0.1",
        "otel_port": otlp.port,
        # Exported when the scheduler stops, not before (the test says when).
        "otel_interval_milliseconds": 3_600_000,
        "prometheus_port": prometheus,
    }


def run_both(system: System) -> None:
    system.add_dag("metered", DAGS)
    system.set_paused("metered_daily", False)
    run_id = system.trigger("metered")
    assert system.wait("metered", run_id) == "failed"

    def daily_done() -> bool:
        with system.sessions() as session:
            from tradewind.metastore.store import runs as run_store

            runs = run_store.list_runs(session, "metered_daily")
        return bool(runs) and all(r.state == "success" for r in runs)

    assert system.run_until(daily_done)


@sqlite_only
def test_statsd_otel_and_prometheus_get_airflow_names_values_and_tags(
    statsd_listener: StatsdListener, otlp: OtlpReceiver, make_system: Callable[..., System]
) -> None:
    port = free_port()
    sections = receivers_sections(statsd_listener, otlp, on=True, prometheus=port)
    system = make_system(metrics=sections)
    run_both(system)
    # The telemetry process sends StatsD and OpenTelemetry for the scheduler: what the
    # scheduler noted so far is sent (OpenTelemetry exported) once this returns.
    assert system.scheduler.observer.flush()

    lines = statsd_listener.drain()
    names = {line.split(":", 1)[0] for line in lines}
    assert "airflow.ti.start.metered.ok:1|c" in lines
    assert "airflow.ti.finish.metered.ok.success:1|c" in lines
    assert "airflow.ti.finish.metered.bad.failed:1|c" in lines
    assert "airflow.ti_failures:1|c" in lines
    assert "airflow.ti_successes:1|c" in lines
    assert "airflow.scheduler_heartbeat:1|c" in lines
    assert "airflow.scheduler.heartbeat:1|c" in lines
    # Taken at each heartbeat: how many are used then depends on when it came.
    for gauge in (
        r"executor\.open_slots:[0-8]",
        r"executor\.queued_tasks:[0-8]",
        r"executor\.running_tasks:[0-8]",
        r"pool\.open_slots\.default_pool:\d+",
        r"pool\.running_slots\.default_pool:\d+",
        r"pool\.queued_slots:\d+",
    ):
        assert any(re.fullmatch(rf"airflow\.{gauge}\|g", line) for line in lines), gauge
    for timer in (
        "airflow.dag.metered.ok.duration",
        "airflow.task.duration",
        "airflow.dagrun.duration.failed.metered",
        "airflow.dagrun.duration.success.metered_daily",
        "airflow.dagrun.schedule_delay.metered_daily",
        "airflow.scheduler.scheduler_loop_duration",
    ):
        assert timer in names, timer
        assert any(line.startswith(timer + ":") and line.endswith("|ms") for line in lines)
    for gauge in ("scheduler.tasks.executable", "scheduler.tasks.starving"):
        assert any(line.startswith(f"airflow.{gauge}:") and line.endswith("|g") for line in lines)
    assert not any("dagrun.schedule_delay.metered:" in line for line in lines)  # triggered

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        scraped = answer.read().decode()
    assert 'tradewind_ti_finish_total{dag_id="metered",state="failed",task_id="bad"} 1.0' in (
        scraped
    )
    assert 'tradewind_dagrun_duration_failed_seconds_count{dag_id="metered"} 1.0' in scraped
    assert re.search(r'tradewind_executor_open_slots\{executor="LocalExecutor"\} [0-8]\.0', scraped)
    assert "tradewind_scheduler_heartbeat_total" in scraped

    assert otlp.wait_for(lambda: bool(otlp.requests))
    points = otlp.points()
    finish = [p for p in points if p.name == "airflow.ti.finish"]
    assert {(p.attributes["task_id"], p.attributes["state"], p.value) for p in finish} >= {
        ("ok", "success", 1),
        ("bad", "failed", 1),
        ("only", "success", 1),
    }
    assert all(p.kind == "sum" and p.monotonic for p in finish)
    duration = [p for p in points if p.name == "airflow.task.duration"]
    ok = next(p for p in duration if p.attributes == {"dag_id": "metered", "task_id": "ok"})
    assert (ok.kind, ok.unit, ok.value) == ("histogram", "ms", 1)
    assert ok.total >= 0
    slots = [p for p in points if p.name == "airflow.executor.open_slots"]
    assert [p.kind for p in slots] == ["gauge"]
    assert slots[0].attributes == {"executor": "LocalExecutor"}
    run = [p for p in points if p.name == "airflow.dagrun.duration.failed"]
    assert [p.attributes for p in run] == [{"dag_id": "metered"}]
    assert {"service.name": "tradewind", "tradewind.component": "scheduler"}.items() <= (
        otlp.resources()[0].items()
    )
    assert not any(p.name.startswith("airflow.ti.finish.") for p in points)  # tags instead


@sqlite_only
def test_nothing_is_sent_when_metrics_are_off(
    statsd_listener: StatsdListener, otlp: OtlpReceiver, make_system: Callable[..., System]
) -> None:
    system = make_system(metrics=receivers_sections(statsd_listener, otlp, on=False))
    assert not system.scheduler.metrics.on
    run_both(system)
    system.scheduler.metrics.close()
    assert statsd_listener.drain() == []
    assert otlp.requests == []


@sqlite_only
def test_the_dag_processor_reports_parse_time_dags_errors_and_timeouts(
    statsd_listener: StatsdListener, otlp: OtlpReceiver, make_system: Callable[..., System]
) -> None:
    system = make_system(
        metrics=receivers_sections(statsd_listener, otlp, on=True),
        dag_processor={"file_parse_timeout": 1.0},
    )
    (system.dags / "slow.py").write_text("import time\nfrom tradewind import DAG\ntime.sleep(60)\n")
    (system.dags / "two.py").write_text(
        "from tradewind import DAG\nDAG('first', schedule=None)\nDAG('second', schedule=None)\n"
    )
    processor = DagProcessor(system.settings, system.sessions)
    stop = threading.Event()
    thread = threading.Thread(target=processor.run_forever, args=(stop,))
    thread.start()
    try:
        assert statsd_listener.wait_for(
            lambda lines: "airflow.dag_processing.import_errors:1|g" in lines
        )
    finally:
        stop.set()
        thread.join(timeout=60)
    lines = statsd_listener.drain()
    assert "airflow.dagbag_size:2|g" in lines
    assert "airflow.dag_file_processor_timeouts:1|c" in lines
    assert any(line.startswith("airflow.dag_processing.total_parse_time:") for line in lines)
    assert any(line.startswith("airflow.dag_processing.last_duration.two:") for line in lines)
    assert otlp.wait_for(lambda: bool(otlp.requests))  # sent when the processor stopped
    gauges = {p.name: p for p in otlp.points() if p.kind == "gauge"}
    assert gauges["airflow.dagbag_size"].value == 2
    last = [p for p in otlp.points() if p.name == "airflow.dag_processing.last_duration"]
    assert {p.attributes["file_name"] for p in last} == {"slow", "two"}


@sqlite_only
def test_the_triggerer_reports_its_heartbeat_and_running_triggers(
    statsd_listener: StatsdListener, otlp: OtlpReceiver, make_system: Callable[..., System]
) -> None:
    system = make_system(metrics=receivers_sections(statsd_listener, otlp, on=True))
    triggerer = Triggerer(system.settings, system.sessions, capacity=50)
    triggerer.register()
    try:
        triggerer.step()
    finally:
        triggerer.stop()
    lines = statsd_listener.drain()
    assert "airflow.triggerer_heartbeat:1|c" in lines
    assert "airflow.triggerer.heartbeat:1|c" in lines
    assert any(
        line.startswith("airflow.triggers.running.") and line.endswith(":0|g") for line in lines
    )
    assert "airflow.triggerer.capacity_left:50|g" in lines
    assert otlp.wait_for(lambda: bool(otlp.requests))
    running = [p for p in otlp.points() if p.name == "airflow.triggers.running"]
    assert [(p.value, list(p.attributes)) for p in running] == [(0, ["hostname"])]
    assert otlp.resources()[0]["tradewind.component"] == "triggerer"


@sqlite_only
@pytest.mark.parametrize(
    "case",
    [
        ("scheduler", "statsd", "statsd_on", "statsd"),
        ("triggerer", "opentelemetry.sdk.metrics", "otel_on", "otel"),
    ],
)
def test_a_backend_on_without_its_library_stops_the_process_naming_the_extra(
    migrated_db_url: str,
    tmp_path: Path,
    make_settings: Callable[..., Settings],
    monkeypatch: pytest.MonkeyPatch,
    case: tuple[str, str, str, str],
) -> None:
    command, module, key, extra = case
    settings = make_settings(
        tmp_path,
        migrated_db_url,
        core={"load_examples": False, "dags_folder": str(tmp_path)},
        scheduler={"run_dag_processor": False},
        metrics={key: True},
    )
    monkeypatch.setitem(sys.modules, module, None)  # as if not installed
    result = CliRunner().invoke(cli, [command], obj=settings)
    assert result.exit_code == 1, result.output
    assert f"metrics.{key} is on but" in result.output
    assert f"pip install 'tradewind[{extra}]'" in result.output


def test_a_forked_child_sends_no_opentelemetry_metrics(otlp: OtlpReceiver) -> None:
    settings = MetricsSettings(otel_on=True, otel_host="127.0.0.1", otel_port=otlp.port)
    metrics = telemetry.metrics_for(settings, "dag_processor")
    metrics.file_parsed("a", 0.5, timed_out=True)
    pid = os.fork()
    if pid == 0:  # as a DAG processor's parsing child: an export here must go nowhere
        metrics.stats.provider.force_flush()  # type: ignore[attr-defined]
        os._exit(0)
    os.waitpid(pid, 0)
    assert otlp.requests == []
    metrics.close()
    assert otlp.wait_for(lambda: bool(otlp.requests))
    assert len(otlp.requests) == 1
    assert {p.name for p in otlp.points()} == {
        "airflow.dag_processing.last_duration",
        "airflow.dag_file_processor_timeouts",
    }


@sqlite_only
def test_a_try_that_defers_counts_as_finished_deferred(
    statsd_listener: StatsdListener, otlp: OtlpReceiver, make_system: Callable[..., System]
) -> None:
    system = make_system(
        metrics={**receivers_sections(statsd_listener, otlp, on=True), "otel_on": False}
    )
    system.add_dag(
        "waits",
        """
from tradewind.sensors import TimeDeltaSensor

with DAG("waits", schedule=None, start_date=datetime(2024, 1, 1)):
    TimeDeltaSensor(task_id="nap", delta=timedelta(hours=1), deferrable=True)
""",
    )
    run_id = system.trigger("waits")
    assert system.run_until(lambda: system.state("waits", run_id, "nap") == "deferred")
    assert system.scheduler.observer.flush()
    lines = statsd_listener.drain()
    assert "airflow.ti.start.waits.nap:1|c" in lines
    assert "airflow.ti.finish.waits.nap.deferred:1|c" in lines
    assert not any(line.startswith("airflow.dag.waits.nap.duration:") for line in lines)
