"""Logging in and out of the UI.

The login form is protected against login CSRF with a double-submit token: ``GET /login``
sets a random token in a cookie and in the form; ``POST /login`` accepts the form only when
both agree. A successful login sets the signed session cookie, which carries the user name
and the CSRF token that pages send back in the ``X-CSRF-Token`` header of their writes.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tradewind.api import audit
from tradewind.api.deps import SESSION_COOKIE, DbSession, Web, find_account, identify
from tradewind.api.errors import ApiError
from tradewind.api.routes.auth import check_login
from tradewind.api.security import Principal, Role, new_csrf_token, same_token
from tradewind.ui.pages import render, safe_next

router = APIRouter()

LOGIN_CSRF_COOKIE = "tradewind_login_csrf"


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


def _login_form(
    request: Request, target: str, message: str | None = None, username: str = ""
) -> HTMLResponse:
    token = new_csrf_token()
    response = render(
        request,
        "login.html",
        None,
        401 if message else 200,
        next=target,
        login_csrf=token,
        message=message,
        username=username,
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        path="/login",
    )
    return response


@router.get("/login")
def login_page(request: Request, session: DbSession, web: Web, next: str = "") -> Response:
    target = safe_next(next)
    try:
        who = identify(request, session, web)
    except ApiError:
        who = None
    if who is not None and who.username is not None:
        return RedirectResponse(target, status_code=303)
    return _login_form(request, target)


FormText = Annotated[str, Form(max_length=1000)]


@router.post("/login")
def login(
    request: Request,
    *,
    session: DbSession,
    web: Web,
    username: FormText = "",
    password: FormText = "",
    next: FormText = "",
    csrf_token: FormText = "",
) -> Response:
    # A plain (not async) route: the password check is slow on purpose and must not hold up
    # the event loop; FastAPI runs it in its thread pool.
    username = username.strip()
    target = safe_next(next)
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE)
    if not cookie or not same_token(csrf_token, cookie):
        return _login_form(request, target, "The login form expired; please try again.", username)
    if not username or not password:
        return _login_form(request, target, "Enter your user name and password.", username)
    try:
        who = check_login(session, web, username, password)
    except ApiError as exc:
        return _login_form(request, target, exc.detail.capitalize() + ".", username)
    assert who.username is not None
    response = RedirectResponse(target, status_code=303)
    settings = web.settings.webserver
    response.set_cookie(
        SESSION_COOKIE,
        web.signer.session(who.username, new_csrf_token()),
        max_age=settings.session_lifetime_minutes * 60,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        path="/",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(
    request: Request, *, session: DbSession, web: Web, csrf_token: FormText = ""
) -> Response:
    cookie = request.cookies.get(SESSION_COOKIE)
    lifetime = web.settings.webserver.session_lifetime_minutes * 60
    data = web.signer.session_data(cookie, lifetime) if cookie else None
    if data is not None:
        if not same_token(csrf_token, data[1]):
            raise ApiError(403, "the CSRF token is missing or wrong")
        account = find_account(session, data[0])
        if account is not None:
            who = Principal(account.username, Role.parse(account.role), "session")
            audit.record(session, who, "logout")
            session.commit()
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/")
def home() -> Response:
    return RedirectResponse("/dags", status_code=303)
