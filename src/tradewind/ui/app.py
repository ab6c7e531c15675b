"""The web server's whole ASGI app: the REST API (:mod:`tradewind.api.app`) with the UI's pages
and static files mounted on it.

``create_app(settings)`` is what tests and ``tradewind webserver`` use; ``app_from_env`` lets
uvicorn's worker processes build the same app from the settings their parent passed down.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from tradewind.api import text
from tradewind.api.app import create_api
from tradewind.settings import Settings, load_settings
from tradewind.ui import (
    admin,
    assets,
    auth,
    browse,
    dag,
    dags,
    dagtabs,
    gantt,
    runs,
    task,
    trigger,
)
from tradewind.ui.pages import HERE, LoginRequired, PageError, render

# The routers that hold UI pages, in the order they are matched.
PAGE_ROUTERS = (
    auth.router,
    dags.router,
    dag.router,
    runs.router,
    dagtabs.router,
    gantt.router,
    trigger.router,
    task.router,
    admin.router,
    browse.router,
    assets.router,
)


def create_app(settings: Settings) -> FastAPI:
    """The REST API and the UI in one app."""
    app = create_api(settings)
    mount(app)
    return app


def mount(app: FastAPI) -> None:
    """Add the UI's static files, its pages, and the handlers that send a logged-out visitor to
    the login page and show a role error as a page."""
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.exception_handler(LoginRequired)
    async def _to_login(request: Request, exc: LoginRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)

    @app.exception_handler(PageError)
    async def _page_error(request: Request, exc: PageError) -> Response:
        who = getattr(request.state, "who", None)
        return render(request, "error.html", who, exc.status, title=exc.title, message=exc.message)

    for router in PAGE_ROUTERS:
        app.include_router(router, include_in_schema=False, dependencies=[text.CHECKED])


def app_from_env() -> FastAPI:
    """The app for a uvicorn worker: settings from the environment the parent set."""
    return create_app(load_settings())
