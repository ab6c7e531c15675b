"""The metastore restarted under a real ``tradewind triggerer``, on a throwaway PostgreSQL or
MariaDB server: its triggers keep running while the database is away, an event that fires
meanwhile is written once it is back, and the triggerer says once that it lost the metastore and
once that it reached it again."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from outages import lines_with, outage_settings
from scheduling import poll
from sqlalchemy.orm import Session, sessionmaker
from throwaway import Throwaway
from triggering import defer, instance, states, trigger_owners, triggerer_process

from tradewind.metastore import engine as engine_module
from tradewind.settings import Settings
from tradewind.triggers import serde

LOST = "the triggerer lost the metastore"
BACK = "the triggerer reached the metastore again"


def test_an_event_fired_while_the_metastore_is_away_is_written_once_it_is_back(
    throwaway_db: Throwaway, make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    settings = outage_settings(
        make_settings,
        tmp_path,
        throwaway_db.url,
        triggerer={"job_heartbeat_sec": 0.3, "job_timeout": 5.0},
    )
    engine = engine_module.create_engine(settings.database)
    sessions = engine_module.session_factory(engine)
    gate, log = tmp_path / "gate", tmp_path / "triggerer.log"
    try:
        made = defer(sessions, [("FileTrigger", {"tag": "x", "path": str(gate)})])
        with triggerer_process(settings, log) as triggerer:
            assert poll(lambda: _claimed(sessions), 60), log.read_text()
            throwaway_db.stop()
            assert poll(lambda: bool(lines_with(log, LOST)), 60), log.read_text()
            gate.touch()  # fires while the metastore is away
            throwaway_db.start()
            assert poll(lambda: states(sessions, [made[0].ti_id]) == ["scheduled"], 90), (
                log.read_text()
            )
            assert triggerer.poll() is None, log.read_text()
        waited = instance(sessions, made[0].ti_id)
        assert serde.decode(waited.next_kwargs)["event"] == {"path": str(gate)}
        assert len(lines_with(log, LOST)) == 1, log.read_text()
        assert len(lines_with(log, BACK)) == 1, log.read_text()
    finally:
        engine.dispose()


def _claimed(sessions: sessionmaker[Session]) -> bool:
    """Whether every trigger runs in a triggerer."""
    owners = trigger_owners(sessions)
    return bool(owners) and None not in owners.values()
