"""FileSensor: waits until a file (or a non-empty folder) matching a path or glob exists."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from tradewind.sensors.deferral import DeferrableSensor
from tradewind.triggers.base import BaseTrigger
from tradewind.triggers.file import FileTrigger, find_file


class FileSensor(DeferrableSensor):
    """Done when ``filepath`` (a path or glob; ``**`` with ``recursive=True``) matches a file,
    or a folder that holds at least one file. With ``deferrable=True`` it waits in the
    triggerer (a FileTrigger checking every ``poke_interval``)."""

    template_fields: ClassVar[Sequence[str]] = ("filepath",)
    ui_color = "#91818a"

    def __init__(self, *, filepath: str, recursive: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.filepath = filepath
        self.recursive = recursive

    def poke(self, context: Mapping[str, Any]) -> bool:
        return find_file(self.filepath, self.recursive) is not None

    def trigger_for(self, context: Mapping[str, Any]) -> BaseTrigger:
        return FileTrigger(self.filepath, self.recursive, self.poke_interval)
