"""Logging in and out of the UI.

The login form is protected against login CSRF with a double-submit token: ``GET /login``
sets a random token in a cookie and in the form; ``POST /login`` accepts the form only when
both agree. A successful login sets the signed session cookie, which carries the user name, the
user's session stamp and the CSRF token that pages send back in the ``X-CSRF-Token`` header of
their writes. Logging out gives the user a new session stamp, which ends the cookie (and any
copy of it) and the user's other sessions; API tokens stay valid.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tradewind.api import audit
from tradewind.api.deps import SESSION_COOKIE, DbSession, Web, WebState, identify
from tradewind.api.errors import ApiError
from tradewind.api.logins import find_account, same_stamp
from tradewind.api.routes.auth import check_login
from tradewind.api.security import Principal, Role, new_csrf_token, same_token
from tradewind.metastore.store import users as user_store
from tradewind.ui.pages import render, safe_next

router = APIRouter()

LOGIN_CSRF_COOKIE = "tradewind_login_csrf"


def _secure(request: Request, web: WebState) -> bool:
    """Whether cookies get the Secure flag: ``webserver.cookie_secure`` (TLS ended by a proxy
    in front), or a request that came over https."""
    return web.settings.webserver.cookie_secure or request.url.scheme == "https"


def _login_form(
    request: Request,
    web: WebState,
    target: str,
    message: str | None = None,
    username: str = "",
    *,
    status: int = 401,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    token = new_csrf_token()
    response = render(
        request,
        "login.html",
        None,
        status if message else 200,
        next=target,
        login_csrf=token,
        message=message,
        username=username,
    )
    response.headers.update(headers or {})
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        max_age=3600,
        httponly=True,
        samesite="lax",
        secure=_secure(request, web),
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
    return _login_form(request, web, target)


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
        message = "The login form expired; please try again."
        return _login_form(request, web, target, message, username)
    if not username or not password:
        return _login_form(request, web, target, "Enter your user name and password.", username)
    try:
        account = check_login(
            request, session, web, username=username, password=password, via="form"
        )
    except ApiError as exc:
        message = exc.detail[:1].upper() + exc.detail[1:] + "."
        return _login_form(
            request, web, target, message, username, status=exc.status, headers=exc.headers
        )
    response = RedirectResponse(target, status_code=303)
    settings = web.settings.webserver
    response.set_cookie(
        SESSION_COOKIE,
        web.signer.session(account.username, new_csrf_token(), account.session_stamp),
        max_age=settings.session_lifetime_minutes * 60,
        httponly=True,
        samesite="lax",
        secure=_secure(request, web),
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
    claims = web.signer.session_claims(cookie, lifetime) if cookie else None
    if claims is not None:
        if not same_token(csrf_token, claims.csrf):
            raise ApiError(403, "the CSRF token is missing or wrong")
        account = find_account(session, claims.username)
        if account is not None and same_stamp(claims.stamp, account.session_stamp):
            # A new session stamp ends this cookie (and every other session of the user)
            # even if someone kept a copy of it.
            user_store.end_sessions(session, account.username)
            who = Principal(account.username, Role.parse(account.role), "session")
            audit.record(session, who, "logout")
            session.commit()
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/")
def home() -> Response:
    return RedirectResponse("/dags", status_code=303)
