"""Who is asking and what they may do: roles, signed tokens, password checks, CSRF tokens.

Roles keep Airflow's meanings and form a ladder: a viewer reads; a user also triggers, clears,
marks and pauses; an op also manages variables, connections and pools; an admin also manages
users. Tokens (API bearer tokens and the UI's session cookie) are signed with
``webserver.secret_key`` and name the user; the user's role is read from the metastore on each
request, so a deleted or demoted user loses access at once.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass

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


class Signer:
    """Signs and checks the API tokens and the session cookie's content."""

    def __init__(self, secret_key: str) -> None:
        self._tokens = URLSafeTimedSerializer(secret_key, salt=TOKEN_SALT)
        self._sessions = URLSafeTimedSerializer(secret_key, salt=SESSION_SALT)

    def token(self, username: str) -> str:
        return self._tokens.dumps({"sub": username})

    def token_user(self, token: str, max_age: int) -> str | None:
        return _user(self._tokens, token, max_age)

    def session(self, username: str, csrf: str) -> str:
        return self._sessions.dumps({"sub": username, "csrf": csrf})

    def session_data(self, cookie: str, max_age: int) -> tuple[str, str] | None:
        """(username, CSRF token) of a valid session cookie."""
        try:
            data = self._sessions.loads(cookie, max_age=max_age)
        except (BadSignature, SignatureExpired):
            return None
        if not isinstance(data, dict):
            return None
        user, csrf = data.get("sub"), data.get("csrf")
        if isinstance(user, str) and isinstance(csrf, str):
            return user, csrf
        return None


def _user(serializer: URLSafeTimedSerializer, token: str, max_age: int) -> str | None:
    try:
        data = serializer.loads(token, max_age=max_age)
    except (BadSignature, SignatureExpired):
        return None
    user = data.get("sub") if isinstance(data, dict) else None
    return user if isinstance(user, str) else None


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
