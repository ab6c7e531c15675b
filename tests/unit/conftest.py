"""Fixtures of the unit tests."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest


@pytest.fixture(name="udp")
def udp_fixture() -> Iterator[socket.socket]:
    """A UDP socket on localhost: a StatsD receiver to read datagrams from."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)
    yield sock
    sock.close()
