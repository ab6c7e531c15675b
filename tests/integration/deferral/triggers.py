"""Small triggers whose behaviour a test controls: one that fires after a sleep or at a time,
one that waits for a file, one that raises, one that blocks the loop, one that ends without an
event, one that ends its task. Each may append what it did to a journal file (``journal``), one
line per step: ``<step> <tag> <pid>``, so a test can count starts, firings and cleanups."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tradewind.triggers.base import BaseTrigger, TaskSuccessEvent, TriggerEvent

HERE = f"{__name__}"


def note(journal: str | None, step: str, tag: str) -> None:
    if journal:
        with open(journal, "a") as out:
            out.write(f"{step} {tag} {os.getpid()}\n")


class _Journaled(BaseTrigger):
    def __init__(self, tag: str = "", journal: str | None = None, **kwargs: Any) -> None:
        super().__init__()
        self.tag = tag
        self.journal = journal
        self.extra = kwargs

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{HERE}.{type(self).__name__}",
            {"tag": self.tag, "journal": self.journal, **self.extra},
        )

    async def cleanup(self) -> None:
        note(self.journal, "cleanup", self.tag)


class SleepTrigger(_Journaled):
    """Fires ``{"slept": seconds, "tag": tag}`` after ``seconds``."""

    async def run(self) -> AsyncIterator[TriggerEvent]:
        note(self.journal, "start", self.tag)
        seconds = float(self.extra.get("seconds", 0.1))
        self.log.info("sleeping %s s for %s", seconds, self.tag)
        await asyncio.sleep(seconds)
        note(self.journal, "fire", self.tag)
        yield TriggerEvent({"slept": seconds, "tag": self.tag})


class AtTrigger(_Journaled):
    """Fires ``{"due": at, "fired": <time it fired>}`` at ``at`` (an aware datetime)."""

    async def run(self) -> AsyncIterator[TriggerEvent]:
        at: datetime = self.extra["at"]
        await asyncio.sleep(max(0.0, (at - datetime.now(UTC)).total_seconds()))
        yield TriggerEvent({"due": at, "fired": datetime.now(UTC)})


class FileTrigger(_Journaled):
    """Fires ``{"path": path}`` once ``path`` exists (looking every 50 ms)."""

    async def run(self) -> AsyncIterator[TriggerEvent]:
        note(self.journal, "start", self.tag)
        path = Path(self.extra["path"])
        while not path.exists():
            await asyncio.sleep(0.05)
        note(self.journal, "fire", self.tag)
        yield TriggerEvent({"path": str(path)})


class RaisingTrigger(_Journaled):
    async def run(self) -> AsyncIterator[TriggerEvent]:
        await asyncio.sleep(0.01)
        raise ValueError(f"broken on purpose: {self.tag}")
        yield TriggerEvent(None)  # pragma: no cover


class EmptyTrigger(_Journaled):
    async def run(self) -> AsyncIterator[TriggerEvent]:
        await asyncio.sleep(0.01)
        return
        yield TriggerEvent(None)  # pragma: no cover


class BlockingTrigger(_Journaled):
    """Blocks the event loop for ``seconds`` (time.sleep), then fires."""

    async def run(self) -> AsyncIterator[TriggerEvent]:
        time.sleep(float(self.extra.get("seconds", 1.0)))
        yield TriggerEvent({"blocked": True})


class SucceedingTrigger(_Journaled):
    """Ends its task as a success without resuming it."""

    async def run(self) -> AsyncIterator[TriggerEvent]:
        await asyncio.sleep(0.01)
        yield TaskSuccessEvent({"done": self.tag})


class NotATrigger:
    pass
