"""OpenTelemetry metrics over OTLP/HTTP: a call updates an instrument in memory; a background
thread of the SDK (its periodic exporting reader) sends them every
``otel_interval_milliseconds``. The meter provider is this object's own, not the process-wide
one, so nothing else in the process changes."""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

from tradewind.telemetry.stats import Stats, Tags

if TYPE_CHECKING:
    from tradewind.settings import MetricsSettings

# How long closing waits for the last export.
CLOSE_TIMEOUT_MS = 5000


def endpoint(settings: MetricsSettings) -> str:
    scheme = "https" if settings.otel_ssl_active else "http"
    return f"{scheme}://{settings.otel_host}:{settings.otel_port}/v1/metrics"


class OtelStats(Stats):
    """Counters, gauges and histograms (in ms) named ``otel_prefix.name``, with the tags as
    attributes; the legacy names are not sent (their tags are attributes here)."""

    on = True

    def __init__(self, settings: MetricsSettings, component: str) -> None:
        from tradewind.telemetry import require

        require("opentelemetry.sdk.metrics", "otel", "metrics.otel_on")
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
        from opentelemetry.sdk.resources import Resource

        reader = PeriodicExportingMetricReader(
            _this_process_only(OTLPMetricExporter(endpoint=endpoint(settings))),
            export_interval_millis=settings.otel_interval_milliseconds,
        )
        resource = Resource.create(
            {"service.name": settings.otel_service, "tradewind.component": component}
        )
        self.provider = MeterProvider(resource=resource, metric_readers=[reader])
        self.meter = self.provider.get_meter("tradewind")
        self.prefix = f"{settings.otel_prefix}." if settings.otel_prefix else ""
        self._instruments: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    def _instrument(self, kind: str, name: str) -> Any:
        found = self._instruments.get((kind, name))
        if found is None:
            with self._lock:
                found = self._instruments.get((kind, name))
                if found is None:
                    full = self.prefix + name
                    if kind == "counter":
                        found = self.meter.create_counter(full)
                    elif kind == "updown":
                        found = self.meter.create_up_down_counter(full)
                    elif kind == "gauge":
                        found = self.meter.create_gauge(full)
                    else:
                        found = self.meter.create_histogram(full, unit="ms")
                    self._instruments[(kind, name)] = found
        return found

    def incr(
        self, name: str, count: int = 1, *, tags: Tags | None = None, legacy: str = ""
    ) -> None:
        if name:
            self._instrument("counter", name).add(count, attributes=tags)

    def decr(
        self, name: str, count: int = 1, *, tags: Tags | None = None, legacy: str = ""
    ) -> None:
        if name:
            self._instrument("updown", name).add(-count, attributes=tags)

    def gauge(self, name: str, value: float, *, tags: Tags | None = None, legacy: str = "") -> None:
        if name:
            self._instrument("gauge", name).set(value, attributes=tags)

    def timing(
        self, name: str, seconds: float, *, tags: Tags | None = None, legacy: str = ""
    ) -> None:
        if name:
            self._instrument("histogram", name).record(seconds * 1000.0, attributes=tags)

    def flush(self, timeout: float) -> None:
        self.provider.force_flush(timeout_millis=int(timeout * 1000))

    def close(self) -> None:
        """Export what was recorded since the last export, then stop the exporting thread."""
        self.provider.shutdown(timeout_millis=CLOSE_TIMEOUT_MS)


def _this_process_only(exporter: Any) -> Any:
    """``exporter``, silent in a process forked from this one.

    The SDK restarts its exporting thread in a forked child (the DAG processor forks the
    children that import DAG files): that child must neither send its copy of the parent's
    metrics nor use the parent's HTTP connections.
    """
    from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult

    owner = os.getpid()

    class ThisProcessOnly(MetricExporter):
        def export(self, metrics_data: Any, timeout_millis: float = 10_000, **kwargs: Any) -> Any:
            if os.getpid() != owner:
                return MetricExportResult.SUCCESS
            return exporter.export(metrics_data, timeout_millis=timeout_millis, **kwargs)

        def force_flush(self, timeout_millis: float = 10_000) -> bool:
            return bool(os.getpid() != owner or exporter.force_flush(timeout_millis))

        def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
            if os.getpid() == owner:
                exporter.shutdown(timeout_millis=timeout_millis, **kwargs)

    return ThisProcessOnly()
