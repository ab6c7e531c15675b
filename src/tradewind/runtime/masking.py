"""Keeping secrets out of task logs and error messages.

The task runner registers each secret it hands to a task (a connection's password, the value
of a variable whose key looks secret) with a :class:`SecretsMasker`; everything written to the
try's log goes through a :class:`MaskingStream`, which replaces them with ``***``. The XComs a
try pushes are masked the same way for display (:meth:`SecretsMasker.mask_value`), and a value
pulled from an XCom that held a secret makes that secret known (:meth:`SecretsMasker.add_masked`).
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

    def add_masked(self, value: Any, masked: Any) -> None:
        """Mask, from now on, each leaf of ``value`` that ``masked`` (its rendition for display)
        shows masked: a secret another try used travels on in it."""
        for leaf, shown in _pairs(value, masked):
            if leaf != shown:
                self.add(leaf)

    def mask_value(self, value: Any) -> Any:
        """A JSON value with the known secrets masked in every string (keys too) and in numbers
        whose digits are one (a PIN, say)."""
        if not self._secrets:
            return value
        if isinstance(value, str):
            return self.mask(value)
        if isinstance(value, list):
            return [self.mask_value(item) for item in value]
        if isinstance(value, dict):
            return {self.mask(str(key)): self.mask_value(item) for key, item in value.items()}
        if isinstance(value, int | float) and not isinstance(value, bool):
            text = str(value)
            masked = self.mask(text)
            return value if masked == text else masked
        return value

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


def _pairs(value: Any, masked: Any) -> list[tuple[Any, Any]]:
    """The leaves (and keys) of ``value`` beside what stands in their place in ``masked``."""
    if isinstance(value, dict) and isinstance(masked, dict) and len(value) == len(masked):
        pairs = list(zip(value, masked, strict=True))
        for a, b in zip(value.values(), masked.values(), strict=True):
            pairs += _pairs(a, b)
        return pairs
    if isinstance(value, list) and isinstance(masked, list) and len(value) == len(masked):
        return [pair for a, b in zip(value, masked, strict=True) for pair in _pairs(a, b)]
    if isinstance(value, dict | list):
        # Shapes that differ (masking made two keys one): every leaf counts as a secret.
        return [(leaf, None) for leaf in _leaves(value)]
    return [(value, masked)]


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
