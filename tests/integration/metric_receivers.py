"""Metrics receivers run by the tests: a StatsD UDP listener and an OTLP/HTTP collector that
decodes ``ExportMetricsServiceRequest`` with the OpenTelemetry protobuf package.

Each keeps what it received and lets a test wait for a condition on it (no sleeps).
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

SENTINEL = "test.sentinel:1|c"

_STOP = b"\0stop\0"


class StatsdListener:
    """Datagrams to 127.0.0.1:port, read by a thread as they come (the socket's buffer is
    small: a reader that waited for the end would lose some)."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
        self.sock.bind(("127.0.0.1", 0))
        self.port: int = self.sock.getsockname()[1]
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while True:
            try:
                data = self.sock.recv(65536)
            except OSError:
                return
            if data == _STOP:
                return
            with self._changed:
                self.lines.extend(data.decode().splitlines())
                self._changed.notify_all()

    def wait_for(self, condition: Callable[[list[str]], bool], timeout: float = 30) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: condition(self.lines), timeout)

    def drain(self) -> list[str]:
        """Everything sent so far: a sentinel datagram sent now arrives after all of it."""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as out:
            out.sendto(SENTINEL.encode(), ("127.0.0.1", self.port))
        assert self.wait_for(lambda lines: SENTINEL in lines)
        return [line for line in self.lines if line != SENTINEL]

    def close(self) -> None:
        """Stop the reader before closing its socket: a socket closed under a thread about
        to read it lets that thread read whatever next gets the same descriptor number (an
        event loop's wake-up pipe, say), which hangs another test."""
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as out:
            out.sendto(_STOP, ("127.0.0.1", self.port))
        self._thread.join(timeout=10)
        self.sock.close()


@dataclass
class Point:
    """One data point: its metric's name and kind (sum, gauge, histogram), its attributes,
    and its value (a histogram's: its count and sum)."""

    name: str
    kind: str
    attributes: dict[str, str]
    value: float
    total: float = 0.0
    monotonic: bool = False
    unit: str = ""


@dataclass
class OtlpReceiver:
    server: ThreadingHTTPServer
    requests: list[Any] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def points(self) -> list[Point]:
        found = []
        with self.changed:
            requests = list(self.requests)
        for request in requests:
            for resource in request.resource_metrics:
                for scope in resource.scope_metrics:
                    for metric in scope.metrics:
                        found += _points(metric)
        return found

    def resources(self) -> list[dict[str, str]]:
        with self.changed:
            requests = list(self.requests)
        return [
            {a.key: a.value.string_value for a in r.resource.attributes}
            for request in requests
            for r in request.resource_metrics
        ]

    def wait_for(self, condition: Callable[[], bool], timeout: float = 30) -> bool:
        with self.changed:
            return self.changed.wait_for(condition, timeout)


def _attributes(point: Any) -> dict[str, str]:
    return {a.key: a.value.string_value for a in point.attributes}


def _points(metric: Any) -> list[Point]:
    kind = metric.WhichOneof("data")
    if kind == "sum":
        return [
            Point(
                metric.name,
                "sum",
                _attributes(p),
                p.as_int if p.HasField("as_int") else p.as_double,
                monotonic=metric.sum.is_monotonic,
            )
            for p in metric.sum.data_points
        ]
    if kind == "gauge":
        return [
            Point(
                metric.name,
                "gauge",
                _attributes(p),
                p.as_int if p.HasField("as_int") else p.as_double,
            )
            for p in metric.gauge.data_points
        ]
    if kind == "histogram":
        return [
            Point(metric.name, "histogram", _attributes(p), p.count, p.sum, unit=metric.unit)
            for p in metric.histogram.data_points
        ]
    return []


def otlp_receiver() -> OtlpReceiver:
    pb = pytest.importorskip("opentelemetry.proto.collector.metrics.v1.metrics_service_pb2")
    holder: list[OtlpReceiver] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            request = pb.ExportMetricsServiceRequest()
            request.ParseFromString(body)
            receiver = holder[0]
            with receiver.changed:
                receiver.requests.append(request)
                receiver.changed.notify_all()
            answer = pb.ExportMetricsServiceResponse().SerializeToString()
            self.send_response(200 if self.path == "/v1/metrics" else 404)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    holder.append(OtlpReceiver(server))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return holder[0]


@pytest.fixture(name="statsd_listener")
def statsd_listener_fixture() -> Iterator[StatsdListener]:
    listener = StatsdListener()
    yield listener
    listener.close()


@pytest.fixture(name="otlp")
def otlp_fixture() -> Iterator[OtlpReceiver]:
    receiver = otlp_receiver()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
