"""The interface every metrics backend implements, the no-op default, the fan-out to several
backends, and the allow/block lists.

A metric has a *name* ("ti.finish") and *tags* (``{"dag_id": ..., "task_id": ...}``). Airflow
also sends most of them under a *legacy* name that spells the tags out
("ti.finish.DAG.TASK.success"); backends that have no tags (StatsD) send both, the others
(OpenTelemetry, Prometheus) only the tagged name; an empty name or legacy name is not sent.
Calls never block and never raise: a metric lost is better than a scheduler stopped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, ExitStack, contextmanager, nullcontext

log = logging.getLogger(__name__)

Tags = Mapping[str, str]


class Stats:
    """No metrics at all (the default): every call returns at once."""

    #: False only for this no-op: callers may skip building what they would send.
    on = False

    def incr(
        self, name: str, count: int = 1, *, tags: Tags | None = None, legacy: str = ""
    ) -> None:
        """Add ``count`` to a counter."""

    def decr(
        self, name: str, count: int = 1, *, tags: Tags | None = None, legacy: str = ""
    ) -> None:
        """Take ``count`` from a counter (StatsD's decrement; elsewhere a negative add)."""

    def gauge(self, name: str, value: float, *, tags: Tags | None = None, legacy: str = "") -> None:
        """Set a gauge."""

    def timing(
        self, name: str, seconds: float, *, tags: Tags | None = None, legacy: str = ""
    ) -> None:
        """Record a duration (StatsD and OpenTelemetry take it in ms, Prometheus in s)."""

    def batch(self) -> AbstractContextManager[object]:
        """Within it, this thread's metrics may be held and sent together at its end (StatsD
        packs them into few datagrams)."""
        return nullcontext()

    def start(self) -> None:
        """Start what runs in the background (a server, an exporting thread)."""

    def flush(self, timeout: float) -> None:
        """Send what is held now rather than at the next export (OpenTelemetry)."""

    def close(self) -> None:
        """Send what is buffered and stop what runs in the background."""


class NameFilter:
    """Airflow's allow/block lists: prefixes of the names that may (may not) be sent."""

    def __init__(self, allow: Sequence[str] = (), block: Sequence[str] = ()) -> None:
        self.allow = tuple(p.lower() for p in allow)
        self.block = tuple(p.lower() for p in block)
        self._seen: dict[str, bool] = {}

    def __call__(self, name: str) -> bool:
        """Whether ``name`` may be sent (remembered: a name is looked at once)."""
        known = self._seen.get(name)
        if known is not None:
            return known
        lowered = name.lower()
        if self.allow:
            ok = lowered.startswith(self.allow)
        else:
            ok = not (self.block and lowered.startswith(self.block))
        if len(self._seen) < 100_000:
            self._seen[name] = ok
        return ok


class Filtered(Stats):
    """Sends to ``backend`` the names (tagged and legacy, each on its own) that pass
    ``allowed``; an empty name tells the backend not to send that one."""

    on = True

    def __init__(self, backend: Stats, allowed: NameFilter) -> None:
        self.backend = backend
        self.allowed = allowed

    def _names(self, name: str, legacy: str) -> tuple[str, str] | None:
        name = name if self.allowed(name) else ""
        legacy = legacy if legacy and self.allowed(legacy) else ""
        return (name, legacy) if name or legacy else None

    def incr(
        self, name: str, count: int = 1, *, tags: Tags | None = None, legacy: str = ""
    ) -> None:
        if names := self._names(name, legacy):
            self.backend.incr(names[0], count, tags=tags, legacy=names[1])

    def decr(
        self, name: str, count: int = 1, *, tags: Tags | None = None, legacy: str = ""
    ) -> None:
        if names := self._names(name, legacy):
            self.backend.decr(names[0], count, tags=tags, legacy=names[1])

    def gauge(self, name: str, value: float, *, tags: Tags | None = None, legacy: str = "") -> None:
        if names := self._names(name, legacy):
            self.backend.gauge(names[0], value, tags=tags, legacy=names[1])

    def timing(
        self, name: str, seconds: float, *, tags: Tags | None = None, legacy: str = ""
    ) -> None:
        if names := self._names(name, legacy):
            self.backend.timing(names[0], seconds, tags=tags, legacy=names[1])

    def batch(self) -> AbstractContextManager[object]:
        return self.backend.batch()

    def start(self) -> None:
        self.backend.start()

    def flush(self, timeout: float) -> None:
        self.backend.flush(timeout)

    def close(self) -> None:
        self.backend.close()


class FanOut(Stats):
    """Every call to each of several backends; one that raises is logged and skipped."""

    on = True

    def __init__(self, backends: Sequence[Stats]) -> None:
        self.backends = tuple(backends)

    def incr(
        self, name: str, count: int = 1, *, tags: Tags | None = None, legacy: str = ""
    ) -> None:
        for backend in self.backends:
            _safe(backend.incr, name, count, tags, legacy)

    def decr(
        self, name: str, count: int = 1, *, tags: Tags | None = None, legacy: str = ""
    ) -> None:
        for backend in self.backends:
            _safe(backend.decr, name, count, tags, legacy)

    def gauge(self, name: str, value: float, *, tags: Tags | None = None, legacy: str = "") -> None:
        for backend in self.backends:
            _safe(backend.gauge, name, value, tags, legacy)

    def timing(
        self, name: str, seconds: float, *, tags: Tags | None = None, legacy: str = ""
    ) -> None:
        for backend in self.backends:
            _safe(backend.timing, name, seconds, tags, legacy)

    @contextmanager
    def batch(self) -> Iterator[object]:
        with ExitStack() as stack:
            for backend in self.backends:
                stack.enter_context(backend.batch())
            yield self

    def start(self) -> None:
        for backend in self.backends:
            backend.start()

    def flush(self, timeout: float) -> None:
        for backend in self.backends:
            backend.flush(timeout)

    def close(self) -> None:
        for backend in self.backends:
            try:
                backend.close()
            except Exception:
                log.exception("closing the %s metrics backend failed", type(backend).__name__)


_failed: set[str] = set()


def _safe(
    call: Callable[..., None], name: str, value: float, tags: Tags | None, legacy: str
) -> None:
    try:
        call(name, value, tags=tags, legacy=legacy)
    except Exception:
        if name not in _failed:  # once per name, not once per call
            _failed.add(name)
            log.exception("metric %s could not be recorded", name)
