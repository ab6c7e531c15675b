"""The scheduler's StatsD and OpenTelemetry metrics, sent by the telemetry process.

Updating an OpenTelemetry instrument and formatting StatsD lines cost the scheduler a quarter
of a millisecond of CPU per pass, in the pass that hands the next try over. So in the
scheduler each metric call only notes a :class:`~tradewind.telemetry.records.Metric`; a
pass's metrics go as one batch to the telemetry process (:mod:`tradewind.telemetry.dispatch`),
whose :class:`MetricsWriter` makes the same calls on the real backends, behind the same
allow/block lists. Prometheus stays in the scheduler's process: it serves the scheduler's own
registry, and a call to it is cheap. The DAG processor and the triggerer send their few
metrics themselves (:func:`tradewind.telemetry.metrics_for`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING

from tradewind import telemetry
from tradewind.telemetry.records import Metric
from tradewind.telemetry.stats import FanOut, Stats, Tags

if TYPE_CHECKING:
    from tradewind.settings import MetricsSettings

Send = Callable[[list[Metric]], None]


def relays(settings: MetricsSettings) -> bool:
    """Whether a backend is on that the telemetry process sends for the scheduler."""
    return settings.statsd_on or settings.otel_on


def split(settings: MetricsSettings) -> tuple[MetricsSettings, MetricsSettings]:
    """(what the scheduler's process serves itself: Prometheus; what the telemetry process
    sends for it: StatsD and OpenTelemetry)."""
    here = settings.model_copy(update={"statsd_on": False, "otel_on": False})
    there = settings.model_copy(update={"prometheus_port": 0})
    return here, there


def metrics_for(
    settings: MetricsSettings, component: telemetry.Component, send: Send
) -> telemetry.Metrics:
    """``component``'s metrics: Prometheus here, StatsD and OpenTelemetry through ``send``.
    A relayed backend whose library is missing stops the process here, at its start."""
    here, there = split(settings)
    local = telemetry.create(here, component)
    if not relays(there):
        return telemetry.Metrics(local)
    if there.statsd_on:
        telemetry.require("statsd", "statsd", "metrics.statsd_on")
    if there.otel_on:
        telemetry.require("opentelemetry.sdk.metrics", "otel", "metrics.otel_on")
    relayed = Relayed(send)
    return telemetry.Metrics(FanOut([local, relayed]) if local.on else relayed)


class Relayed(Stats):
    """Notes each call; within :meth:`batch`, sends the thread's calls as one list at its
    end, outside one, each call at once."""

    on = True

    def __init__(self, send: Send) -> None:
        self.send = send
        self._batches = threading.local()

    def _note(self, metric: Metric) -> None:
        batch: list[Metric] | None = getattr(self._batches, "notes", None)
        if batch is None:
            self.send([metric])
        else:
            batch.append(metric)

    @contextmanager
    def batch(self) -> Iterator[object]:
        if getattr(self._batches, "notes", None) is not None:
            yield self  # already in one
            return
        notes: list[Metric] = []
        self._batches.notes = notes
        try:
            yield self
        finally:
            self._batches.notes = None
            if notes:
                self.send(notes)

    def incr(
        self, name: str, count: int = 1, *, tags: Tags | None = None, legacy: str = ""
    ) -> None:
        self._note(Metric("incr", name, count, tags, legacy))

    def decr(
        self, name: str, count: int = 1, *, tags: Tags | None = None, legacy: str = ""
    ) -> None:
        self._note(Metric("decr", name, count, tags, legacy))

    def gauge(self, name: str, value: float, *, tags: Tags | None = None, legacy: str = "") -> None:
        self._note(Metric("gauge", name, value, tags, legacy))

    def timing(
        self, name: str, seconds: float, *, tags: Tags | None = None, legacy: str = ""
    ) -> None:
        self._note(Metric("timing", name, seconds, tags, legacy))


class MetricsWriter:
    """In the telemetry process: the relayed calls, made on StatsD and OpenTelemetry."""

    takes = Metric

    def __init__(self, settings: MetricsSettings, component: telemetry.Component) -> None:
        self.stats = telemetry.create(split(settings)[1], component)
        self.stats.start()

    def batch(self) -> AbstractContextManager[object]:
        """A batch's metrics together (StatsD packs them into few datagrams)."""
        return self.stats.batch()

    def write(self, metric: Metric) -> None:
        call = getattr(self.stats, metric.kind)
        call(metric.name, metric.value, tags=metric.tags, legacy=metric.legacy)

    def flush(self, timeout: float) -> bool:
        """Send what is held (OpenTelemetry's instruments) now, not at the next export."""
        self.stats.flush(timeout)
        return True

    def close(self) -> None:
        self.stats.close()
