"""Traces: what a try's own process uses, and the OpenTelemetry set-up shared with the
scheduler's span writer (:mod:`tradewind.telemetry.spans`).

A try runs inside :func:`try_scope`: with ``[traces] otel_on`` its process exports spans over
OTLP/HTTP, under the try's span (its trace context is derived from the try's key, see
:mod:`tradewind.telemetry.records`, and also set as ``TRACEPARENT`` for the try's own
subprocesses). In a task::

    from tradewind.telemetry import tracing

    with tracing.span("load", rows=10):
        ...

or any OpenTelemetry API call (``trace.get_tracer(__name__).start_as_current_span(...)``).
Off, :func:`span` does nothing and OpenTelemetry is not imported.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from tradewind.settings import TracesSettings
from tradewind.telemetry import records

if TYPE_CHECKING:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider

log = logging.getLogger(__name__)

EXTRA_HINT = "traces need the otel extra: pip install 'tradewind[otel]'"
TRACEPARENT_ENV = "TRACEPARENT"
INSTRUMENTATION = "tradewind"
# Set while a try runs with traces on: only then does span() reach for OpenTelemetry.
_active: list[_Lazy] = []
# The resource of each service name: built once per process (its detectors are slow).
_resources: dict[str, Resource] = {}


class TracesUnavailable(RuntimeError):
    """``[traces] otel_on`` is set but the OpenTelemetry packages are not installed."""


def require() -> None:
    """Fail with the extra to install when the OpenTelemetry SDK or exporter is missing."""
    try:
        import opentelemetry.exporter.otlp.proto.http.trace_exporter
        import opentelemetry.sdk.trace  # noqa: F401
    except ImportError as exc:
        raise TracesUnavailable(f"{EXTRA_HINT} ({exc})") from None


def warm_up(settings: TracesSettings) -> None:
    """In a process that forks tries: import what every try's scope needs once (the light
    OpenTelemetry API), for every try.

    The SDK and the OTLP exporter (~8 MB and ~60 ms of imports) are left to the tries that
    open a span of their own: held in the forking process, they made every try's fork and
    exit dearer, spans or not. Nothing here opens a connection or starts a thread."""
    if not settings.otel_on:
        return
    try:
        from opentelemetry import context, trace  # noqa: F401
    except ImportError as exc:
        raise TracesUnavailable(f"{EXTRA_HINT} ({exc})") from None


def provider(settings: TracesSettings, *, id_generator: Any = None) -> TracerProvider:
    """A tracer provider that batches spans and sends them in the background (to the console
    instead with ``otel_debugging_on``)."""
    require()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import SpanProcessor
    from opentelemetry.sdk.trace import TracerProvider as SdkProvider
    from opentelemetry.sdk.trace.export import (
        BatchSpanProcessor,
        ConsoleSpanExporter,
        SimpleSpanProcessor,
    )

    resource = _resources.get(settings.otel_service)
    if resource is None:
        resource = _resources[settings.otel_service] = Resource.create(
            {"service.name": settings.otel_service}
        )
    made = (
        SdkProvider(resource=resource, id_generator=id_generator)
        if id_generator is not None
        else SdkProvider(resource=resource)
    )
    processor: SpanProcessor
    if settings.otel_debugging_on:
        processor = SimpleSpanProcessor(ConsoleSpanExporter())
    else:
        processor = BatchSpanProcessor(OTLPSpanExporter(endpoint=settings.endpoint))
    made.add_span_processor(processor)
    return made


@contextlib.contextmanager
def try_scope(settings: TracesSettings, key: tuple[str, str, str, int, int]) -> Iterator[None]:
    """Run a try (``key``: dag_id, run_id, task_id, map_index, try_number) under its
    span: the spans its process opens are children of the try's span, sent before the scope
    ends. Does nothing when traces are off."""
    if not settings.otel_on:
        yield
        return
    from opentelemetry import context, trace

    made = _Lazy(settings)
    trace.set_tracer_provider(made)  # type: ignore[arg-type]
    dag_id, run_id, task_id, map_index, try_number = key
    trace_id = records.trace_id(dag_id, run_id)
    span_id = records.try_span_id(dag_id, run_id, task_id, map_index, try_number)
    parent = records.w3c_traceparent(trace_id, span_id)
    # What a trace-context propagator would make of ``parent``, without parsing it back.
    remote = trace.SpanContext(
        trace_id, span_id, is_remote=True, trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED)
    )
    token = context.attach(trace.set_span_in_context(trace.NonRecordingSpan(remote)))
    previous = os.environ.get(TRACEPARENT_ENV)
    os.environ[TRACEPARENT_ENV] = parent
    _active.append(made)
    try:
        yield
    finally:
        _active.remove(made)
        context.detach(token)
        if previous is None:
            os.environ.pop(TRACEPARENT_ENV, None)
        else:
            os.environ[TRACEPARENT_ENV] = previous
        made.shutdown()  # sends what is left


class _Lazy:
    """The try's tracer provider, built on its first use: a try that opens no span of its
    own pays for none (no exporter, no thread)."""

    def __init__(self, settings: TracesSettings) -> None:
        self.settings = settings
        self.made: TracerProvider | None = None

    def get_tracer(self, *args: Any, **kwargs: Any) -> Any:
        if self.made is None:
            self.made = provider(self.settings)
        return self.made.get_tracer(*args, **kwargs)

    def shutdown(self) -> None:
        if self.made is not None:
            self.made.shutdown()


@contextlib.contextmanager
def span(name: str, **attributes: Any) -> Iterator[Any]:
    """A span of the running try (a child of the current span); yields it (None with traces
    off, when nothing is recorded)."""
    if not _active:
        yield None
        return
    tracer = _active[-1].get_tracer(INSTRUMENTATION)
    with tracer.start_as_current_span(name, attributes=attributes or None) as current:
        yield current
