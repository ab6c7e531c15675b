"""Fail when a module of the package runs past 500 lines or a function past 60.

Migrations are exempt: each is a record of a schema change, written once and never read as
code to change. Run by scripts/test; prints every offender, so a failure says what to split.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

MODULE_LIMIT = 500
FUNCTION_LIMIT = 60


def offenders(root: Path) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        text = path.read_text()
        lines = text.count("\n")
        if lines > MODULE_LIMIT:
            found.append(f"{path}: {lines} lines (limit {MODULE_LIMIT})")
        for node in ast.walk(ast.parse(text, str(path))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > FUNCTION_LIMIT:
                    found.append(
                        f"{path}:{node.lineno}: {node.name} has {length} lines "
                        f"(limit {FUNCTION_LIMIT})"
                    )
    return found


def main() -> int:
    root = Path(__file__).resolve().parent.parent / "src" / "tradewind"
    found = offenders(root)
    for line in found:
        print(line)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
