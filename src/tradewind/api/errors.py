"""Every error the API answers is JSON: ``{"status": 404, "title": "Not Found", "detail": "..."}``.

Bad input is a 4xx with a message that says what is wrong; the library's expected errors map to
4xx here, so a route can let them rise.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from tradewind.exceptions import TradewindError
from tradewind.metastore import crypto

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


class ErrorBody(BaseModel):
    """What every error answers."""

    status: int
    title: str
    detail: str
