"""How often a thread has gone to sleep and woken again, from ``/proc`` (Linux)."""

from __future__ import annotations

import threading
from pathlib import Path


def voluntary_switches(*threads: threading.Thread) -> int:
    """The threads' voluntary context switches: each time one slept and was woken counts one."""
    total = 0
    for thread in threads:
        status = Path(f"/proc/self/task/{thread.native_id}/status").read_text()
        line = next(x for x in status.splitlines() if x.startswith("voluntary_ctxt_switches"))
        total += int(line.split()[1])
    return total
