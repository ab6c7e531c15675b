"""Web server processes counting failed logins of one key at the same time lose none of them,
on every dialect (the first failure of a key is an insert two processes may race for; on MySQL
the race may end in a deadlock, and the transaction the server rolled back runs again)."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from tradewind.metastore import engine as engine_module
from tradewind.metastore.store import logins as login_store
from tradewind.metastore.types import utcnow

NO_LOCKOUT = login_store.Limit(
    max_failures=0,
    window=timedelta(minutes=10),
    lockout=timedelta(minutes=1),
    lockout_max=timedelta(minutes=5),
)
WRITERS = 6


def test_concurrent_failures_of_a_new_key_all_count(engine: Engine) -> None:
    sessions = engine_module.session_factory(engine)
    start = threading.Barrier(WRITERS)
    errors: list[BaseException] = []

    def count(session: Session) -> None:
        login_store.count_failure(session, login_store.USER, "ann", utcnow(), NO_LOCKOUT)

    def fail_once() -> None:
        try:
            start.wait(timeout=30)
            engine_module.write(
                sessions,
                lambda s: login_store.count_failure(
                    s, login_store.USER, "ann", utcnow(), NO_LOCKOUT
                ),
            )
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=fail_once) for _ in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    with sessions() as session:
        counts = login_store.counts(session, [(login_store.USER, "ann")], utcnow())
    assert counts[(login_store.USER, "ann")].failures == WRITERS
