"""Large values shown in part: the API and the UI show the start of an XCom, a variable's value
or a run's conf when it is longer than ``webserver.display_value_kb``, say that it is cut and
how long it is, and serve the whole value at a download endpoint of its own.

A cut value is the start of its JSON text (of its text, for a variable), so a client that gets
``*_truncated: true`` knows that the value is a string preview and not the value itself.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi.responses import StreamingResponse

from tradewind import limits
from tradewind.settings import Settings

CHUNK = 64 * 1024


@dataclass(frozen=True)
class Preview:
    """What to show of a value: the value itself, or the start of its text when ``truncated``;
    ``size`` is the length in bytes (UTF-8) of its whole (JSON) text."""

    value: Any
    truncated: bool
    size: int


def limit_of(settings: Settings) -> int:
    """How many bytes of a value are shown (``webserver.display_value_kb``)."""
    return limits.to_bytes(settings.webserver.display_value_kb / 1024)


def of_json(value: Any, limit: int) -> Preview:
    """A JSON value shown within ``limit`` bytes of its JSON text."""
    if isinstance(value, bool | int | float) or value is None:
        return Preview(value, False, len(json.dumps(value)))
    encoded = json.dumps(value, ensure_ascii=False).encode()
    if len(encoded) <= limit:
        return Preview(value, False, len(encoded))
    return Preview(_cut(encoded, limit), True, len(encoded))


def of_text(text: str, limit: int) -> Preview:
    """A text shown within ``limit`` bytes."""
    if len(text) * 4 <= limit:  # no UTF-8 character takes more than 4 bytes
        return Preview(text, False, len(text.encode()))
    encoded = text.encode()
    if len(encoded) <= limit:
        return Preview(text, False, len(encoded))
    return Preview(_cut(encoded, limit), True, len(encoded))


def _cut(encoded: bytes, limit: int) -> str:
    # A character cut in two at the end is left out.
    return encoded[:limit].decode("utf-8", "ignore")


def download_json(value: Any, name: str) -> StreamingResponse:
    """The whole JSON value as a file to download, encoded as it is sent."""
    pieces = json.JSONEncoder(ensure_ascii=False).iterencode(value)
    return _download((piece.encode() for piece in pieces), name + ".json", "application/json")


def download_text(text: str, name: str) -> StreamingResponse:
    """The whole text as a file to download."""
    chunks = (text[at : at + CHUNK].encode() for at in range(0, len(text), CHUNK))
    return _download(chunks, name + ".txt", "text/plain; charset=utf-8")


def download_pieces(pieces: Iterator[bytes], filename: str, media_type: str) -> StreamingResponse:
    """The pieces, as they come, as a file to download named ``filename``."""
    return _download(pieces, filename, media_type)


def _download(pieces: Iterator[bytes], filename: str, media_type: str) -> StreamingResponse:
    disposition = f"attachment; filename*=UTF-8''{quote(filename, safe='')}"
    return StreamingResponse(
        _chunks(pieces), media_type=media_type, headers={"Content-Disposition": disposition}
    )


def _chunks(pieces: Iterator[bytes]) -> Iterator[bytes]:
    """Small pieces (iterencode yields a token at a time) gathered into chunks of CHUNK."""
    buffer = bytearray()
    for piece in pieces:
        buffer += piece
        if len(buffer) >= CHUNK:
            yield bytes(buffer)
            buffer.clear()
    if buffer:
        yield bytes(buffer)
