"""The interactive API docs (Swagger UI) at /api/v1/docs, served whole from this machine (an
air-gapped network gets them too): Swagger UI's script and styles come from the
``fastapi-offline`` package (made to serve FastAPI's docs without a CDN), and the page's one
inline script (which starts it) runs by a nonce that is new on each request, under a
Content-Security-Policy of the page's own."""

from __future__ import annotations

import secrets
from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, PlainTextResponse, Response

from tradewind.api.headers import COMMON_DIRECTIVES

SWAGGER_UI = Path(fastapi_offline.__file__).parent / "static"
# The files of Swagger UI the page loads (nothing else of the package is served).
ASSETS = {"swagger-ui-bundle.js": "text/javascript", "swagger-ui.css": "text/css"}


def policy(nonce: str) -> str:
    return (
        f"default-src 'self'; script-src 'nonce-{nonce}' 'self'; "
        f"style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
        f"{COMMON_DIRECTIVES}"
    )


def install(app: FastAPI, path: str) -> None:
    """Serve the docs of ``app``'s OpenAPI document at ``path`` and Swagger UI's files under
    ``path/assets/`` (create ``app`` with ``docs_url=None`` so that FastAPI does not serve its
    own)."""

    async def docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        page = get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - API docs",
            swagger_js_url=f"{root}{path}/assets/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{path}/assets/swagger-ui.css",
            swagger_favicon_url=f"{root}/static/logo.svg",
        )
        nonce = secrets.token_urlsafe(16)
        html = bytes(page.body).decode().replace("<script>", f'<script nonce="{nonce}">')
        return HTMLResponse(html, headers={"Content-Security-Policy": policy(nonce)})

    async def asset(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in ASSETS:
            return PlainTextResponse("no such file of the API docs", status_code=404)
        return FileResponse(
            SWAGGER_UI / name,
            media_type=ASSETS[name],
            headers={"Cache-Control": "public, max-age=86400"},
        )

    app.add_route(path, docs, include_in_schema=False)
    app.add_route(f"{path}/assets/{{name}}", asset, include_in_schema=False)
