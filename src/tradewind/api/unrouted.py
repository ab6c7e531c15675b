"""What the API answers a request that no route takes as it came.

- A method the path does not take: 405 with an ``Allow`` header naming every method the path
  takes (RFC 9110). Starlette's router stops at the first route whose path matches, so its own
  405 names only that route's methods (``Allow: GET`` for ``PUT /api/v1/pools``, which takes
  ``POST`` too).
- An API path with a trailing slash: 404, not Starlette's redirect to the path without it,
  which sent ``GET /api/v1/variables/%2F`` (a variable named ``/``) to the list of variables.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.routing import Match
from starlette.types import ASGIApp, Receive, Scope, Send

from tradewind.api.errors import json_error

# The methods a route of ours may take (an Allow header lists those of them the path takes).
METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")


def allowed(request: Request) -> list[str]:
    """The methods that some route of the app takes at the request's path (asked of each route
    as the router asks it, so routers included in routers answer too).

    A path the document has as it is (``/connections/test``) is its own resource: the methods
    of a path with parameters that it also fits (``/connections/{connection_id}``) are not
    its own."""
    documented = _documented(request)
    if documented is not None:
        return documented
    routes = request.app.router.routes
    return [
        method
        for method in METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes
        )
    ]


class NoSlashRedirect:
    """Answers 404 for a path under ``prefix`` that ends with a slash."""

    def __init__(self, app: ASGIApp, prefix: str) -> None:
        self.app = app
        self.prefix = prefix.rstrip("/") + "/"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if path.startswith(self.prefix) and path.endswith("/"):
            answer = json_error(404, "no API resource has this path (API paths end without '/')")
            await answer(scope, receive, send)
            return
        await self.app(scope, receive, send)


def install(app: FastAPI, prefix: str) -> None:
    """405 answers with the whole ``Allow``; no redirects for paths under ``prefix``."""

    async def not_allowed(request: Request, exc: Exception) -> Response:
        methods = ", ".join(allowed(request))
        detail = f"{request.method} is not allowed here; this path takes {methods}"
        return json_error(405, detail, {"Allow": methods})

    app.add_exception_handler(405, not_allowed)
    app.add_middleware(NoSlashRedirect, prefix=prefix)


def _documented(request: Request) -> list[str] | None:
    """The methods of the request's path as the OpenAPI document has them (those of the
    paths it fits with the fewest parameters), or None when no documented path fits."""
    paths: dict[str, dict[str, Any]] = request.app.openapi().get("paths", {})
    path = request.scope.get("path", "")
    fits = [
        (template.count("{"), operations)
        for template, operations in paths.items()
        if _pattern(template).fullmatch(path)
    ]
    if not fits:
        return None
    fewest = min(count for count, _ in fits)
    methods = {name.upper() for count, ops in fits if count == fewest for name in ops}
    return [method for method in METHODS if method in methods]


@cache
def _pattern(template: str) -> re.Pattern[str]:
    """A path template of the document (``/pools/{name}``) as a pattern of paths."""
    parts = re.split(r"(\{[^}]*\})", template)
    pieces = [
        (".+" if part.endswith(":path}") else "[^/]+") if part.startswith("{") else re.escape(part)
        for part in parts
    ]
    return re.compile("".join(pieces))
