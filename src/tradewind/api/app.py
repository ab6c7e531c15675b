"""The REST API's ASGI app: the resources under /api/v1, ``POST /auth/token``, health and
metrics, with the middleware every request passes through.

``create_api(settings)`` builds it; the web server's whole app (this with the UI pages mounted
on it) is :func:`tradewind.ui.app.create_app`.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tradewind.api import docs, errors, headers, limits, query, text, unrouted
from tradewind.api.deps import WebState
from tradewind.api.routes import (
    assets,
    audit,
    auth,
    dags,
    deadlines,
    deps,
    logs,
    mapped,
    meta,
    metrics,
    monitor,
    rendered,
    resources,
    runs,
    tasks,
    users,
    xcom,
)
from tradewind.api.security import PasswordChecks, Signer
from tradewind.exceptions import TradewindError
from tradewind.metastore import crypto
from tradewind.metastore import engine as engine_module
from tradewind.settings import Settings
from tradewind.version import __version__

API_PREFIX = "/api/v1"
# The routers served under /api/v1, in the order they are matched.
API_ROUTERS = (
    monitor.router,
    deps.router,
    dags.router,
    meta.router,
    runs.router,
    tasks.router,
    rendered.router,
    deadlines.router,
    logs.router,
    xcom.router,
    mapped.router,
    assets.router,
    resources.router,
    users.router,
    audit.router,
)


class WebserverError(TradewindError):
    """The web server cannot start as configured."""


def create_api(settings: Settings) -> FastAPI:
    if not settings.webserver.secret_key:
        raise WebserverError(
            "webserver.secret_key is empty; `tradewind webserver` and `tradewind standalone` "
            "generate one into tradewind.toml"
        )
    engine = engine_module.create_engine(settings.database)
    reads = engine_module.session_factory(
        engine.execution_options(**{engine_module.READ_ONLY: True})
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        errors.look_at_start(engine, away)
        yield
        engine.dispose()

    app = FastAPI(
        title="tradewind",
        version=__version__,
        description="The REST API of tradewind: DAGs, runs, task instances, logs and more.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,  # served by tradewind.api.docs, with its own CSP
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.web = WebState(
        settings=settings,
        reads=reads,
        writes=engine_module.session_factory(engine),
        signer=Signer(settings.webserver.secret_key),
        passwords=PasswordChecks(),
        cipher=crypto.Cipher(settings.core.fernet_key),
    )
    errors.install(app)
    unrouted.install(app, API_PREFIX)
    text.install(app)
    away = errors.ride_out_outages(app, engine)
    app.add_middleware(ServerTiming)
    limits.install(app, settings)
    app.add_middleware(headers.SecurityHeaders)
    docs.install(app, f"{API_PREFIX}/docs")
    # Every route refuses text no database can store (NUL, lone surrogates) with a 400, and a
    # query parameter that takes one value given several times.
    checked = [text.CHECKED, query.ONCE]
    api = APIRouter(prefix=API_PREFIX, responses=_ERROR_RESPONSES, dependencies=checked)
    for router in API_ROUTERS:
        api.include_router(router)
    app.include_router(api)
    app.include_router(metrics.router, responses=_ERROR_RESPONSES, dependencies=checked)
    app.add_api_route("/health", monitor.health, include_in_schema=False)
    app.include_router(auth.router, responses=_ERROR_RESPONSES, dependencies=checked)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


class ServerTiming:
    """Adds ``Server-Timing: app;dur=<ms>`` to every response: the time the app took, as a
    browser's network panel shows it (and as the benchmark reads it)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()

        async def timed(message: Message) -> None:
            if message["type"] == "http.response.start":
                took = (time.perf_counter() - started) * 1000
                headers = list(message.get("headers", []))
                headers.append((b"server-timing", f"app;dur={took:.1f}".encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, timed)


_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": errors.ErrorBody, "description": text}
    for code, text in (
        (
            400,
            "Bad request: the message says what is wrong (text anywhere in a request must not "
            "hold NUL characters or lone surrogates)",
        ),
        (401, "No or wrong credentials"),
        (403, "The caller's role does not allow this"),
        (404, "Not found"),
        (429, "Too many failed logins of this user or from this address (see Retry-After)"),
        (503, "The metastore cannot be reached at the moment; try again shortly"),
    )
}
_ERROR_RESPONSES[401]["headers"] = {
    "WWW-Authenticate": {"description": "The schemes to log in with", "schema": {"type": "string"}}
}
_ERROR_RESPONSES[429]["headers"] = {
    "Retry-After": {
        "description": "Seconds until logins are taken again",
        "schema": {"type": "string"},
    }
}
# The operations open to everyone, and the error answers they cannot give.
_NO_LOGIN = ("401", "403", "429")
# Paths that need no login, and the answers they cannot give: no auth errors, and no 503 from
# health (it reports the metastore's outage in its body) and version (it never reads it).
_PUBLIC = {
    "/auth/token": ("403",),
    f"{API_PREFIX}/health": (*_NO_LOGIN, "503"),
    f"{API_PREFIX}/version": (*_NO_LOGIN, "503"),
}


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI document, with the auth schemes and without FastAPI's 422 (errors are 400);
    404 only where a path (or a route's own entry) names something, no auth errors where no
    login is needed."""
    if app.openapi_schema:
        return app.openapi_schema
    document = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes
    )
    components = document.setdefault("components", {})
    components["securitySchemes"] = {
        "bearer": {"type": "http", "scheme": "bearer"},
        "basic": {"type": "http", "scheme": "basic"},
    }
    schemas = components.get("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    for path, operations in document.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.get("responses", {})
            # A 404 a route documents itself (with its own description) is one it can give.
            named = "{" in path or responses.get("404", {}).get("description") != "Not found"
            cannot = ("422", *_PUBLIC.get(path, ()), *(() if named else ("404",)))
            for code in cannot:
                responses.pop(code, None)
            if path not in _PUBLIC:
                operation["security"] = [{"bearer": []}, {"basic": []}]
    limits.document(document)
    text.document(document)
    app.openapi_schema = document
    return document
