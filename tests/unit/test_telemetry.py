"""The metrics backends on their own: names, prefixes, allow/block lists, tags, the missing
extra, and the no-op default (a StatsD listener and a Prometheus scrape on localhost)."""

from __future__ import annotations

import socket
import sys
import urllib.request

import pytest
from prometheus_client import generate_latest

from tradewind import telemetry
from tradewind.settings import MetricsSettings
from tradewind.telemetry.prometheus import PrometheusStats
from tradewind.telemetry.stats import FanOut, Filtered, NameFilter, Stats


def received(sock: socket.socket, count: int) -> list[str]:
    """The next ``count`` datagrams (loopback delivers them by the time sendto returns)."""
    return [sock.recv(65536).decode() for _ in range(count)]


def statsd_settings(sock: socket.socket, **keys: object) -> MetricsSettings:
    port = sock.getsockname()[1]
    return MetricsSettings.model_validate(
        {"statsd_on": True, "statsd_host": "127.0.0.1", "statsd_port": port, **keys}
    )


def test_the_default_sends_nothing_and_is_off() -> None:
    settings = MetricsSettings()
    assert not settings.any_on
    stats = telemetry.create(settings, "scheduler")
    assert type(stats) is Stats
    assert not stats.on
    metrics = telemetry.metrics_for(settings, "scheduler")
    assert not metrics.on
    metrics.ti_finished("d", "t", "success", 1.0)  # returns at once, nothing to see


def test_allow_list_keeps_only_its_prefixes_and_wins_over_the_block_list() -> None:
    allowed = NameFilter(allow=["scheduler", "executor"], block=["scheduler"])
    assert allowed("scheduler.heartbeat")
    assert allowed("executor.open_slots")
    assert not allowed("ti.finish")


def test_block_list_drops_its_prefixes() -> None:
    allowed = NameFilter(block=["ti.", "dag."])
    assert not allowed("ti.finish")
    assert not allowed("dag.x.y.duration")
    assert allowed("dagrun.duration.success")
    assert allowed("ti_failures")


def test_the_older_list_names_apply_too() -> None:
    settings = MetricsSettings(statsd_allow_list="scheduler, executor", metrics_allow_list="pool")
    assert settings.allow_list == ("pool", "scheduler", "executor")
    assert MetricsSettings(statsd_block_list="ti").block_list == ("ti",)


def test_statsd_sends_prefixed_legacy_and_tagged_names(udp: socket.socket) -> None:
    metrics = telemetry.metrics_for(statsd_settings(udp, statsd_prefix="tw"), "scheduler")
    metrics.ti_started("etl", "load")
    assert received(udp, 2) == ["tw.ti.start.etl.load:1|c", "tw.ti.start:1|c"]
    metrics.dagrun_finished("etl", "success", 1.5)
    assert received(udp, 2) == [
        "tw.dagrun.duration.success.etl:1500.000000|ms",
        "tw.dagrun.duration.success:1500.000000|ms",
    ]
    metrics.close()


def test_statsd_with_influxdb_tags_puts_them_in_the_name(udp: socket.socket) -> None:
    settings = statsd_settings(udp, statsd_prefix="", statsd_influxdb_enabled=True)
    stats = telemetry.create(settings, "scheduler")
    stats.gauge("pool.open_slots", 3, tags={"pool_name": "big pool"}, legacy="pool.open_slots.p")
    assert received(udp, 2) == ["pool.open_slots.p:3|g", r"pool.open_slots,pool_name=big\ pool:3|g"]


def test_statsd_block_list_applies_to_each_name_on_its_own(udp: socket.socket) -> None:
    metrics = telemetry.metrics_for(
        statsd_settings(udp, metrics_block_list="ti.start."), "scheduler"
    )
    metrics.ti_started("etl", "load")
    metrics.scheduler_heartbeat()
    assert received(udp, 3) == [
        "airflow.ti.start:1|c",
        "airflow.scheduler_heartbeat:1|c",
        "airflow.scheduler.heartbeat:1|c",
    ]


def test_a_backend_on_without_its_library_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, udp: socket.socket
) -> None:
    monkeypatch.setitem(sys.modules, "statsd", None)
    with pytest.raises(telemetry.MissingExtra, match=r"pip install 'tradewind\[statsd\]'"):
        telemetry.create(statsd_settings(udp), "scheduler")
    monkeypatch.setitem(sys.modules, "opentelemetry.sdk.metrics", None)
    with pytest.raises(telemetry.MissingExtra, match=r"metrics.otel_on .*tradewind\[otel\]"):
        telemetry.create(MetricsSettings(otel_on=True), "scheduler")


def test_prometheus_has_counters_gauges_and_histograms_with_labels() -> None:
    stats = PrometheusStats()
    metrics = telemetry.Metrics(stats)
    metrics.ti_finished("etl", "load", "success", 0.25)
    metrics.ti_finished("etl", "load", "success", 0.5)
    metrics.executor_slots("LocalExecutor", open_slots=5, queued=1, running=2)
    text = generate_latest(stats.registry).decode()
    assert 'tradewind_ti_finish_total{dag_id="etl",state="success",task_id="load"} 2.0' in text
    assert 'tradewind_ti_successes_total{dag_id="etl",task_id="load"} 2.0' in text
    assert 'tradewind_task_duration_seconds_count{dag_id="etl",task_id="load"} 2.0' in text
    assert 'tradewind_task_duration_seconds_sum{dag_id="etl",task_id="load"} 0.75' in text
    assert 'tradewind_executor_open_slots{executor="LocalExecutor"} 5.0' in text
    assert "ti_start" not in text


def test_prometheus_serves_each_process_on_its_port() -> None:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    base = probe.getsockname()[1]
    probe.close()
    settings = MetricsSettings(prometheus_port=base - 2)
    stats = telemetry.create(settings, "triggerer")  # serves on prometheus_port + 2
    stats.start()
    try:
        telemetry.Metrics(stats).triggerer_heartbeat("host-a", running=3, capacity=10)
        with urllib.request.urlopen(f"http://127.0.0.1:{base}/metrics", timeout=10) as answer:
            text = answer.read().decode()
    finally:
        stats.close()
    assert "tradewind_triggerer_heartbeat_total 1.0" in text
    assert 'tradewind_triggers_running{hostname="host-a"} 3.0' in text
    assert 'tradewind_triggerer_capacity_left{hostname="host-a"} 7.0' in text


def test_fan_out_goes_on_past_a_failing_backend() -> None:
    class Broken(Stats):
        def incr(self, *args: object, **kwargs: object) -> None:
            raise OSError("no route")

    good = PrometheusStats()
    stats = FanOut([Broken(), good])
    stats.incr("ti_failures", tags={"dag_id": "d", "task_id": "t"})
    assert 'tradewind_ti_failures_total{dag_id="d",task_id="t"} 1.0' in (
        generate_latest(good.registry).decode()
    )


def test_filtered_drops_a_metric_whose_names_are_all_blocked() -> None:
    inner = PrometheusStats()
    stats = Filtered(inner, NameFilter(block=["scheduler"]))
    telemetry.Metrics(stats).scheduler_loop(0.1, executable=2, starving=0)
    assert "scheduler" not in generate_latest(inner.registry).decode()


def test_statsd_batch_packs_a_pass_into_one_datagram(udp: socket.socket) -> None:
    metrics = telemetry.metrics_for(statsd_settings(udp, statsd_prefix=""), "scheduler")
    with metrics.batch():
        metrics.ti_started("etl", "load")
        metrics.ti_finished("etl", "load", "failed", None)
        with metrics.batch():  # nested: still the one batch
            metrics.scheduler_heartbeat()
    assert received(udp, 1)[0].splitlines() == [
        "ti.start.etl.load:1|c",
        "ti.start:1|c",
        "ti.finish.etl.load.failed:1|c",
        "ti.finish:1|c",
        "ti_failures:1|c",
        "scheduler_heartbeat:1|c",
        "scheduler.heartbeat:1|c",
    ]
    metrics.ti_started("etl", "load")  # after the batch: sent at once again
    assert received(udp, 2) == ["ti.start.etl.load:1|c", "ti.start:1|c"]


def test_prometheus_on_a_taken_port_logs_and_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        stats = PrometheusStats(port=taken.getsockname()[1])
        stats.start()
    assert "cannot serve Prometheus metrics" in caplog.text
    stats.incr("ti_failures")  # still counts
    assert "tradewind_ti_failures_total 1.0" in generate_latest(stats.registry).decode()
    stats.close()
