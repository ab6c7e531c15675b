"""StatsD over UDP with the `statsd` client: one datagram per metric, sent without waiting
(a lost datagram is a lost metric, never a stalled scheduler)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tradewind.telemetry.stats import Stats, Tags

if TYPE_CHECKING:
    from tradewind.settings import MetricsSettings


class StatsdStats(Stats):
    """Sends the legacy name (tags spelled out in it) and the tagged name; the tags of the
    latter go into the name, InfluxDB-style, when ``statsd_influxdb_enabled``, else nowhere
    (StatsD has no tags)."""

    on = True

    def __init__(self, settings: MetricsSettings) -> None:
        from tradewind.telemetry import require

        statsd = require("statsd", "statsd", "metrics.statsd_on")
        self.client = statsd.StatsClient(
            settings.statsd_host, settings.statsd_port, prefix=settings.statsd_prefix or None
        )
        self.influx = settings.statsd_influxdb_enabled

    def _names(self, name: str, tags: Tags | None, legacy: str) -> list[str]:
        names = [legacy] if legacy else []
        if name:
            if self.influx and tags:
                name += "".join(f",{k}={_influx(v)}" for k, v in tags.items())
            names.append(name)
        return names

    def incr(
        self, name: str, count: int = 1, *, tags: Tags | None = None, legacy: str = ""
    ) -> None:
        for stat in self._names(name, tags, legacy):
            self.client.incr(stat, count)

    def decr(
        self, name: str, count: int = 1, *, tags: Tags | None = None, legacy: str = ""
    ) -> None:
        for stat in self._names(name, tags, legacy):
            self.client.decr(stat, count)

    def gauge(self, name: str, value: float, *, tags: Tags | None = None, legacy: str = "") -> None:
        for stat in self._names(name, tags, legacy):
            self.client.gauge(stat, value)

    def timing(
        self, name: str, seconds: float, *, tags: Tags | None = None, legacy: str = ""
    ) -> None:
        for stat in self._names(name, tags, legacy):
            self.client.timing(stat, seconds * 1000.0)

    def close(self) -> None:
        self.client.close()


def _influx(value: str) -> str:
    """A tag value as InfluxDB's line protocol takes it (commas, spaces and = escaped)."""
    return str(value).replace(",", r"\,").replace(" ", r"\ ").replace("=", r"\=")
