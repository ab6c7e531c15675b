"""Receivers for measuring what telemetry costs: a StatsD UDP port and one HTTP port taking
OTLP metrics and traces (``/v1/metrics``, ``/v1/traces``) and OpenLineage events
(``/api/v1/lineage``). Prints both ports on one line, runs until SIGTERM, then prints how
many datagrams, requests and bytes each path received.

    python bench/telemetry_receivers.py &     # e.g. "41011 38563"  (statsd, http)

In production the collector runs on another host; here it shares the bench's two cores. So
it does as little as a receiver can (it reads each request whole and answers 200 without
decoding it; the tests' receivers in ``tests/integration`` decode and check everything), and
it runs with the ``SCHED_IDLE`` policy: it takes only CPU time that the bench leaves idle, as
a collector on another host would. At the end it prints the CPU time it used.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import signal
import socket
from collections import Counter

_OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nContent-Type: application/json\r\n\r\n"


class _Sink(asyncio.DatagramProtocol):
    def __init__(self, counts: Counter[str]) -> None:
        self.counts = counts

    def datagram_received(self, data: bytes, addr: object) -> None:
        self.counts["statsd datagrams"] += 1


async def _serve_http(
    counts: Counter[str], reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    try:
        while head := await reader.readuntil(b"\r\n\r\n"):
            lines = head.decode("latin-1").split("\r\n")
            path = lines[0].split(" ")[1] if " " in lines[0] else "?"
            length = 0
            for line in lines[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            body = await reader.readexactly(length)
            counts[path] += 1
            counts[f"{path} bytes"] += len(body)
            writer.write(_OK)
    except (asyncio.IncompleteReadError, ConnectionError, ValueError):
        pass
    finally:
        writer.close()


async def main() -> None:
    counts: Counter[str] = Counter()
    loop = asyncio.get_running_loop()
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
    udp.bind(("127.0.0.1", 0))
    transport, _ = await loop.create_datagram_endpoint(lambda: _Sink(counts), sock=udp)
    server = await asyncio.start_server(lambda r, w: _serve_http(counts, r, w), "127.0.0.1", 0)
    print(udp.getsockname()[1], server.sockets[0].getsockname()[1], flush=True)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    server.close()
    transport.close()
    for key, value in sorted(counts.items()):
        print(f"{key}: {value}", flush=True)
    used = resource.getrusage(resource.RUSAGE_SELF)
    print(f"receiver CPU: {used.ru_utime + used.ru_stime:.2f} s", flush=True)


def _stand_aside() -> None:
    """Run only when the CPUs would otherwise be idle (nice 19 where that is refused)."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):
        with contextlib.suppress(OSError):
            os.nice(19)


if __name__ == "__main__":
    _stand_aside()
    asyncio.run(main())
