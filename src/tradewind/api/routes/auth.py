"""``POST /auth/token``: a username and password in, a bearer token out."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel, Field

from tradewind.api import audit
from tradewind.api.deps import DbSession, Web, find_account
from tradewind.api.errors import ApiError
from tradewind.api.security import Principal, Role
from tradewind.metastore.store import users as user_store
from tradewind.metastore.types import utcnow

router = APIRouter(tags=["auth"])


class Credentials(BaseModel):
    username: str = Field(min_length=1, max_length=250)
    password: str = Field(min_length=1, max_length=1000)


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int  # seconds


def check_login(session: DbSession, web: Web, username: str, password: str) -> Principal:
    """The account for these credentials (its last login noted, audited), or a 401."""
    account = find_account(session, username)
    if account is None or not web.passwords.verify(username, password, account.password_hash):
        raise ApiError(401, "wrong username or password")
    if not account.active:
        raise ApiError(401, f"user {username!r} is deactivated")
    who = Principal(account.username, Role.parse(account.role), "password")
    user_store.note_login(session, account.username, utcnow())
    audit.record(session, who, "login")
    session.commit()
    return who


@router.post(
    "/auth/token",
    response_model=Token,
    responses={401: {"description": "Wrong username or password"}},
)
def create_token(credentials: Credentials, session: DbSession, web: Web) -> Token:
    """Exchange a username and password for a bearer token (``Authorization: Bearer ...``)."""
    who = check_login(session, web, credentials.username, credentials.password)
    assert who.username is not None
    lifetime = web.settings.webserver.token_lifetime_minutes * 60
    return Token(access_token=web.signer.token(who.username), expires_in=lifetime)
