"""Prometheus: counters, gauges and histograms (in seconds) in this process's own registry,
served at ``http://prometheus_host:PORT/metrics`` by prometheus_client's HTTP server in a
background thread.

Why a server per process: the scheduler's counters live in the scheduler's memory, and the web
server's ``/metrics`` (read from the metastore on each scrape) cannot see them; Prometheus
scrapes each process instead, as it does any other service. A name becomes
``tradewind_<name with _ for .>`` (``ti.finish`` -> ``tradewind_ti_finish_total``), with the
tags as labels; the legacy names are not kept (their tags are labels here).
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from tradewind.telemetry.stats import Stats, Tags

log = logging.getLogger(__name__)

PREFIX = "tradewind_"
_BAD = re.compile(r"[^a-zA-Z0-9_]")


def metric_name(name: str) -> str:
    return PREFIX + _BAD.sub("_", name)


class PrometheusStats(Stats):
    """Metrics in ``registry``; :meth:`start` serves them on ``port`` (0: not served)."""

    on = True

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.host, self.port = host, port
        self._metrics: dict[str, tuple[Any, tuple[str, ...]]] = {}
        self._lock = threading.Lock()
        self._server: Any = None

    def _metric(self, kind: type[Any], name: str, tags: Tags | None) -> Any:
        labels = tuple(sorted(tags)) if tags else ()
        found = self._metrics.get(name)
        if found is None:
            with self._lock:
                found = self._metrics.get(name)
                if found is None:
                    full = metric_name(name) + ("_seconds" if kind is Histogram else "")
                    made = kind(full, name, labels, registry=self.registry)
                    found = self._metrics[name] = (made, labels)
        metric, known = found
        if known != labels:
            raise ValueError(f"metric {name}: tags {labels} differ from the first use's {known}")
        return metric.labels(**tags) if tags else metric

    def incr(
        self, name: str, count: int = 1, *, tags: Tags | None = None, legacy: str = ""
    ) -> None:
        if name:
            self._metric(Counter, name, tags).inc(count)

    def decr(
        self, name: str, count: int = 1, *, tags: Tags | None = None, legacy: str = ""
    ) -> None:
        if name:  # a counter only goes up: a name that goes down is a gauge here
            self._metric(Gauge, name + ".level", tags).dec(count)

    def gauge(self, name: str, value: float, *, tags: Tags | None = None, legacy: str = "") -> None:
        if name:
            self._metric(Gauge, name, tags).set(value)

    def timing(
        self, name: str, seconds: float, *, tags: Tags | None = None, legacy: str = ""
    ) -> None:
        if name:
            self._metric(Histogram, name, tags).observe(seconds)

    def start(self) -> None:
        if self.port and self._server is None:
            try:
                self._server, _ = start_http_server(
                    self.port, addr=self.host, registry=self.registry
                )
            except OSError as error:  # the port is taken: no scrapes, but the process runs
                log.error(
                    "cannot serve Prometheus metrics on %s:%d (metrics.prometheus_port): %s",
                    self.host,
                    self.port,
                    error,
                )
                return
            log.info("Prometheus metrics at http://%s:%d/metrics", self.host, self.port)

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
