"""Receivers that tests start on localhost: an OTLP/HTTP trace collector (decoding the
protobuf with the OpenTelemetry packages) and an OpenLineage HTTP endpoint (JSON)."""

from __future__ import annotations

import gzip
import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest


class Receiver:
    """Keeps the bodies POSTed to it; a test waits on a condition over them."""

    def __init__(self, decode: Callable[[bytes], list[Any]]) -> None:
        self.decode = decode
        self.items: list[Any] = []
        self.paths: list[str] = []
        self.headers: list[dict[str, str]] = []
        self.changed = threading.Condition()
        self.port = 0

    def add(self, path: str, body: bytes, headers: dict[str, str] | None = None) -> None:
        found = self.decode(body)
        with self.changed:
            self.paths.append(path)
            self.headers.append(headers or {})
            self.items.extend(found)
            self.changed.notify_all()

    def wait_for(self, condition: Callable[[list[Any]], bool], timeout: float = 30) -> list[Any]:
        """The items once ``condition(items)`` holds (or as they are at the timeout)."""
        with self.changed:
            self.changed.wait_for(lambda: condition(self.items), timeout)
            return list(self.items)


@contextmanager
def serving(receiver: Receiver) -> Iterator[Receiver]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            receiver.add(self.path, body, dict(self.headers.items()))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


@dataclass(frozen=True)
class Span:
    name: str
    trace_id: str
    span_id: str
    parent_id: str
    start: int
    end: int
    attributes: dict[str, Any]
    events: list[str]
    status: int
    service: str


def _value(any_value: Any) -> Any:
    kind = any_value.WhichOneof("value")
    return getattr(any_value, kind) if kind else None


def decode_spans(body: bytes) -> list[Span]:
    request = ExportTraceServiceRequest()
    request.ParseFromString(body)
    spans = []
    for resource_spans in request.resource_spans:
        resource = {a.key: _value(a.value) for a in resource_spans.resource.attributes}
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                spans.append(
                    Span(
                        name=span.name,
                        trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(),
                        parent_id=span.parent_span_id.hex(),
                        start=span.start_time_unix_nano,
                        end=span.end_time_unix_nano,
                        attributes={a.key: _value(a.value) for a in span.attributes},
                        events=[e.name for e in span.events],
                        status=span.status.code,
                        service=str(resource.get("service.name")),
                    )
                )
    return spans


def decode_events(body: bytes) -> list[dict[str, Any]]:
    data = json.loads(body)
    return data if isinstance(data, list) else [data]


@contextmanager
def otlp_receiver() -> Iterator[Receiver]:
    with serving(Receiver(decode_spans)) as receiver:
        yield receiver


@contextmanager
def lineage_receiver() -> Iterator[Receiver]:
    with serving(Receiver(decode_events)) as receiver:
        yield receiver
