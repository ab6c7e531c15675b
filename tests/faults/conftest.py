"""Fault tests: real processes and real servers, broken on purpose.

``throwaway_db`` is a database server of the test's own (PostgreSQL or MariaDB, see
``throwaway.py``) with the schema at head, which the test may stop, kill and restart;
``linked_db`` is one in a network namespace of its own, whose network the test may cut
(``linked_db.link.cut()`` and ``.mend()``); ``brokers`` (from ``celerytest.py``) the local
Redis and RabbitMQ of the celery executor's fault tests.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
from netcut import Link
from throwaway import SERVERS, Throwaway

from tradewind.metastore import engine as engine_module
from tradewind.metastore import schema
from tradewind.settings import DatabaseSettings

HERE = Path(__file__).parent
# Fault tests drive systems, schedulers, workers and web servers with the integration tests'
# helpers (scheduling.py, celerytest.py, webtest.py).
sys.path.insert(0, str(HERE.parent / "integration"))

from celerytest import brokers_fixture  # noqa: E402, F401


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(params=["postgres", "mysql"])
def throwaway_db(request: pytest.FixtureRequest) -> Iterator[Throwaway]:
    """A running database server of this test's own, the ``tradewind`` database at head."""
    with ExitStack() as stack:
        yield _at_head(stack, SERVERS[request.param]())


@pytest.fixture(params=["postgres", "mysql"])
def linked_db(request: pytest.FixtureRequest) -> Iterator[Throwaway]:
    """The same, in a network namespace of its own (``linked_db.link``): skipped without root
    or ``ip``. The namespace is removed whatever happens."""
    with ExitStack() as stack:
        link = Link()
        stack.callback(link.close)
        yield _at_head(stack, SERVERS[request.param](link))


def _at_head(stack: ExitStack, server: Throwaway) -> Throwaway:
    stack.callback(server.close)
    server.start()
    engine = engine_module.create_engine(DatabaseSettings(url=server.url))
    schema.init_db(engine)
    engine.dispose()
    return server
