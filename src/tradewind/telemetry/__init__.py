"""Telemetry: metrics on StatsD, OpenTelemetry (OTLP/HTTP) and Prometheus, named as Airflow's.

This part takes plain values (ids, states, seconds) and settings handed in; it imports nothing
of the metastore, the scheduler or the parsing. :func:`create` builds the backends that
``[metrics]`` turns on (none by default: a :class:`Stats` whose calls cost nothing);
:class:`~tradewind.telemetry.emit.Metrics` gives the scheduler, the DAG processor and the
triggerer one method per thing that happened. The exporter libraries come with the extras
``tradewind[statsd]`` and ``tradewind[otel]``; a backend turned on without its library stops
the process at start with an error naming the extra. See docs/metrics.md.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING, Literal

from tradewind.exceptions import TradewindError
from tradewind.telemetry.emit import Metrics
from tradewind.telemetry.stats import FanOut, Filtered, NameFilter, Stats

if TYPE_CHECKING:
    from tradewind.settings import MetricsSettings

__all__ = ["OFF", "Metrics", "MissingExtra", "Stats", "create", "metrics_for"]

Component = Literal["scheduler", "dag_processor", "triggerer"]
# Each process serves its Prometheus metrics on metrics.prometheus_port + this.
PORT_OFFSETS: dict[str, int] = {"scheduler": 0, "dag_processor": 1, "triggerer": 2}

OFF = Metrics(Stats())


class MissingExtra(TradewindError):
    """A metrics backend is on but its library is not installed."""


def require(module: str, extra: str, setting: str) -> ModuleType:
    """``module`` imported, or :class:`MissingExtra` naming the extra that brings it."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise MissingExtra(
            f"{setting} is on but {error.name or module} is not installed: "
            f"pip install 'tradewind[{extra}]'"
        ) from None


def create(settings: MetricsSettings, component: Component) -> Stats:
    """The backends ``settings`` turns on for ``component``'s process, behind the allow/block
    lists; the no-op :class:`Stats` when none is on. Call ``start()`` on it to start a
    Prometheus server, and ``close()`` at the end (OpenTelemetry sends what is left)."""
    backends: list[Stats] = []
    if settings.statsd_on:
        from tradewind.telemetry.statsd import StatsdStats

        backends.append(StatsdStats(settings))
    if settings.otel_on:
        from tradewind.telemetry.otel import OtelStats

        backends.append(OtelStats(settings, component))
    if settings.prometheus_port:
        from tradewind.telemetry.prometheus import PrometheusStats

        port = settings.prometheus_port + PORT_OFFSETS[component]
        backends.append(PrometheusStats(host=settings.prometheus_host, port=port))
    if not backends:
        return Stats()
    stats: Stats = backends[0] if len(backends) == 1 else FanOut(backends)
    if settings.allow_list or settings.block_list:
        stats = Filtered(stats, NameFilter(settings.allow_list, settings.block_list))
    return stats


def metrics_for(settings: MetricsSettings, component: Component) -> Metrics:
    """:func:`create`'s backends behind Airflow's names (:class:`Metrics`)."""
    return Metrics(create(settings, component))
