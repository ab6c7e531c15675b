"""Size limits in the web server: request bodies (``webserver.max_request_body_mb``), and 413
answers for values over the limits of :mod:`tradewind.limits` (run conf, variable values).

:class:`BodyLimit` is an ASGI middleware: a request whose Content-Length is over the limit is
refused at once, unread; a body sent without one (chunked) is counted as it is read and refused
as soon as it passes the limit, so a 200 MB upload never sits in memory.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tradewind import limits
from tradewind.api.errors import json_error
from tradewind.settings import Settings

SETTING = "webserver.max_request_body_mb"
STATUS = 413


class BodyTooLarge(HTTPException):
    """Raised while reading a body that passes the limit: the routes' error handler answers it
    as any HTTP error, with the status and message it carries."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(STATUS, refusal(max_bytes), headers={"Connection": "close"})


def refusal(max_bytes: int) -> str:
    return f"the request body is larger than {limits.describe(max_bytes)} ({SETTING})"


class BodyLimit:
    """Refuses request bodies over ``max_bytes`` with a JSON 413 that names the limit."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            # Read outside a route (whose error handler would have answered): answer here.
            if started:
                raise
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = json_error(STATUS, refusal(self.max_bytes), {"Connection": "close"})
        await response(scope, receive, send)


def install(app: FastAPI, settings: Settings) -> None:
    """Limit request bodies, and answer a value over its limit with 413."""

    async def too_large(request: Request, exc: Exception) -> Response:
        return json_error(STATUS, str(exc))

    app.add_exception_handler(limits.TooLarge, too_large)
    max_bytes = limits.to_bytes(settings.webserver.max_request_body_mb)
    app.add_middleware(BodyLimit, max_bytes=max_bytes)


def document(openapi: dict[str, Any]) -> None:
    """Add the 413 answer to every operation of ``openapi`` that takes a request body."""
    answer = {
        "description": "Content too large: the body, or a value in it, is over its size limit "
        "(the message names the setting)",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    }
    for operations in openapi.get("paths", {}).values():
        for operation in operations.values():
            if "requestBody" in operation:
                operation.setdefault("responses", {}).setdefault(str(STATUS), answer)
