"""Encryption at rest of variable values and connection secrets (Fernet).

The key comes from ``core.fernet_key``; it lives in the settings, never in the database it
protects. Several comma-separated keys rotate: the first encrypts, any of them decrypts. With
no key, values are stored in clear (``is_encrypted`` false) and a warning says so once.
"""

from __future__ import annotations

import functools
import logging
import re
import tomllib
from collections.abc import Callable
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from tradewind.settings import CONFIG_FILE

log = logging.getLogger(__name__)

_ANY_HEADER = re.compile(r"^\s*\[")


# Names (of variables, of connection extra fields) whose values are secrets: stored encrypted
# like every value, and also masked wherever they could be shown.
SECRET_WORDS = (
    "password",
    "secret",
    "passwd",
    "authorization",
    "api_key",
    "apikey",
    "access_token",
    "token",
    "private_key",
)


def looks_secret(name: str) -> bool:
    """Whether a variable or extra-field name suggests that its value is a secret."""
    lowered = name.lower()
    return any(word in lowered for word in SECRET_WORDS)


class CryptoError(Exception):
    """The key is malformed, or a value cannot be decrypted with it; one-line message."""


class Cipher:
    """Encrypts and decrypts text with the configured Fernet key(s), or passes it through."""

    def __init__(self, fernet_key: str) -> None:
        keys = [part.strip() for part in fernet_key.split(",") if part.strip()]
        self._fernet: MultiFernet | None = None
        self._warned = False
        if keys:
            try:
                self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])
            except (ValueError, TypeError):
                raise CryptoError(
                    "core.fernet_key is not a valid Fernet key (32 url-safe base64-encoded "
                    "bytes); generate one with: python -c 'from cryptography.fernet import "
                    "Fernet; print(Fernet.generate_key().decode())'"
                ) from None

    @staticmethod
    @functools.lru_cache(maxsize=4)
    def of(fernet_key: str) -> Cipher:
        """The Cipher of ``fernet_key``, made once per process and shared.

        A process that forks tries makes it ahead: making a Fernet key in a forked try
        costs about 0.5 ms, most of it copying the memory pages it touches.
        """
        return Cipher(fernet_key)

    @property
    def active(self) -> bool:
        """Whether values written now are encrypted."""
        return self._fernet is not None

    def encrypt(self, text: str) -> tuple[str, bool]:
        """``(stored text, is_encrypted)`` for ``text``."""
        if self._fernet is None:
            if not self._warned:
                self._warned = True
                log.warning(
                    "core.fernet_key is empty: secrets are stored in clear text "
                    "(`tradewind db init` generates a key)"
                )
            return text, False
        return self._fernet.encrypt(text.encode()).decode(), True

    def decrypt(self, stored: str, is_encrypted: bool, *, what: str) -> str:
        """The clear text of a stored value; ``what`` names it in errors."""
        if not is_encrypted:
            return stored
        if self._fernet is None:
            raise CryptoError(f"{what} is encrypted but core.fernet_key is empty")
        try:
            return self._fernet.decrypt(stored.encode()).decode()
        except InvalidToken:
            raise CryptoError(
                f"cannot decrypt {what}: it was encrypted with another core.fernet_key"
            ) from None


def generate_key() -> str:
    return Fernet.generate_key().decode()


def ensure_fernet_key(home: Path) -> str:
    """The ``core.fernet_key`` of ``home``'s config file, written there first if absent."""
    return ensure_generated(home, "core", "fernet_key", generate_key)


def ensure_generated(home: Path, section: str, key: str, make: Callable[[], str]) -> str:
    """The value of ``section.key`` in ``home``'s config file, written there by ``make`` first
    if absent (a generated secret such as the Fernet key or the web server's secret key).

    The rest of the file is kept as it is: the key goes right under an existing ``[section]``
    header (replacing an empty value), or into a new table at the end. The file is made
    readable by its owner only.
    """
    path = home / CONFIG_FILE
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    current = _read_key(text, path, section, key)
    if current:
        return current
    value = make()
    updated = _with_key(text, section, key, value)
    if _read_key(updated, path, section, key) != value:
        raise CryptoError(f"could not add {section}.{key} to {path}; add it by hand")
    home.mkdir(parents=True, exist_ok=True)
    path.write_text(updated, encoding="utf-8")
    path.chmod(0o600)
    return value


def _read_key(text: str, path: Path, section: str, key: str) -> str:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CryptoError(f"{path}: {exc}") from None
    table = data.get(section)
    value = table.get(key, "") if isinstance(table, dict) else ""
    return value if isinstance(value, str) else ""


def _with_key(text: str, section: str, key: str, value: str) -> str:
    header = re.compile(rf"^\s*\[\s*{re.escape(section)}\s*\]\s*(#.*)?$")
    key_line = re.compile(rf"^\s*{re.escape(key)}\s*=")
    line = f'{key} = "{value}"'
    lines = text.splitlines()
    for index, raw in enumerate(lines):
        if not header.match(raw):
            continue
        end = next(
            (i for i in range(index + 1, len(lines)) if _ANY_HEADER.match(lines[i])), len(lines)
        )
        existing = [i for i in range(index + 1, end) if key_line.match(lines[i])]
        if existing:
            lines[existing[0]] = line
        else:
            lines.insert(index + 1, line)
        return "\n".join(lines) + "\n"
    prefix = text if not text or text.endswith("\n") else text + "\n"
    separator = "\n" if prefix else ""
    return f"{prefix}{separator}[{section}]\n{line}\n"
