"""Where in a DAG file something was defined: the first stack frame outside tradewind itself."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from types import FrameType

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The bundled example DAGs live inside the package but are user code like any DAG file.
_EXAMPLES_DIR = os.path.join(_PACKAGE_DIR, "example_dags")


@dataclass(frozen=True)
class Location:
    """A file and line; ``str()`` gives ``file:line`` as compilers and linters print it."""

    fileloc: str
    lineno: int

    def __str__(self) -> str:
        return f"{self.fileloc}:{self.lineno}"


UNKNOWN = Location("<unknown>", 0)


def _is_internal(filename: str) -> bool:
    if not filename.startswith(_PACKAGE_DIR):
        return filename.startswith("<frozen ")
    return not filename.startswith(_EXAMPLES_DIR)


def caller_location() -> Location:
    """Return the innermost stack frame that is not tradewind's own code."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if not _is_internal(filename):
            return Location(filename, frame.f_lineno)
        frame = frame.f_back
    return UNKNOWN
