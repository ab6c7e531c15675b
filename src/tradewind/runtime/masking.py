"""Keeping secrets out of task logs and error messages.

The task runner registers each secret it hands to a task (a connection's password, the value
of a variable whose key looks secret) with a :class:`SecretsMasker`; everything written to the
try's log goes through a :class:`MaskingStream`, which replaces them with ``***``.
"""

from __future__ import annotations

import io
import json
import re
import threading
from typing import Any, TextIO

MASK = "***"
# Shorter values would mask ordinary words and digits all over the log.
MIN_SECRET_LENGTH = 3


class SecretsMasker:
    """The secrets known so far and a function replacing them in text."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._pattern: re.Pattern[str] | None = None

    def add(self, secret: Any) -> None:
        """Mask ``secret`` from now on; a JSON container's string and number leaves too."""
        for value in _leaves(secret):
            text = value if isinstance(value, str) else str(value)
            for candidate in (text, text.strip()):
                if len(candidate) >= MIN_SECRET_LENGTH and candidate not in self._secrets:
                    self._secrets.add(candidate)
                    self._pattern = None

    def add_json_text(self, text: str) -> None:
        """Mask a stored value and, when it holds JSON, each of its leaves."""
        self.add(text)
        try:
            decoded = json.loads(text)
        except ValueError:
            return
        if isinstance(decoded, dict | list):
            self.add(decoded)

    def mask(self, text: str) -> str:
        if not self._secrets:
            return text
        if self._pattern is None:
            # Longest first, so a secret containing another is replaced whole.
            ordered = sorted(self._secrets, key=len, reverse=True)
            self._pattern = re.compile("|".join(re.escape(s) for s in ordered))
        return self._pattern.sub(MASK, text)


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in _leaves(item)]
    if isinstance(value, list | tuple):
        return [leaf for item in value for leaf in _leaves(item)]
    if value is None or isinstance(value, bool):
        return []
    return [value]


class MaskingStream(io.TextIOBase):
    """A text stream that masks secrets line by line before writing to ``target``.

    Whole lines are masked at once, so a secret printed in pieces (``print(a, b)`` writes
    several times) is still found; :meth:`flush` writes out an unfinished line.
    """

    def __init__(self, target: TextIO, masker: SecretsMasker) -> None:
        super().__init__()
        self._target = target
        self._masker = masker
        self._pending = ""
        # Tasks may print from several threads; each line must still be masked whole.
        self._lock = threading.Lock()

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        with self._lock:
            data = self._pending + text
            cut = data.rfind("\n") + 1
            self._pending = data[cut:]
            if cut:
                self._target.write(self._masker.mask(data[:cut]))
                self._target.flush()
        return len(text)

    def flush(self) -> None:
        with self._lock:
            if self._pending:
                self._target.write(self._masker.mask(self._pending))
                self._pending = ""
            self._target.flush()

    def fileno(self) -> int:
        return self._target.fileno()

    def isatty(self) -> bool:
        return False

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._target, "encoding", None) or "utf-8"
