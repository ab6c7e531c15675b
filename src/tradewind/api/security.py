"""Who is asking and what they may do: roles, signed tokens, password checks, CSRF tokens.

Roles keep Airflow's meanings and form a ladder: a viewer reads; a user also triggers, clears,
marks and pauses; an op also manages variables, connections and pools; an admin also manages
users. Tokens (API bearer tokens and the UI's session cookie) are signed with
``webserver.secret_key`` and name the user and the user's credential stamp; the user's role
and stamps are read from the metastore on each request, so a deleted or demoted user loses
access at once, and a changed password (or a logout, for sessions) ends the credentials made
before.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from tradewind import passwords


class Role(enum.IntEnum):
    VIEWER = 1
    USER = 2
    OP = 3
    ADMIN = 4

    @classmethod
    def parse(cls, name: str) -> Role:
        return cls[name.upper()]

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class Principal:
    """The caller of one request."""

    username: str | None  # None: not logged in (only when webserver.public_role is set)
    role: Role
    via: str  # "session", "token", "basic" or "public"

    def can(self, needed: Role) -> bool:
        return self.role >= needed


TOKEN_SALT = "tradewind.api-token"
SESSION_SALT = "tradewind.session"


@dataclass(frozen=True)
class Claims:
    """What a valid token or session cookie says: whose it is, the user's credential stamp
    when it was made, and (sessions only) the CSRF token of the session."""

    username: str
    stamp: str
    csrf: str = ""


class Signer:
    """Signs and checks the API tokens and the session cookie's content."""

    def __init__(self, secret_key: str) -> None:
        self._tokens = URLSafeTimedSerializer(secret_key, salt=TOKEN_SALT)
        self._sessions = URLSafeTimedSerializer(secret_key, salt=SESSION_SALT)

    def token(self, username: str, stamp: str) -> str:
        return self._tokens.dumps({"sub": username, "stamp": stamp})

    def token_claims(self, token: str, max_age: int) -> Claims | None:
        data = _load(self._tokens, token, max_age)
        return _claims(data, "") if data is not None else None

    def session(self, username: str, csrf: str, stamp: str) -> str:
        return self._sessions.dumps({"sub": username, "csrf": csrf, "stamp": stamp})

    def session_claims(self, cookie: str, max_age: int) -> Claims | None:
        data = _load(self._sessions, cookie, max_age)
        csrf = data.get("csrf") if data is not None else None
        return _claims(data, csrf) if data is not None and isinstance(csrf, str) else None


def _load(serializer: URLSafeTimedSerializer, signed: str, max_age: int) -> dict[str, Any] | None:
    try:
        data = serializer.loads(signed, max_age=max_age)
    except (BadSignature, SignatureExpired):
        return None
    return data if isinstance(data, dict) else None


def _claims(data: dict[str, Any], csrf: str) -> Claims | None:
    # Made before credential stamps existed: no stamp, which only a user with none matches.
    user, stamp = data.get("sub"), data.get("stamp", "")
    if isinstance(user, str) and isinstance(stamp, str):
        return Claims(user, stamp, csrf)
    return None


def new_csrf_token() -> str:
    return secrets.token_urlsafe(24)


def same_token(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


class PasswordChecks:
    """Password checks with a short memory of recent successes.

    scrypt is slow on purpose (tens of milliseconds); an API client using basic auth sends the
    same password on every request, so a success is remembered for ``ttl`` seconds, keyed by a
    hash of the name, the password and the stored hash (a changed password never matches).
    """

    def __init__(self, ttl: float = 60.0, size: int = 256) -> None:
        self._ttl = ttl
        self._size = size
        self._ok: dict[bytes, float] = {}
        self._lock = threading.Lock()

    def verify(self, username: str, password: str, stored_hash: str) -> bool:
        key = hashlib.sha256(f"{username}\0{password}\0{stored_hash}".encode()).digest()
        now = time.monotonic()
        with self._lock:
            expiry = self._ok.get(key)
            if expiry is not None and expiry > now:
                return True
        if not passwords.verify_password(password, stored_hash):
            return False
        with self._lock:
            if len(self._ok) >= self._size:
                self._ok = {k: v for k, v in self._ok.items() if v > now}
                if len(self._ok) >= self._size:
                    self._ok.clear()
            self._ok[key] = now + self._ttl
        return True
