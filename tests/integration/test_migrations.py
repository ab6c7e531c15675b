from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import exc
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from tradewind.metastore import engine as engine_module
from tradewind.metastore import schema
from tradewind.metastore.models import (
    VERSION_TABLE,
    DagModel,
    DagRun,
    SerializedDagModel,
    TaskInstance,
    XCom,
    metadata,
)
from tradewind.settings import DatabaseSettings


def _differences(engine: Engine) -> list[Any]:
    """What Alembic's autogenerate would change to make the database match the models."""
    with engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "version_table": VERSION_TABLE}
        )
        return list(compare_metadata(context, metadata))


def test_upgrade_downgrade_upgrade_leaves_exactly_the_models(db_url: str) -> None:
    engine = engine_module.create_engine(DatabaseSettings(url=db_url))
    try:
        schema.upgrade_db(engine)
        assert _differences(engine) == []
        schema.downgrade_db(engine, "base")
        assert set(sa.inspect(engine).get_table_names()) == {VERSION_TABLE}
        schema.upgrade_db(engine)
        assert _differences(engine) == []
    finally:
        engine.dispose()


def test_the_comparison_notices_a_schema_that_drifted(sqlite_engine: Engine) -> None:
    with sqlite_engine.begin() as connection:
        connection.exec_driver_sql("DROP INDEX ix_task_instance_state_pool")
    assert [diff[0] for diff in _differences(sqlite_engine)] == ["add_index"]


# What the migrated schema guarantees on every dialect.

PARIS_SUMMER = timezone(timedelta(hours=2))
T0 = datetime(2024, 7, 1, 12, 0, 0, 123456, tzinfo=UTC)


def _dag(session: Session, dag_id: str, **values: Any) -> DagModel:
    dag = DagModel(dag_id=dag_id, fileloc=f"/dags/{dag_id}.py", fileloc_hash="0" * 64, **values)
    session.add(dag)
    return dag


def _run(session: Session, dag_id: str, run_id: str = "manual__1", **values: Any) -> DagRun:
    run = DagRun(dag_id=dag_id, run_id=run_id, logical_date=T0, run_type="manual", **values)
    session.add(run)
    session.flush()
    return run


def test_times_round_trip_as_aware_utc_with_microseconds(session: Session) -> None:
    _dag(session, "etl")
    written = datetime(2024, 3, 31, 3, 30, 0, 654321, tzinfo=PARIS_SUMMER)
    run = _run(session, "etl", data_interval_start=written)
    session.commit()
    session.expire_all()
    read = session.get(DagRun, run.id)
    assert read is not None
    assert read.data_interval_start == written
    assert read.data_interval_start.tzinfo is UTC
    assert read.data_interval_start.microsecond == 654321


def test_ids_are_exact_and_text_holds_any_unicode(session: Session) -> None:
    _dag(session, "etl", description="naïve 🚀 pipeline")
    _dag(session, "ETL")
    session.commit()
    session.expire_all()
    assert session.scalars(sa.select(DagModel.dag_id).order_by(DagModel.dag_id)).all() == [
        "ETL",
        "etl",
    ]
    assert session.scalars(sa.select(DagModel.dag_id).where(DagModel.dag_id == "Etl")).all() == []
    assert session.get_one(DagModel, "etl").description == "naïve 🚀 pipeline"


def test_a_run_id_is_unique_within_its_dag(session: Session) -> None:
    _dag(session, "etl")
    _run(session, "etl")
    session.commit()
    with pytest.raises(exc.IntegrityError):
        _run(session, "etl")
    session.rollback()


def test_deleting_a_dag_deletes_its_runs_task_instances_and_xcoms(session: Session) -> None:
    _dag(session, "etl")
    _dag(session, "other")
    run = _run(session, "etl")
    kept = _run(session, "other")
    for dag_run in (run, kept):
        session.add(TaskInstance(dag_id=dag_run.dag_id, run_id=dag_run.run_id, task_id="extract"))
        session.add(
            XCom(
                dag_run_id=dag_run.id,
                dag_id=dag_run.dag_id,
                run_id=dag_run.run_id,
                task_id="extract",
                value={"rows": 3},
            )
        )
    session.commit()
    session.execute(sa.delete(DagModel).where(DagModel.dag_id == "etl"))
    session.commit()
    assert session.scalars(sa.select(TaskInstance.dag_id)).all() == ["other"]
    assert session.scalars(sa.select(XCom.value)).all() == [{"rows": 3}]
    assert session.scalars(sa.select(DagRun.dag_id)).all() == ["other"]


def test_a_run_outlives_the_serialized_version_it_started_with(session: Session) -> None:
    _dag(session, "etl")
    version = SerializedDagModel(dag_id="etl", version=1, dag_hash="a" * 64, data={"tasks": []})
    session.add(version)
    session.flush()
    run = _run(session, "etl", serialized_dag_id=version.id, conf=None)
    session.commit()
    session.execute(sa.delete(SerializedDagModel))
    session.commit()
    session.expire_all()
    read = session.get_one(DagRun, run.id)
    assert read.serialized_dag_id is None
    # A run without conf stores SQL NULL, not the JSON text "null".
    assert session.scalar(sa.select(sa.func.count()).where(DagRun.conf.is_(None))) == 1
