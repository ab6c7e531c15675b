"""The interactive API docs (Swagger UI) at /api/v1/docs, under a Content-Security-Policy of
their own: Swagger UI's script and styles come from its CDN, and the page's one inline script
(which starts it) runs by a nonce that is new on each request."""

from __future__ import annotations

import secrets

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

from tradewind.api.headers import COMMON_DIRECTIVES

CDN = "https://cdn.jsdelivr.net"
SWAGGER_JS = f"{CDN}/npm/swagger-ui-dist@5/swagger-ui-bundle.js"
SWAGGER_CSS = f"{CDN}/npm/swagger-ui-dist@5/swagger-ui.css"


def policy(nonce: str) -> str:
    return (
        f"default-src 'self'; script-src 'nonce-{nonce}' {CDN}; "
        f"style-src 'self' 'unsafe-inline' {CDN}; img-src 'self' data:; connect-src 'self'; "
        f"{COMMON_DIRECTIVES}"
    )


def install(app: FastAPI, path: str) -> None:
    """Serve the docs of ``app``'s OpenAPI document at ``path`` (create ``app`` with
    ``docs_url=None`` so that FastAPI does not serve its own)."""

    async def docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        page = get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} - API docs",
            swagger_js_url=SWAGGER_JS,
            swagger_css_url=SWAGGER_CSS,
            swagger_favicon_url=f"{root}/static/logo.svg",
        )
        nonce = secrets.token_urlsafe(16)
        html = bytes(page.body).decode().replace("<script>", f'<script nonce="{nonce}">')
        return HTMLResponse(html, headers={"Content-Security-Policy": policy(nonce)})

    app.add_route(path, docs, include_in_schema=False)
