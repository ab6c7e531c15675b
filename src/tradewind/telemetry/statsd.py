"""StatsD over UDP with the `statsd` client: one datagram per metric, sent without waiting
(a lost datagram is a lost metric, never a stalled scheduler)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

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
            settings.statsd_host,
            settings.statsd_port,
            prefix=settings.statsd_prefix or None,
            maxudpsize=settings.statsd_max_packet_size,
        )
        self.influx = settings.statsd_influxdb_enabled
        self._batches = threading.local()

    def _client(self) -> Any:
        return getattr(self._batches, "pipeline", None) or self.client

    @contextmanager
    def batch(self) -> Iterator[object]:
        """The metrics of this thread within it go out together at its end, as few datagrams
        as fit (the client's pipeline, up to ``statsd_max_packet_size`` bytes each): fewer
        system calls per pass."""
        if getattr(self._batches, "pipeline", None) is not None:
            yield self  # already in one
            return
        pipeline = self.client.pipeline()
        self._batches.pipeline = pipeline
        try:
            yield self
        finally:
            self._batches.pipeline = None
            pipeline.send()

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
            self._client().incr(stat, count)

    def decr(
        self, name: str, count: int = 1, *, tags: Tags | None = None, legacy: str = ""
    ) -> None:
        for stat in self._names(name, tags, legacy):
            self._client().decr(stat, count)

    def gauge(self, name: str, value: float, *, tags: Tags | None = None, legacy: str = "") -> None:
        for stat in self._names(name, tags, legacy):
            self._client().gauge(stat, value)

    def timing(
        self, name: str, seconds: float, *, tags: Tags | None = None, legacy: str = ""
    ) -> None:
        for stat in self._names(name, tags, legacy):
            self._client().timing(stat, seconds * 1000.0)

    def close(self) -> None:
        self.client.close()


def _influx(value: str) -> str:
    """A tag value as InfluxDB's line protocol takes it (commas, spaces and = escaped)."""
    return str(value).replace(",", r"\,").replace(" ", r"\ ").replace("=", r"\=")
