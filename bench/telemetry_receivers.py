"""The traces and lineage tests' receivers, for measuring what telemetry costs: prints the
OTLP/HTTP collector's port and the OpenLineage endpoint's port on one line, runs until
SIGTERM, then prints how many spans and events they received.

    python bench/telemetry_receivers.py &     # e.g. "41011 38563"
"""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "integration"))

from telemetry_receivers import lineage_receiver, otlp_receiver


def main() -> None:
    with otlp_receiver() as spans, lineage_receiver() as events:
        print(spans.port, events.port, flush=True)
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        stop.wait()
        print("spans", len(spans.items), "events", len(events.items), flush=True)


if __name__ == "__main__":
    main()
