"""The ``[metrics]`` section: where tradewind sends its metrics, named as Airflow's keys.

Everything is off by default; see docs/metrics.md for the metrics and how each backend works.
"""

from __future__ import annotations

from pydantic import field_validator

from tradewind.settings.sections import Section


class MetricsSettings(Section):
    """StatsD, OpenTelemetry (OTLP over HTTP) and Prometheus; any of them, or several."""

    # StatsD over UDP (the `statsd` extra).
    statsd_on: bool = False
    statsd_host: str = "localhost"
    statsd_port: int = 8125
    statsd_prefix: str = "airflow"
    # Tags in the metric name, as InfluxDB and Telegraf read them ("name,tag=value:1|c").
    statsd_influxdb_enabled: bool = False
    # The largest datagram a pass's metrics are packed into: 1432 bytes fits one Ethernet frame
    # (for a StatsD agent on the host or the LAN); 512 for a path across the internet.
    statsd_max_packet_size: int = 1432
    # Comma-separated prefixes of metric names: with an allow list only the metrics whose name
    # starts with one of them are sent; a block list drops those that do (the allow list wins
    # when both are set). statsd_allow_list / statsd_block_list are the older spellings of
    # metrics_allow_list / metrics_block_list; a list set under either name applies.
    metrics_allow_list: str = ""
    metrics_block_list: str = ""
    statsd_allow_list: str = ""
    statsd_block_list: str = ""
    # OpenTelemetry metrics over OTLP/HTTP to a collector (the `otel` extra), exported in the
    # background every otel_interval_milliseconds.
    otel_on: bool = False
    otel_host: str = "localhost"
    otel_port: int = 8889
    otel_prefix: str = "airflow"
    otel_interval_milliseconds: int = 60000
    otel_ssl_active: bool = False
    otel_service: str = "tradewind"
    # Prometheus: each process (scheduler, DAG processor, triggerer) serves its own counters
    # and histograms at http://prometheus_host:PORT/metrics, PORT being prometheus_port for
    # the scheduler, + 1 for the DAG processor and + 2 for the triggerer. 0: off.
    prometheus_port: int = 0
    prometheus_host: str = "127.0.0.1"

    @field_validator("statsd_max_packet_size")
    @classmethod
    def _packet(cls, value: int) -> int:
        if not 64 <= value <= 65507:
            raise ValueError("must be a datagram size in bytes (64-65507)")
        return value

    @field_validator("statsd_port", "otel_port", "prometheus_port")
    @classmethod
    def _port(cls, value: int) -> int:
        if not 0 <= value <= 65533:
            raise ValueError("must be a port number (0-65533)")
        return value

    @field_validator("otel_interval_milliseconds")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value < 1:
            raise ValueError("must be a positive number of milliseconds")
        return value

    @property
    def allow_list(self) -> tuple[str, ...]:
        return _prefixes(self.metrics_allow_list, self.statsd_allow_list)

    @property
    def block_list(self) -> tuple[str, ...]:
        return _prefixes(self.metrics_block_list, self.statsd_block_list)

    @property
    def any_on(self) -> bool:
        return self.statsd_on or self.otel_on or self.prometheus_port > 0


def _prefixes(*lists: str) -> tuple[str, ...]:
    return tuple(p.strip() for text in lists for p in text.split(",") if p.strip())
