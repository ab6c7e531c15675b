"""Real receivers of alerts, started by the tests on free localhost ports: an SMTP server
(aiosmtpd) and an HTTP endpoint. Each puts what it receives on a queue, so a test waits for a
message (``get``) rather than sleeping."""

from __future__ import annotations

import email
import email.policy
import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller
from webtest import free_port

WAIT = 60.0


@dataclass(frozen=True)
class Mail:
    sender: str
    recipients: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        # (a long subject folded after "Subject:" unfolds with a leading space)
        return str(self.message["Subject"]).strip()

    @property
    def body(self) -> str:
        part = self.message.get_body(("html", "plain"))
        assert part is not None
        return str(part.get_content())


class _Collect:
    def __init__(self, received: queue.Queue[Mail], refuse: bool) -> None:
        self.received = received
        self.refuse = refuse

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.refuse:
            return "550 5.7.1 relaying denied"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.received.put(Mail(envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 Message accepted"


@dataclass
class SmtpReceiver:
    port: int
    received: queue.Queue[Mail]

    def get(self) -> Mail:
        return self.received.get(timeout=WAIT)

    def pending(self) -> list[Mail]:
        """What arrived and was not taken yet."""
        out = []
        while not self.received.empty():
            out.append(self.received.get_nowait())
        return out


@contextmanager
def smtp_receiver(*, refuse: bool = False) -> Iterator[SmtpReceiver]:
    """An SMTP server on a free port (``refuse``: it refuses every recipient)."""
    received: queue.Queue[Mail] = queue.Queue()
    port = free_port()
    controller = Controller(_Collect(received, refuse), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpReceiver(port, received)
    finally:
        controller.stop()


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class HttpReceiver:
    url: str
    received: queue.Queue[Request]

    def get(self) -> Request:
        return self.received.get(timeout=WAIT)

    def pending(self) -> list[Request]:
        out = []
        while not self.received.empty():
            out.append(self.received.get_nowait())
        return out


@contextmanager
def http_receiver() -> Iterator[HttpReceiver]:
    """An HTTP endpoint on a free port that answers 204 to everything and keeps each request."""
    received: queue.Queue[Request] = queue.Queue()

    class Handler(BaseHTTPRequestHandler):
        def _take(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            received.put(Request(self.command, self.path, dict(self.headers.items()), body))
            self.send_response(204)
            self.end_headers()

        do_POST = do_PUT = do_GET = _take

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield HttpReceiver(f"http://127.0.0.1:{server.server_address[1]}", received)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
