"""/users: the accounts of the UI and the API (admin role only).

A password goes in (on create and patch) and never comes out. An admin cannot delete,
demote or deactivate their own account, so an installation never locks its last admin out
by accident.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field, StringConstraints

from tradewind import passwords
from tradewind.api import audit
from tradewind.api.deps import AsAdmin, DbSession, Paged
from tradewind.api.errors import conflict, not_found
from tradewind.api.routes.fields import (
    BLANK,
    Addressable,
    IdPath,
    NoNul,
    RequestBody,
    conflict_doc,
    renamed,
    same_name,
)
from tradewind.api.security import Principal
from tradewind.metastore.models import ID_LENGTH
from tradewind.metastore.models import User as UserRow
from tradewind.metastore.store import users as user_store
from tradewind.metastore.types import utcnow

router = APIRouter(tags=["users"])

Username = Annotated[
    str,
    StringConstraints(min_length=1, max_length=ID_LENGTH, pattern=rf"^[^{BLANK}/:\x00]+$"),
    NoNul,
    Addressable,
    Field(json_schema_extra={"pattern": rf"^(?!\.\.?$)[^{BLANK}/:\x00]+$"}),
]
Password = Annotated[str, StringConstraints(min_length=1, max_length=1000), NoNul]
Email = Annotated[str, StringConstraints(max_length=320), NoNul]
# user_store.ROLES, as the document's enum (a unit test keeps the two the same).
RoleName = Literal["admin", "op", "user", "viewer"]


class User(BaseModel):
    username: str
    role: str
    email: str | None
    active: bool
    created_at: datetime
    last_login: datetime | None


class UserList(BaseModel):
    users: list[User]
    total_entries: int


class UserBody(RequestBody):
    username: Username
    password: Password
    role: RoleName
    email: Email | None = None
    active: bool = True


class UserPatch(RequestBody):
    username: Username | None = Field(default=None, description="When given, the path's.")
    password: Password | None = None
    role: RoleName | None = None
    email: Email | None = None
    active: bool | None = None


def _out(row: UserRow) -> User:
    return User(
        username=row.username,
        role=row.role,
        email=row.email,
        active=row.active,
        created_at=row.created_at,
        last_login=row.last_login,
    )


def _existing(session: DbSession, username: str) -> UserRow:
    row = user_store.get_user(session, username)
    if row is None:
        raise not_found(f"no user {username!r}")
    return row


def _not_self(who: Principal, username: str, what: str) -> None:
    if who.username == username:
        raise conflict(f"you cannot {what} your own account; ask another admin")


@router.get("/users", response_model=UserList)
def list_users(*, session: DbSession, who: AsAdmin, page: Paged) -> UserList:
    rows = user_store.list_users(session)
    shown = rows[page.offset : page.offset + page.limit]
    return UserList(users=[_out(row) for row in shown], total_entries=len(rows))


@router.get("/users/{username}", response_model=User)
def get_user(username: IdPath, *, session: DbSession, who: AsAdmin) -> User:
    return _out(_existing(session, username))


@router.post("/users", response_model=User, responses=conflict_doc("The user exists already"))
def create_user(body: UserBody, *, session: DbSession, who: AsAdmin) -> User:
    if user_store.get_user(session, body.username) is not None:
        raise conflict(f"user {body.username!r} exists already")
    try:
        row = user_store.create_user(
            session,
            username=body.username,
            password_hash=passwords.hash_password(body.password),
            role=body.role,
            email=body.email,
            now=utcnow(),
        )
    except user_store.UserError as exc:
        raise conflict(str(exc)) from None
    row.active = body.active
    audit.record(session, who, "user.create", extra={"username": body.username, "role": body.role})
    session.commit()
    return _out(_existing(session, body.username))


@router.patch(
    "/users/{username}",
    response_model=User,
    responses=conflict_doc(
        "An admin cannot demote or deactivate themselves", renamed("user", "username")
    ),
)
def patch_user(username: IdPath, body: UserPatch, *, session: DbSession, who: AsAdmin) -> User:
    """Change the fields the body has: password, role, email (null clears it), active."""
    same_name("user", "username", body.username, username)
    current = _existing(session, username)
    if body.role is not None and body.role != "admin" and current.role == "admin":
        _not_self(who, username, "demote")
    if body.active is False:
        _not_self(who, username, "deactivate")
    given = body.model_fields_set
    user_store.update_user(
        session,
        username,
        role=body.role,
        email=body.email,
        clear_email="email" in given and body.email is None,
        active=body.active,
        password_hash=passwords.hash_password(body.password) if body.password else None,
    )
    changed = sorted(given - {"username"})
    audit.record(session, who, "user.edit", extra={"username": username, "fields": changed})
    session.commit()
    session.expire_all()
    return _out(_existing(session, username))


@router.delete(
    "/users/{username}",
    status_code=204,
    response_class=Response,
    responses=conflict_doc("An admin cannot delete themselves"),
)
def delete_user(username: IdPath, *, session: DbSession, who: AsAdmin) -> Response:
    _not_self(who, username, "delete")
    if not user_store.delete_user(session, username):
        raise not_found(f"no user {username!r}")
    audit.record(session, who, "user.delete", extra={"username": username})
    session.commit()
    return Response(status_code=204)
