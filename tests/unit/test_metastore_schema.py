from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tradewind.metastore import engine as engine_module
from tradewind.metastore import revision, schema
from tradewind.metastore.errors import ForeignDatabase, MigrationError, UnknownRevision
from tradewind.metastore.models import VERSION_TABLE, Pool, metadata
from tradewind.settings import DatabaseSettings


@pytest.fixture
def empty(tmp_path: Path) -> Iterator[Engine]:
    engine = engine_module.create_engine(DatabaseSettings(url=f"sqlite:///{tmp_path / 'tw.db'}"))
    yield engine
    engine.dispose()


def _tables(engine: Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


def _pools(engine: Engine) -> list[tuple[str, int]]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(sa.select(Pool.pool, Pool.slots))]


def test_init_creates_every_table_and_the_default_pool(empty: Engine) -> None:
    result = schema.init_db(empty)
    assert result == schema.InitResult(created=True, revision=revision.HEAD, head=revision.HEAD)
    assert _tables(empty) == {*metadata.tables, VERSION_TABLE}
    assert _pools(empty) == [("default_pool", 128)]


def test_init_on_an_initialised_database_changes_nothing(empty: Engine) -> None:
    schema.init_db(empty)
    with empty.begin() as connection:
        connection.execute(sa.update(Pool).values(slots=7))
    assert schema.init_db(empty).created is False
    assert _pools(empty) == [("default_pool", 7)]


def test_upgrade_creates_an_empty_database_and_then_does_nothing(empty: Engine) -> None:
    assert schema.upgrade_db(empty) == schema.UpgradeResult(None, revision.HEAD)
    again = schema.upgrade_db(empty)
    assert not again.changed
    assert schema.current_revision(empty) == revision.HEAD


def test_check_reports_the_revision_against_head(empty: Engine) -> None:
    assert schema.check_db(empty) == schema.DbStatus(
        reachable=True, current=None, head=revision.HEAD
    )
    schema.init_db(empty)
    assert schema.check_db(empty).up_to_date


def _add_foreign_table(engine: Engine, name: str = "invoices") -> None:
    with engine.begin() as connection:
        connection.exec_driver_sql(f"CREATE TABLE {name} (id INTEGER PRIMARY KEY)")


def test_init_and_reset_refuse_a_database_of_another_application(empty: Engine) -> None:
    for name in ("invoices", "customers", "orders", "items", "stock", "prices"):
        _add_foreign_table(empty, name)
    for action in (schema.init_db, schema.upgrade_db, schema.reset_db):
        with pytest.raises(ForeignDatabase, match=r"not a tradewind database.*and 1 more"):
            action(empty)
    assert VERSION_TABLE not in _tables(empty)
    assert len(_tables(empty)) == 6


def test_reset_in_a_shared_database_drops_only_tradewind_tables(empty: Engine) -> None:
    schema.init_db(empty)
    _add_foreign_table(empty)
    with empty.begin() as connection:
        connection.execute(sa.update(Pool).values(slots=7))
    result = schema.reset_db(empty)
    assert set(result.dropped) == set(metadata.tables)
    assert "invoices" in _tables(empty)
    assert _pools(empty) == [("default_pool", 128)]


def test_a_half_made_schema_is_refused_by_init_and_cleared_by_reset(empty: Engine) -> None:
    with empty.begin() as connection:
        metadata.tables["job"].create(connection)
    with pytest.raises(ForeignDatabase, match=r"tradewind tables \(job\) but no schema revision"):
        schema.init_db(empty)
    schema.reset_db(empty)
    assert schema.check_db(empty).up_to_date


def _stamp(engine: Engine, revision: str) -> None:
    with engine.begin() as connection:
        connection.execute(sa.text(f"UPDATE {VERSION_TABLE} SET version_num = :r"), {"r": revision})


def test_a_database_from_a_newer_tradewind_is_left_alone(empty: Engine) -> None:
    schema.init_db(empty)
    _stamp(empty, "0099")
    expected = "at revision 0099 which this tradewind does not know; upgrade tradewind"
    for action in (schema.init_db, schema.upgrade_db, schema.reset_db):
        with pytest.raises(UnknownRevision, match=expected):
            action(empty)
    with pytest.raises(UnknownRevision):
        schema.downgrade_db(empty, "base")
    assert schema.check_db(empty).problem is not None
    assert _tables(empty) == {*metadata.tables, VERSION_TABLE}


def test_downgrade_to_base_removes_the_schema_and_refuses_bad_targets(empty: Engine) -> None:
    with pytest.raises(MigrationError, match="no tradewind schema"):
        schema.downgrade_db(empty, "base")
    schema.init_db(empty)
    with pytest.raises(
        MigrationError,
        match="unknown revision '0999'; known: 0012, 0011, 0010, 0009, 0008, 0007, 0006, 0005, "
        "0004, 0003, 0002, 0001, base",
    ):
        schema.downgrade_db(empty, "0999")
    assert schema.downgrade_db(empty, "0001") == schema.DowngradeResult("0012", "0001")
    assert schema.downgrade_db(empty, "base") == schema.DowngradeResult("0001", None)
    assert _tables(empty) == {VERSION_TABLE}
    assert schema.current_revision(empty) is None


def test_the_quick_revision_check_knows_the_newest_migration() -> None:
    assert schema.head_revision() == revision.HEAD
