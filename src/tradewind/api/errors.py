"""Every error the API answers is JSON: ``{"status": 404, "title": "Not Found", "detail": "..."}``.

Bad input is a 4xx with a message that says what is wrong; the library's expected errors map to
4xx here, so a route can let them rise.
"""

from __future__ import annotations

import logging
import threading
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy import event
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tradewind.exceptions import TradewindError
from tradewind.metastore import crypto, outage

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An error answered as JSON with ``status``; raise it from routes and helpers."""

    def __init__(self, status: int, detail: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.headers = headers


def not_found(detail: str) -> ApiError:
    return ApiError(404, detail)


def bad_request(detail: str) -> ApiError:
    return ApiError(400, detail)


def conflict(detail: str) -> ApiError:
    return ApiError(409, detail)


def body(status: int, detail: str) -> dict[str, Any]:
    return {"status": status, "title": HTTPStatus(status).phrase, "detail": detail}


def json_error(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body(status, detail), status_code=status, headers=headers)


def describe_validation(exc: RequestValidationError) -> str:
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        problems.append(f"{where}: {message}" if where else message)
    return "; ".join(problems) or "invalid request"


def install(app: FastAPI) -> None:
    """Register the JSON error handlers on ``app``."""

    async def api_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ApiError)
        return json_error(exc.status, exc.detail, exc.headers)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        return json_error(exc.status_code, detail, getattr(exc, "headers", None))

    async def validation_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        return json_error(400, describe_validation(exc))

    async def unreadable(request: Request, exc: Exception) -> Response:
        # A stored secret that this installation's key cannot decrypt: a conflict of state.
        return json_error(409, f"{exc} (is core.fernet_key the key it was encrypted with?)")

    async def library_error(request: Request, exc: Exception) -> Response:
        # The library raises TradewindError for requests it cannot honour as asked.
        return json_error(400, str(exc))

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(crypto.CryptoError, unreadable)
    app.add_exception_handler(TradewindError, library_error)


METASTORE_AWAY = (
    "the metastore (tradewind's database) cannot be reached at the moment; "
    "nothing was changed, try again shortly"
)
# What a client is told to wait before it asks again (503's Retry-After).
RETRY_AFTER = "5"


def ride_out_outages(app: FastAPI, engine: Engine) -> outage.Outage:
    """While the metastore is away, a request that needs it answers 503 with a message (the
    web server logs one line when it is lost and one when it is back); the first request after
    it answers again works as before. Any other database error is a bug and rises (500).
    Returns the web server's view of the metastore, for :func:`look_at_start`."""
    away = outage.Outage("the web server", log, meanwhile="requests that need it answer 503")
    if engine.dialect.name != "sqlite":
        # A connection handed out (after its pre-ping) means the database answers again.
        event.listen(engine, "checkout", lambda *_: away.back())

    async def metastore_away(request: Request, exc: Exception) -> Response:
        if not outage.is_outage(exc):
            raise exc
        away.lost(exc)
        return json_error(503, METASTORE_AWAY, {"Retry-After": RETRY_AFTER})

    app.add_exception_handler(sa_exc.DBAPIError, metastore_away)
    app.add_exception_handler(sa_exc.TimeoutError, metastore_away)
    app.add_middleware(OutageAfterResponse, away=away)
    return away


def look_at_start(engine: Engine, away: outage.Outage) -> None:
    """As the web server starts: if the metastore cannot be reached, say so once (the server
    starts all the same, and answers 503 until it can). In a thread: connecting to a server
    that does not answer takes up to ``database.connect_timeout``."""

    def look() -> None:
        try:
            error = outage.unreachable(engine)
        except Exception:  # refused credentials, a bug: the first request says which
            return
        if error is not None:
            away.lost(error, starting=True)

    threading.Thread(target=look, name="metastore-at-start", daemon=True).start()


class OutageAfterResponse:
    """A request's session is closed after its response was sent: a lost connection found
    then is part of the outage (noted, not a traceback); the client has its answer."""

    def __init__(self, app: ASGIApp, away: outage.Outage) -> None:
        self.app = app
        self.away = away

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception as exc:
            # Starlette wraps an error its handlers cannot answer any more in a RuntimeError.
            cause = exc.__cause__ if isinstance(exc, RuntimeError) else exc
            if not started or cause is None or not outage.is_outage(cause):
                raise
            self.away.lost(cause)


class ErrorBody(BaseModel):
    """What every error answers."""

    status: int
    title: str
    detail: str
