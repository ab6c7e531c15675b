"""The scheduler's StatsD and OpenTelemetry metrics go through the telemetry process: what the
scheduler notes, how it is batched, and what the telemetry process's writer sends (to a real
StatsD socket on localhost)."""

from __future__ import annotations

import io
import json
import pickle
import socket
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tradewind.settings import MetricsSettings, load_settings
from tradewind.telemetry import dispatch, records, relay, worker

Noted = list[list[records.Metric]]


def on(sock: socket.socket, **keys: object) -> MetricsSettings:
    port = sock.getsockname()[1]
    return MetricsSettings.model_validate(
        {"statsd_on": True, "statsd_host": "127.0.0.1", "statsd_port": port, **keys}
    )


def nothing_came(sock: socket.socket) -> None:
    """No datagram is waiting (loopback delivers one by the time its sendto returns)."""
    sock.setblocking(False)
    with pytest.raises(BlockingIOError):
        sock.recv(65536)


def test_a_pass_sends_its_metrics_as_one_batch_in_the_order_they_came(
    udp: socket.socket,
) -> None:
    sent: Noted = []
    metrics = relay.metrics_for(on(udp), "scheduler", sent.append)
    with metrics.batch():
        metrics.scheduler_loop(0.25, executable=2, starving=0)
        with metrics.batch():  # nested: still the one batch
            metrics.ti_started("d", "t")
        assert sent == []
    assert len(sent) == 1
    assert [(m.kind, m.name) for m in sent[0]] == [
        ("timing", "scheduler.scheduler_loop_duration"),
        ("gauge", "scheduler.tasks.executable"),
        ("gauge", "scheduler.tasks.starving"),
        ("incr", "ti.start"),
    ]
    assert sent[0][3] == records.Metric(
        "incr", "ti.start", 1, {"dag_id": "d", "task_id": "t"}, ("ti.start.d.t")
    )
    metrics.scheduler_heartbeat()  # outside a batch: at once
    assert sent[1] == [
        records.Metric("incr", "scheduler.heartbeat", 1, None, "scheduler_heartbeat")
    ]
    nothing_came(udp)  # the scheduler's process itself sent nothing


def test_nothing_is_relayed_without_statsd_or_opentelemetry() -> None:
    sent: Noted = []
    metrics = relay.metrics_for(MetricsSettings(), "scheduler", sent.append)
    assert not metrics.on
    metrics.ti_finished("d", "t", "success", 1.0)
    assert sent == []


def test_prometheus_stays_in_the_schedulers_process_beside_the_relay(udp: socket.socket) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = on(udp, prometheus_port=port, prometheus_host="127.0.0.1")
    sent: Noted = []
    metrics = relay.metrics_for(settings, "scheduler", sent.append)
    metrics.start()
    try:
        metrics.ti_started("d", "t")
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
            scraped = answer.read().decode()
    finally:
        metrics.close()
    assert 'tradewind_ti_start_total{dag_id="d",task_id="t"} 1.0' in scraped
    assert [metric.name for batch in sent for metric in batch] == ["ti.start"]


def serve(frames: list[object], writers: list[object]) -> list[str]:
    source = io.BytesIO(b"".join(pickle.dumps(frame) for frame in frames))
    answers = io.StringIO()
    worker.serve(source, answers, writers)
    return answers.getvalue().splitlines()


def test_the_telemetry_process_sends_the_relayed_calls_behind_the_allow_list(
    udp: socket.socket,
) -> None:
    sent: Noted = []
    metrics = relay.metrics_for(on(udp), "scheduler", sent.append)
    with metrics.batch():
        metrics.ti_finished("d", "t", "success", 1.5, "PythonOperator")
        metrics.scheduler_heartbeat()
    now = datetime.now(UTC)
    other = records.TryRecord("d", "r", "t", -1, 1, "success", now, now)  # not a metric
    writer = relay.MetricsWriter(on(udp, metrics_allow_list="ti", statsd_prefix="tw"), "scheduler")
    answers = serve([[other, *sent[0]], ("flush", 1, 5.0)], [writer])
    assert [json.loads(answer) for answer in answers] == [
        {"flushed": 1, "sent": True, "failed": 0, "error": ""}
    ]
    lines = udp.recv(65536).decode().splitlines()  # one batch: one datagram
    # operator_successes, task.duration and the heartbeat are not on the allow list.
    assert lines == ["tw.ti.finish.d.t.success:1|c", "tw.ti.finish:1|c", "tw.ti_successes:1|c"]


def test_the_schedulers_telemetry_process_runs_for_metrics_alone_and_observes_nothing(
    udp: socket.socket, tmp_path: Path
) -> None:
    metrics_on = {
        "metrics": on(udp).model_dump(include={"statsd_on", "statsd_host", "statsd_port"})
    }
    settings = load_settings(environ={}, home=tmp_path, overrides=metrics_on)
    observer = dispatch.Telemetry.from_settings(settings)
    assert observer.settings is not None
    assert not observer.enabled  # no tries or runs noted for traces or lineage
    metrics = relay.metrics_for(settings.metrics, "scheduler", observer.send)
    try:
        metrics.ti_started("d", "t")
        assert observer.flush()
        lines = udp.recv(65536).decode().splitlines()
        assert lines == ["airflow.ti.start.d.t:1|c", "airflow.ti.start:1|c"]
    finally:
        observer.close()
    metrics.ti_started("d", "t")  # after the close: dropped, no process started again
    assert observer._proc is None
    nothing_came(udp)
