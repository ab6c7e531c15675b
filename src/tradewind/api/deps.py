"""What routes depend on: the web server's shared state, a database session per request, the
caller (with role checks and CSRF), and pagination.

Routes take these through ``Annotated`` aliases, e.g. ``session: DbSession, who: AsUser``.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Query, Request
from sqlalchemy.orm import Session, sessionmaker

from tradewind.api import logins
from tradewind.api.errors import ApiError
from tradewind.api.logins import Account, find_account, same_stamp
from tradewind.api.security import PasswordChecks, Principal, Role, Signer, same_token
from tradewind.metastore import crypto
from tradewind.settings import Settings

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SESSION_COOKIE = "tradewind_session"
CSRF_HEADER = "X-CSRF-Token"


@dataclass(frozen=True)
class WebState:
    """Everything the web server shares between requests (``app.state.web``)."""

    settings: Settings
    reads: sessionmaker[Session]  # read-only transactions (no write lock on SQLite)
    writes: sessionmaker[Session]
    signer: Signer
    passwords: PasswordChecks
    cipher: crypto.Cipher


def web_state(request: Request) -> WebState:
    state: WebState = request.app.state.web
    return state


Web = Annotated[WebState, Depends(web_state)]


def db_session(request: Request, web: Web) -> Iterator[Session]:
    """A session for this request: read-only for GET; a write commits when the route says so."""
    maker = web.reads if request.method in SAFE_METHODS else web.writes
    with maker() as session:
        yield session


DbSession = Annotated[Session, Depends(db_session)]


def _account_principal(account: Account | None, via: str) -> Principal | None:
    if account is None or not account.active:
        return None
    return Principal(account.username, Role.parse(account.role), via)


def _challenge(web: WebState) -> dict[str, str]:
    schemes = 'Bearer realm="tradewind"'
    if web.settings.webserver.basic_auth:
        schemes += ', Basic realm="tradewind"'
    return {"WWW-Authenticate": schemes}


def identify(request: Request, session: Session, web: WebState) -> Principal | None:
    """The caller of ``request``, or None when it brings no credentials (and none are needed
    for the public role). Wrong credentials are a 401; a session without its CSRF token on a
    state-changing request is a 403."""
    settings = web.settings.webserver
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    scheme = scheme.lower()
    if scheme == "bearer":
        return _token(value.strip(), session, web)
    if scheme == "basic" and settings.basic_auth:
        return _basic(value.strip(), request, session, web)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        found = _session(request, cookie, session, web)
        if found is not None:
            return found
    if settings.public_role:
        return Principal(None, Role.parse(settings.public_role), "public")
    return None


def _token(token: str, session: Session, web: WebState) -> Principal:
    claims = web.signer.token_claims(token, web.settings.webserver.token_lifetime_minutes * 60)
    account = find_account(session, claims.username) if claims else None
    if claims is None or account is None or not same_stamp(claims.stamp, account.token_stamp):
        account = None  # expired, or ended (new password, the user deleted or made again)
    found = _account_principal(account, "token")
    if found is None:
        raise ApiError(401, "the token is invalid or expired", headers=_challenge(web))
    return found


def _session(request: Request, cookie: str, session: Session, web: WebState) -> Principal | None:
    lifetime = web.settings.webserver.session_lifetime_minutes * 60
    claims = web.signer.session_claims(cookie, lifetime)
    account = find_account(session, claims.username) if claims else None
    if claims is None or account is None or not same_stamp(claims.stamp, account.session_stamp):
        return None  # ended (logged out, new password) or expired: as if there were none
    found = _account_principal(account, "session")
    if found is None:
        return None
    request.state.csrf_token = claims.csrf
    if request.method not in SAFE_METHODS and not same_token(
        request.headers.get(CSRF_HEADER), claims.csrf
    ):
        raise ApiError(403, f"the {CSRF_HEADER} header is missing or wrong")
    return found


def _basic(value: str, request: Request, session: Session, web: WebState) -> Principal:
    try:
        decoded = base64.b64decode(value, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise ApiError(401, "malformed basic credentials", headers=_challenge(web)) from None
    username, sep, password = decoded.partition(":")
    if not sep:
        raise ApiError(401, "malformed basic credentials", headers=_challenge(web))
    account = logins.authenticate(
        request,
        session,
        web,
        username=username,
        password=password,
        via="basic",
        challenge=_challenge(web),
    )
    return Principal(account.username, Role.parse(account.role), "basic")


def require(role: Role) -> Callable[..., Principal]:
    """A dependency: the caller, who must hold ``role`` or a higher one."""

    def check(request: Request, session: DbSession, web: Web) -> Principal:
        who = identify(request, session, web)
        if who is None:
            raise ApiError(401, "authentication required", headers=_challenge(web))
        if not who.can(role):
            raise ApiError(
                403, f"this needs the {role.label} role or higher; you are {who.role.label}"
            )
        return who

    return check


AsViewer = Annotated[Principal, Depends(require(Role.VIEWER))]
AsUser = Annotated[Principal, Depends(require(Role.USER))]
AsOp = Annotated[Principal, Depends(require(Role.OP))]
AsAdmin = Annotated[Principal, Depends(require(Role.ADMIN))]


# Far beyond any real list, and within every database's integer range.
MAX_OFFSET = 2**31 - 1


@dataclass(frozen=True)
class Page:
    limit: int
    offset: int


def page(
    limit: Annotated[int, Query(ge=1, le=1000, description="At most this many items.")] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Skip this many items.")] = 0,
) -> Page:
    return Page(limit, offset)


Paged = Annotated[Page, Depends(page)]
