"""Find the DAG files under a folder, honouring ``.tradewindignore`` files.

A ``.tradewindignore`` holds one glob pattern per line (``#`` starts a comment). It applies to the
folder it sits in and everything below. A pattern with no ``/`` matches a file or folder name at
any depth (``scratch_*``); a pattern with a ``/`` matches the path relative to that folder
(``legacy/*.py``, ``tmp/**``). A line starting with ``!`` takes a file back in.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

IGNORE_FILE = ".tradewindignore"
# In safe mode a file must mention both words to be imported, so helper modules and scripts
# that live beside DAG files are never executed by the processor.
SAFE_MODE_MARKERS = (b"dag", b"tradewind")
SAFE_MODE_ALTERNATIVE = b"airflow"


@dataclass(frozen=True)
class _Rule:
    base: Path
    pattern: str
    negate: bool

    def matches(self, path: Path) -> bool:
        try:
            relative = path.relative_to(self.base).as_posix()
        except ValueError:
            return False
        if "/" not in self.pattern.rstrip("/"):
            name_pattern = self.pattern.rstrip("/")
            return any(fnmatch.fnmatchcase(part, name_pattern) for part in relative.split("/"))
        pattern = self.pattern.strip("/")
        return fnmatch.fnmatchcase(relative, pattern) or fnmatch.fnmatchcase(
            relative, pattern.rstrip("*").rstrip("/") + "/*"
        )


def _read_rules(folder: Path) -> list[_Rule]:
    ignore = folder / IGNORE_FILE
    if not ignore.is_file():
        return []
    rules = []
    for raw in ignore.read_text(encoding="utf-8", errors="replace").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        rules.append(_Rule(folder, line[1:] if negate else line, negate))
    return rules


def _ignored(path: Path, rules: list[_Rule]) -> bool:
    ignored = False
    for rule in rules:
        if rule.matches(path):
            ignored = not rule.negate
    return ignored


def iter_python_files(folder: Path) -> Iterator[Path]:
    """Yield the ``.py`` files under ``folder`` that no ignore rule excludes, sorted per folder."""
    if folder.is_file():
        if folder.suffix == ".py":
            yield folder
        return
    if not folder.is_dir():
        return
    stack: list[tuple[Path, list[_Rule]]] = [(folder, _read_rules(folder))]
    while stack:
        current, rules = stack.pop()
        try:
            entries = sorted(os.scandir(current), key=lambda e: e.name)
        except OSError:
            continue
        subfolders = []
        for entry in entries:
            if entry.name.startswith(".") or entry.name == "__pycache__":
                continue
            path = Path(entry.path)
            if _ignored(path, rules):
                continue
            if entry.is_dir(follow_symlinks=True):
                subfolders.append(path)
            elif entry.name.endswith(".py") and entry.is_file(follow_symlinks=True):
                yield path
        for sub in reversed(subfolders):
            stack.append((sub, rules + _read_rules(sub)))


def might_contain_dag(path: Path, content: bytes) -> bool:
    """Safe mode's cheap check: does the file mention a DAG and tradewind (or airflow)?"""
    lowered = content.lower()
    if SAFE_MODE_MARKERS[0] not in lowered:
        return False
    return SAFE_MODE_MARKERS[1] in lowered or SAFE_MODE_ALTERNATIVE in lowered
