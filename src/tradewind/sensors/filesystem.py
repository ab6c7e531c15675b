"""FileSensor: waits until a file (or a non-empty folder) matching a path or glob exists."""

from __future__ import annotations

import glob
import os
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from tradewind.sensors.base import BaseSensorOperator


class FileSensor(BaseSensorOperator):
    """Done when ``filepath`` (a path or glob; ``**`` with ``recursive=True``) matches a file,
    or a folder that holds at least one file."""

    template_fields: ClassVar[Sequence[str]] = ("filepath",)
    ui_color = "#91818a"

    def __init__(self, *, filepath: str, recursive: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.filepath = filepath
        self.recursive = recursive

    def poke(self, context: Mapping[str, Any]) -> bool:
        for path in glob.glob(os.fspath(self.filepath), recursive=self.recursive):
            if os.path.isfile(path):
                return True
            for _folder, _subfolders, files in os.walk(path):
                if files:
                    return True
        return False
