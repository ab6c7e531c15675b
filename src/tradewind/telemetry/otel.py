"""OpenTelemetry metrics over OTLP/HTTP: a call updates an instrument in memory; a background
thread of the SDK (its periodic exporting reader) sends them every
``otel_interval_milliseconds``. The meter provider is this object's own, not the process-wide
one, so nothing else in the process changes."""

from __future__ import annotations

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
            OTLPMetricExporter(endpoint=endpoint(settings)),
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

    def close(self) -> None:
        """Export what was recorded since the last export, then stop the exporting thread."""
        self.provider.shutdown(timeout_millis=CLOSE_TIMEOUT_MS)
