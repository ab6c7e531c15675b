"""File triggers (Airflow's ``airflow.triggers.file``): :class:`FileTrigger` fires when a file
matching a path or glob exists; :class:`FileDeleteTrigger`, an event trigger for asset watchers,
fires when a file appears and removes it."""

from __future__ import annotations

import asyncio
import glob
import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

from tradewind.triggers.base import BaseEventTrigger, BaseTrigger, TriggerEvent


def find_file(filepath: str, recursive: bool = False) -> str | None:
    """The first file that ``filepath`` (a path or glob; ``**`` with ``recursive``) matches,
    or a file inside a folder it matches; None if there is none. Blocking: in a trigger, call
    it in a thread."""
    for path in sorted(glob.glob(os.fspath(filepath), recursive=recursive)):
        if os.path.isfile(path):
            return path
        for folder, _subfolders, files in os.walk(path):
            if files:
                return os.path.join(folder, sorted(files)[0])
    return None


def _check_interval(poke_interval: object) -> float:
    if isinstance(poke_interval, bool) or not isinstance(poke_interval, int | float):
        raise TypeError(f"poke_interval must be seconds, not {poke_interval!r}")
    if poke_interval <= 0:
        raise ValueError(f"poke_interval must be positive, not {poke_interval!r}")
    return float(poke_interval)


def _check_path(filepath: object) -> str:
    if not isinstance(filepath, str | os.PathLike) or not os.fspath(filepath):
        raise TypeError(f"filepath must be a path or glob, not {filepath!r}")
    return str(os.fspath(filepath))


class FileTrigger(BaseTrigger):
    """Checks every ``poke_interval`` seconds whether ``filepath`` (a path or glob) matches a
    file, or a folder holding one; then fires with ``True`` as its payload, as Airflow's does.
    The file system is read in a worker thread, never in the event loop."""

    def __init__(
        self, filepath: str, recursive: bool = False, poke_interval: float = 5.0, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.filepath = _check_path(filepath)
        self.recursive = bool(recursive)
        self.poke_interval = _check_interval(poke_interval)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            "tradewind.triggers.file.FileTrigger",
            {
                "filepath": self.filepath,
                "recursive": self.recursive,
                "poke_interval": self.poke_interval,
            },
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        while True:
            found = await asyncio.to_thread(find_file, self.filepath, self.recursive)
            if found is not None:
                self.log.info("Found %s (matching %s)", found, self.filepath)
                yield TriggerEvent(True)
                return
            await asyncio.sleep(self.poke_interval)


def take_file(filepath: str) -> str | None:
    """Remove the file ``filepath`` if it exists; its modification time (ISO, UTC) if it was
    there, None if not. Blocking: in a trigger, call it in a thread."""
    if not os.path.isfile(filepath):
        return None
    try:
        modified = os.path.getmtime(filepath)
        os.remove(filepath)
    except FileNotFoundError:  # taken away meanwhile
        return None
    return datetime.fromtimestamp(modified, UTC).isoformat()


class FileDeleteTrigger(BaseEventTrigger):
    """Checks every ``poke_interval`` seconds whether the file ``filepath`` exists; then
    removes it and fires with ``True`` as its payload, as Airflow's does. An event trigger:
    watching an asset (``AssetWatcher``), each file that arrives there is one update of it."""

    def __init__(self, filepath: str, poke_interval: float = 5.0, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.filepath = _check_path(filepath)
        self.poke_interval = _check_interval(poke_interval)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            "tradewind.triggers.file.FileDeleteTrigger",
            {"filepath": self.filepath, "poke_interval": self.poke_interval},
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        while True:
            modified = await asyncio.to_thread(take_file, self.filepath)
            if modified is not None:
                self.log.info("Found %s (modified %s) and removed it", self.filepath, modified)
                yield TriggerEvent(True)
                return
            await asyncio.sleep(self.poke_interval)
