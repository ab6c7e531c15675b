"""Real receivers of alerts, started by the tests on free localhost ports: an SMTP server
(aiosmtpd) and an HTTP endpoint. Each puts what it receives on a queue, so a test waits for a
message (``get``) rather than sleeping."""

from __future__ import annotations

import email
import email.policy
import ipaddress
import queue
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
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


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key (PEM files in ``folder``)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@contextmanager
def smtp_receiver(
    *, refuse: bool = False, tls: str = "", cert: tuple[Path, Path] | None = None
) -> Iterator[SmtpReceiver]:
    """An SMTP server on a free port (``refuse``: it refuses every recipient; ``tls``:
    "starttls", required before mail, or "ssl", TLS from the first byte, with ``cert``)."""
    received: queue.Queue[Mail] = queue.Queue()
    port = free_port()
    options: dict[str, Any] = {}
    if tls:
        assert cert is not None
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(*cert)
        if tls == "ssl":
            options["ssl_context"] = context
        else:
            options.update(tls_context=context, require_starttls=True)
    controller = Controller(_Collect(received, refuse), hostname="127.0.0.1", port=port, **options)
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
