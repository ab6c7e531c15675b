"""``POST /auth/token``: a username and password in, a bearer token out."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from tradewind.api import audit, logins
from tradewind.api.deps import DbSession, Web, WebState
from tradewind.api.errors import ErrorBody
from tradewind.api.routes.fields import RequestBody
from tradewind.api.security import Principal, Role
from tradewind.metastore.store import users as user_store
from tradewind.metastore.types import utcnow

router = APIRouter(tags=["auth"])


class Credentials(RequestBody):
    username: str = Field(min_length=1, max_length=250)
    password: str = Field(min_length=1, max_length=1000)


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int  # seconds


def check_login(
    request: Request, session: Session, web: WebState, *, username: str, password: str, via: str
) -> logins.Account:
    """The account for these credentials (its last login noted, audited), or a 401 (a 429
    while locked out after too many failures)."""
    account = logins.authenticate(
        request, session, web, username=username, password=password, via=via
    )
    who = Principal(account.username, Role.parse(account.role), "password")
    user_store.note_login(session, account.username, utcnow())
    audit.record(
        session, who, "login", extra={"via": via, "address": logins.client_address(request)}
    )
    session.commit()
    return account


@router.post(
    "/auth/token",
    response_model=Token,
    responses={401: {"model": ErrorBody, "description": "Wrong username or password"}},
)
def create_token(credentials: Credentials, request: Request, session: DbSession, web: Web) -> Token:
    """Exchange a username and password for a bearer token (``Authorization: Bearer ...``)."""
    account = check_login(
        request,
        session,
        web,
        username=credentials.username,
        password=credentials.password,
        via="token",
    )
    lifetime = web.settings.webserver.token_lifetime_minutes * 60
    token = web.signer.token(account.username, account.token_stamp)
    return Token(access_token=token, expires_in=lifetime)
