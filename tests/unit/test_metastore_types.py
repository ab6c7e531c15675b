from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy import exc
from sqlalchemy.engine import Engine

from tradewind.metastore.models import Job

PARIS_SUMMER = timezone(timedelta(hours=2))


def _store(engine: Engine, when: datetime) -> datetime:
    with engine.begin() as connection:
        job_id = connection.execute(
            sa.insert(Job).values(job_type="scheduler", state="running", latest_heartbeat=when)
        ).inserted_primary_key[0]
    with engine.connect() as connection:
        stored: datetime = connection.execute(
            sa.select(Job.latest_heartbeat).where(Job.id == job_id)
        ).scalar_one()
    return stored


def test_aware_datetimes_come_back_as_the_same_instant_in_utc(sqlite_engine: Engine) -> None:
    written = datetime(2024, 7, 1, 14, 30, 15, 123456, tzinfo=PARIS_SUMMER)
    read = _store(sqlite_engine, written)
    assert read == written
    assert read.tzinfo is UTC
    assert read.hour == 12
    assert read.microsecond == 123456


def test_naive_datetimes_are_refused_with_a_clear_message(sqlite_engine: Engine) -> None:
    with pytest.raises(exc.StatementError, match="naive datetime 2024-07-01T14:30:00"):
        _store(sqlite_engine, datetime(2024, 7, 1, 14, 30))


def test_timestamp_defaults_are_aware(sqlite_engine: Engine) -> None:
    before = datetime.now(UTC)
    with sqlite_engine.begin() as connection:
        connection.execute(sa.insert(Job).values(job_type="scheduler", state="running"))
    with sqlite_engine.connect() as connection:
        started = connection.execute(sa.select(Job.start_date)).scalar_one()
    assert started.tzinfo is UTC
    assert before <= started <= datetime.now(UTC)
