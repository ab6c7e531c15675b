"""FileTrigger: fires when a file matching a path or glob exists (Airflow's
``airflow.triggers.file``)."""

from __future__ import annotations

import asyncio
import glob
import os
from collections.abc import AsyncIterator
from typing import Any

from tradewind.triggers.base import BaseTrigger, TriggerEvent


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


class FileTrigger(BaseTrigger):
    """Checks every ``poke_interval`` seconds whether ``filepath`` (a path or glob) matches a
    file, or a folder holding one; then fires with ``True`` as its payload, as Airflow's does.
    The file system is read in a worker thread, never in the event loop."""

    def __init__(
        self, filepath: str, recursive: bool = False, poke_interval: float = 5.0, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        if not isinstance(filepath, str | os.PathLike) or not os.fspath(filepath):
            raise TypeError(f"filepath must be a path or glob, not {filepath!r}")
        if isinstance(poke_interval, bool) or not isinstance(poke_interval, int | float):
            raise TypeError(f"poke_interval must be seconds, not {poke_interval!r}")
        if poke_interval <= 0:
            raise ValueError(f"poke_interval must be positive, not {poke_interval!r}")
        self.filepath = os.fspath(filepath)
        self.recursive = bool(recursive)
        self.poke_interval = float(poke_interval)

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
