"""A real ``tradewind triggerer`` process against deferred task instances made in the metastore:
fired triggers resume their tries with the event, failing triggers fail them, a trigger that
blocks the loop is named, the trigger's log lines reach the task's log, several triggerers on
PostgreSQL share the triggers and take over a dead one's, and /health shows the triggerer."""

from __future__ import annotations

import signal
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from scheduling import poll, sqlite_only
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from triggering import (
    METHOD_KWARGS,
    defer,
    instance,
    read_journal,
    states,
    trigger_owners,
    triggerer_jobs,
    triggerer_process,
)

from tradewind.metastore import engine as engine_module
from tradewind.metastore.models import TaskInstanceHistory, Trigger
from tradewind.settings import Settings
from tradewind.tasklogs import log_path
from tradewind.triggers import serde
from tradewind.ui.app import create_app
from tradewind.workloads import TaskKey

servers = pytest.mark.parametrize(
    "db_dialect",
    [
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("mysql", marks=pytest.mark.mysql),
    ],
)
SCHEDULED = "scheduled"


@pytest.fixture(name="make")
def make_fixture(
    migrated_db_url: str, tmp_path: Path, make_settings: Callable[..., Settings]
) -> Iterator[Callable[..., tuple[Settings, sessionmaker[Session]]]]:
    engines = []

    def make(**triggerer: Any) -> tuple[Settings, sessionmaker[Session]]:
        settings = make_settings(
            tmp_path,
            migrated_db_url,
            triggerer={"job_heartbeat_sec": 0.3, "job_timeout": 3.0, **triggerer},
            webserver={"secret_key": "s" * 32},
        )
        engine = engine_module.create_engine(settings.database)
        engines.append(engine)
        return settings, engine_module.session_factory(engine)

    yield make
    for engine in engines:
        engine.dispose()


def test_fired_triggers_resume_their_tries_with_the_event(make: Any, tmp_path: Path) -> None:
    settings, sessions = make()
    gate = tmp_path / "gate"
    made = defer(
        sessions,
        [
            ("SleepTrigger", {"tag": "a", "seconds": 0.2}),
            ("FileTrigger", {"tag": "b", "path": str(gate)}),
        ],
    )
    with triggerer_process(settings, tmp_path / "triggerer.log"):
        assert poll(lambda: states(sessions, [made[0].ti_id]) == [SCHEDULED])
        assert states(sessions, [made[1].ti_id]) == ["deferred"]
        gate.touch()
        assert poll(lambda: states(sessions, [made[1].ti_id]) == [SCHEDULED])
    slept = instance(sessions, made[0].ti_id)
    assert slept.next_method == "execute_complete"
    assert slept.trigger_id is None
    assert slept.try_number == 1
    assert serde.decode(slept.next_kwargs) == {
        **METHOD_KWARGS,
        "event": {"slept": 0.2, "tag": "a"},
    }
    waited = instance(sessions, made[1].ti_id)
    assert serde.decode(waited.next_kwargs)["event"] == {"path": str(gate)}
    assert trigger_owners(sessions) == {}  # fired triggers are deleted
    # The trigger's own lines, and where it ran, are in the try's log.
    key = TaskKey("deferring", "manual__1", made[0].task_id, -1, 1)
    text = log_path(settings.logging.base_log_folder, key).read_text()
    assert "started on triggerer" in text
    assert "sleeping 0.2 s for a" in text
    assert "fired" in text


@sqlite_only
def test_a_trigger_that_fails_fails_its_task_and_the_triggerer_goes_on(
    make: Any, tmp_path: Path
) -> None:
    settings, sessions = make()
    made = defer(
        sessions,
        [
            ("RaisingTrigger", {"tag": "r"}),
            ("EmptyTrigger", {}),
            ("no.such.module.Trigger", {}),
            ("NotATrigger", {}),
            ("SleepTrigger", {"unexpected": object.__name__, "seconds": "soon"}),
        ],
    )
    output = tmp_path / "triggerer.log"
    with triggerer_process(settings, output) as proc:
        ids = [d.ti_id for d in made]
        assert poll(lambda: states(sessions, ids) == [SCHEDULED] * len(ids))
        errors = [instance(sessions, i) for i in ids]
        assert all(ti.next_method == "__fail__" for ti in errors)
        texts = [ti.next_kwargs["error"] for ti in errors]  # type: ignore[index]
        assert "deferral.triggers.RaisingTrigger" in texts[0]
        assert "broken on purpose: r" in texts[0]
        assert "ended without yielding an event" in texts[1]
        assert "no.such.module.Trigger" in texts[2]
        assert "is not a trigger" in texts[3]
        assert "could not convert string to float" in texts[4]
        # Still running, and still firing the triggers that work.
        later = defer(sessions, [("SleepTrigger", {"seconds": 0.05})])
        assert poll(lambda: states(sessions, [later[0].ti_id]) == [SCHEDULED])
        assert proc.poll() is None


@sqlite_only
def test_a_trigger_that_blocks_the_loop_is_named(make: Any, tmp_path: Path) -> None:
    settings, sessions = make()
    made = defer(
        sessions,
        [("BlockingTrigger", {"tag": "stuck", "seconds": 1.0}), ("SleepTrigger", {"seconds": 0.3})],
    )
    output = tmp_path / "triggerer.log"
    with triggerer_process(settings, output):
        ids = [d.ti_id for d in made]
        assert poll(lambda: states(sessions, ids) == [SCHEDULED, SCHEDULED])
        assert poll(lambda: "was blocked for" in output.read_text())
    text = output.read_text()
    assert "deferral.triggers.BlockingTrigger" in text
    assert "has blocked the triggerer's event loop" in text
    key = TaskKey("deferring", "manual__1", made[0].task_id, -1, 1)
    assert "has blocked" in log_path(settings.logging.base_log_folder, key).read_text()


@sqlite_only
def test_a_task_ending_event_ends_the_task(make: Any, tmp_path: Path) -> None:
    settings, sessions = make()
    made = defer(sessions, [("SucceedingTrigger", {"tag": "s"})])
    with triggerer_process(settings, tmp_path / "triggerer.log"):
        assert poll(lambda: states(sessions, [made[0].ti_id]) == ["success"])
    with sessions() as session:
        history = session.scalars(select(TaskInstanceHistory)).all()
    assert [(h.task_id, h.state, h.try_number) for h in history] == [
        (made[0].task_id, "success", 1)
    ]


@sqlite_only
def test_a_cleared_task_stops_its_trigger(make: Any, tmp_path: Path) -> None:
    settings, sessions = make()
    journal = tmp_path / "journal"
    made = defer(
        sessions,
        [("FileTrigger", {"tag": "c", "journal": str(journal), "path": str(tmp_path / "x")})],
    )
    with triggerer_process(settings, tmp_path / "triggerer.log"):
        assert poll(lambda: ("start", "c") in {j[:2] for j in read_journal(journal)})
        with sessions.begin() as session:  # what clearing a deferred task does
            ti = instance(sessions, made[0].ti_id)
            ti.state, ti.trigger_id = None, None
            session.merge(ti)
        assert poll(lambda: ("cleanup", "c") in {j[:2] for j in read_journal(journal)})
        assert poll(lambda: trigger_owners(sessions) == {})


@sqlite_only
def test_sigterm_releases_the_triggers(make: Any, tmp_path: Path) -> None:
    settings, sessions = make()
    journal = tmp_path / "journal"
    defer(
        sessions,
        [("FileTrigger", {"tag": "t", "journal": str(journal), "path": str(tmp_path / "x")})],
    )
    with triggerer_process(settings, tmp_path / "triggerer.log") as proc:
        assert poll(lambda: None not in trigger_owners(sessions).values())
        assert poll(lambda: ("start", "t") in {j[:2] for j in read_journal(journal)})
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    assert list(trigger_owners(sessions).values()) == [None]
    assert ("cleanup", "t") in {j[:2] for j in read_journal(journal)}
    assert [job.state for job in triggerer_jobs(sessions)] == ["finished"]


@sqlite_only
def test_health_shows_the_triggerer(make: Any, tmp_path: Path) -> None:
    settings, sessions = make()
    with TestClient(create_app(settings)) as client:
        before = client.get("/api/v1/health").json()["triggerer"]
        assert before["status"] == "unhealthy"
        assert before["latest_triggerer_heartbeat"] is None
        with triggerer_process(settings, tmp_path / "triggerer.log"):
            assert poll(lambda: triggerer_jobs(sessions) != [])
            during = client.get("/api/v1/health").json()["triggerer"]
        assert during["status"] == "healthy"
        assert during["latest_triggerer_heartbeat"] is not None


@servers
def test_two_triggerers_never_run_one_trigger_twice(make: Any, tmp_path: Path) -> None:
    settings, sessions = make()
    journal, gate = tmp_path / "journal", tmp_path / "gate"
    count = 120
    made = defer(
        sessions,
        [
            ("FileTrigger", {"tag": f"f{n}", "journal": str(journal), "path": str(gate)})
            for n in range(count)
        ],
    )
    with (
        triggerer_process(settings, tmp_path / "a.log", "--capacity", "80"),
        triggerer_process(settings, tmp_path / "b.log", "--capacity", "80"),
    ):
        assert poll(lambda: len({t for s, t, _ in read_journal(journal) if s == "start"}) == count)
        gate.touch()
        ids = [d.ti_id for d in made]
        assert poll(lambda: states(sessions, ids) == [SCHEDULED] * count)
    entries = read_journal(journal)
    starts = Counter(tag for step, tag, _ in entries if step == "start")
    fires = Counter(tag for step, tag, _ in entries if step == "fire")
    assert set(starts.values()) == {1}
    assert set(fires.values()) == {1}
    assert len(fires) == count
    assert len({pid for step, _, pid in entries if step == "start"}) == 2  # both took a share


@servers
def test_a_killed_triggerers_triggers_move_to_another(make: Any, tmp_path: Path) -> None:
    settings, sessions = make()
    journal, gate = tmp_path / "journal", tmp_path / "gate"
    made = defer(
        sessions,
        [
            ("FileTrigger", {"tag": f"k{n}", "journal": str(journal), "path": str(gate)})
            for n in range(20)
        ],
    )
    with triggerer_process(settings, tmp_path / "a.log") as first:
        assert poll(lambda: None not in trigger_owners(sessions).values())
        first.kill()
        first.wait()
    dead = set(trigger_owners(sessions).values())
    with triggerer_process(settings, tmp_path / "b.log") as second:
        assert poll(lambda: dead.isdisjoint(trigger_owners(sessions).values()), timeout=30)
        gate.touch()
        ids = [d.ti_id for d in made]
        assert poll(lambda: states(sessions, ids) == [SCHEDULED] * len(ids))
        fired_by = {pid for step, _, pid in read_journal(journal) if step == "fire"}
        assert fired_by == {second.pid}
    with sessions() as session:
        assert session.scalars(select(Trigger)).all() == []


@sqlite_only
def test_a_pass_between_heartbeats_writes_nothing_yet_takes_new_triggers(make: Any) -> None:
    """Every commit to SQLite wakes the scheduler; an idle triggerer must not commit once a
    second. It heartbeats every job_heartbeat_sec, and still takes a new trigger at its next
    look, long before that."""
    from sqlalchemy.engine import make_url

    from tradewind.triggerer.job import Triggerer

    settings, sessions = make(job_heartbeat_sec=3600.0, job_timeout=7200.0)
    database = make_url(str(settings.database.url)).database
    assert database is not None
    watcher = sqlite3.connect(database)
    triggerer = Triggerer(settings, sessions)
    triggerer.register()
    try:
        triggerer.step()  # the first pass heartbeats
        beat = triggerer_jobs(sessions)[0].latest_heartbeat
        version = watcher.execute("PRAGMA data_version").fetchone()
        triggerer.step()
        assert watcher.execute("PRAGMA data_version").fetchone() == version
        made = defer(sessions, [("SleepTrigger", {"tag": "later", "seconds": 3600})])
        triggerer.step()
        assert trigger_owners(sessions) == {made[0].trigger_id: triggerer.job_id}
        assert triggerer_jobs(sessions)[0].latest_heartbeat == beat
    finally:
        triggerer.stop()
        watcher.close()
